"""通话记录 / call history: a read-only view of the call records for the screen pop.

Who may read what: a holder of ``supervisor.monitor`` reads every call; anyone else
reads the history of a number only while handling a call with it (the caller of the
call ringing or in hand, or the number they dialled), which is what the desktop's screen
pop needs and no more: their query is narrowed to those numbers (:func:`scoped`), so
asking for another number finds nothing. The live side (which numbers an agent
handles) comes from the CTI engine's snapshot, passed in, so the rule is plain code
over plain data.

Each leg to a customer or a number names the caller ID it presented (主叫号码), so the
log answers "who called me from 010-5800-9999?": :attr:`CallQuery.caller_ids` finds the
calls with a leg that presented one of the forms :func:`caller_id_forms` gives of the
number asked for (as typed, E.164, national), since a pool's numbers are stored as
their owner typed them.

Each such leg dialled on a trunk names it too (中继, by its configured name), and
:attr:`CallQuery.trunk` finds the calls with a leg on it: a carrier's bill checked
call by call, least-cost routing checked number by number. A call that failed over is
one call per attempt, each leg on its own trunk with its own cause (``congestion`` for
a 503), so "why did this call fail" is answered trunk by trunk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, false, func, or_, select

from callcenter.domain.phone import PhoneInfo, normalise
from callcenter.store.tables import CallRow, LegRow
from callcenter.store.uow import UnitOfWork

SEE_ALL: Final = "supervisor.monitor"


@dataclass(frozen=True, slots=True)
class CallQuery:
    number: str | None = None  # the customer's number: caller or dialled
    agent_no: str | None = None
    campaign_id: int | None = None  # only this campaign's calls (外呼任务)
    caller_ids: frozenset[str] | None = None  # calls with a leg presenting one of these
    trunk: str | None = None  # calls with a leg dialled on this trunk (中继)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 20
    offset: int = 0
    within: frozenset[str] | None = None  # only these customers' numbers (None: any)


@dataclass(frozen=True, slots=True)
class CallLeg:
    leg_id: str
    purpose: str
    dest: str
    agent_no: str | None
    created_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    cause: str | None
    caller_id: str | None = None  # a leg to a customer or a number: the number it showed
    trunk: str | None = None  # a leg to a customer or a number: the trunk it was dialled on


@dataclass(frozen=True, slots=True)
class CallSummary:
    call_id: str
    direction: str
    state: str
    caller: str
    dialled: str
    queue_id: str | None
    agent_no: str | None
    agents: tuple[str, ...]
    created_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    cause: str | None
    end_reason: str | None
    talk_seconds: float | None
    legs: tuple[CallLeg, ...]
    campaign_id: int | None = None  # a campaign's call: its campaign and lead
    lead_id: int | None = None


def caller_id_forms(text: str, default_region: str = "CN") -> frozenset[str]:
    """The ways a presented caller ID may be stored: ``text`` as given and, when it is a
    number, its E.164 form with and without "+" and its national digits ("010-5800-9999"
    gives "+861058009999", "861058009999" and "01058009999" too)."""
    forms = {text.strip()}
    found = normalise(text, default_region)
    if isinstance(found, PhoneInfo) and not found.extension:
        national = "".join(c for c in found.national if c.isdigit())
        forms.update((found.e164, found.e164.removeprefix("+"), national))
    return frozenset(f for f in forms if f)


def numbers_handled(snapshot: Mapping[str, Any], agent_no: str) -> set[str]:
    """The customers' numbers of the live calls ``agent_no`` is offered or handles."""
    numbers: set[str] = set()
    for call in snapshot.get("calls", ()):
        involved = {call.get("agent_no"), *call.get("agents", ()), *call.get("ringing", ())}
        consult = call.get("consult")
        if consult:
            involved.add(consult.get("agent_no"))
        if agent_no in involved:
            numbers.update(n for n in (call.get("caller"), call.get("dialled")) if n)
    return numbers


def scoped(query: CallQuery, permissions: frozenset[str], handled: set[str]) -> CallQuery:
    """``query`` as its asker may run it: a supervisor's as it is; anyone else's narrowed
    to the numbers they are handling now (all of them when no number is named)."""
    if SEE_ALL in permissions:
        return query
    allowed = handled if not query.number else handled & {query.number}
    return dataclasses.replace(query, number=None, within=frozenset(allowed))


def _filtered(query: CallQuery) -> Select[CallRow]:
    statement = select(CallRow)
    if query.number:
        statement = statement.where(
            or_(CallRow.caller == query.number, CallRow.dialled == query.number)
        )
    if query.within is not None:
        if not query.within:
            return statement.where(false())
        numbers = sorted(query.within)
        statement = statement.where(or_(CallRow.caller.in_(numbers), CallRow.dialled.in_(numbers)))
    if query.agent_no:
        statement = statement.where(CallRow.agent_no == query.agent_no)
    if query.campaign_id is not None:
        statement = statement.where(CallRow.campaign_id == query.campaign_id)
    if query.caller_ids is not None:
        presented = select(LegRow.call_id).where(LegRow.caller_id.in_(sorted(query.caller_ids)))
        statement = statement.where(CallRow.call_id.in_(presented))
    if query.trunk is not None:
        carried = select(LegRow.call_id).where(LegRow.trunk == query.trunk)
        statement = statement.where(CallRow.call_id.in_(carried))
    if query.since:
        statement = statement.where(CallRow.created_at >= query.since)
    if query.until:
        statement = statement.where(CallRow.created_at < query.until)
    return statement


def _summary(row: CallRow, legs: Sequence[LegRow]) -> CallSummary:
    talk = None
    if row.answered_at is not None and row.ended_at is not None:
        talk = max(0.0, (row.ended_at - row.answered_at).total_seconds())
    return CallSummary(
        call_id=row.call_id,
        direction=row.direction,
        state=row.state,
        caller=row.caller,
        dialled=row.dialled,
        queue_id=row.queue_id,
        agent_no=row.agent_no,
        agents=tuple(row.agents or ()),
        created_at=row.created_at,
        answered_at=row.answered_at,
        ended_at=row.ended_at,
        cause=row.cause,
        end_reason=row.end_reason,
        talk_seconds=talk,
        legs=tuple(
            CallLeg(
                leg_id=leg.leg_id,
                purpose=leg.purpose,
                dest=leg.dest,
                agent_no=leg.agent_no,
                created_at=leg.created_at,
                answered_at=leg.answered_at,
                ended_at=leg.ended_at,
                cause=leg.cause,
                caller_id=leg.caller_id,
                trunk=leg.trunk,
            )
            for leg in sorted(legs, key=lambda leg: (leg.created_at, leg.leg_id))
        ),
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
    )


async def search(uow: UnitOfWork, query: CallQuery) -> tuple[list[CallSummary], int]:
    """The calls matching ``query``, newest first, each with its legs; and how many match."""
    statement = _filtered(query)
    total = await uow.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = list(
        await uow.session.scalars(
            statement.order_by(CallRow.created_at.desc(), CallRow.call_id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
    )
    legs: dict[str, list[LegRow]] = {row.call_id: [] for row in rows}
    if rows:
        for leg in await uow.session.scalars(select(LegRow).where(LegRow.call_id.in_(list(legs)))):
            legs[leg.call_id].append(leg)
    return [_summary(row, legs[row.call_id]) for row in rows], int(total or 0)
