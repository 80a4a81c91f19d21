"""The tables a campaign's dialer keeps across restarts: its compliance ledger per local
day, and the calls each caller ID presented per local day.

One row per campaign and local calendar day (and caller ID): the dialer adds its
increments to the row (an upsert), so a campaign's history is a few hundred small
rows, and the whole-campaign totals are their sum. Created by migration 0004.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.store.tables import Base

LEDGER_COUNTS = (
    "live",
    "abandoned",
    "abandoned_without_message",
    "amd_human",
    "amd_machine",
    "amd_unsure",
    "amd_false_positives",
)


class LedgerDayRow(Base):
    """A campaign's compliance counts on one of its local calendar days (合规台账)."""

    __tablename__ = "campaign_ledger_days"
    __table_args__ = (CheckConstraint("abandoned <= live", name="abandoned_of_live"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # in the campaign's zone
    live: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    abandoned_without_message: Mapped[int] = mapped_column(Integer, default=0)
    amd_human: Mapped[int] = mapped_column(Integer, default=0)
    amd_machine: Mapped[int] = mapped_column(Integer, default=0)
    amd_unsure: Mapped[int] = mapped_column(Integer, default=0)
    amd_false_positives: Mapped[int] = mapped_column(Integer, default=0)


class CallerIdDayRow(Base):
    """The calls one caller ID presented for a campaign on one local day (主叫号码日用量)."""

    __tablename__ = "campaign_caller_id_days"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    caller_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
