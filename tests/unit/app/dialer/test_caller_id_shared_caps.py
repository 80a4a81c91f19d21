"""A caller ID's daily cap counts the number's calls from every campaign (issue 6).

Carriers flag a number that places too many calls a day, whichever campaign placed
them. Campaigns of one process that share a number therefore share its count: together
they present it at most the cap, the next number of a pool takes over, a restart reads
every campaign's stored calls back, a campaign with other numbers is unaffected, and
calls placed for an agent (preview, manual, callbacks) count and are refused the same.

The floor is the CTI engine on SimSwitch with a virtual clock (tests/cctest.py); the
campaigns' dialers run on one engine and share one :class:`CallerIdDays` over an
in-memory store (the SQL store has its own test on both databases).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import pytest

from callcenter.app.cti.outbound import CampaignSetup
from callcenter.app.dialer import (
    CampaignDialer,
    DialerSettings,
    DialingMode,
    MemoryLeads,
    PreviewDesk,
)
from callcenter.app.dialer.records import MemoryRecords
from callcenter.app.dialer.runtime import NoRoute
from callcenter.domain.compliance import LedgerConfig
from callcenter.domain.dialing_policy import CallingWindow, CampaignRules
from callcenter.domain.errors import AgentBusy
from cctest import CampaignsFloor

START = 1_777_856_400.0  # Monday 4 May 2026, 09:00 in Shanghai, 02:00 in London
LONDON = LedgerConfig(time_zone="Europe/London")
ALL_DAY = CampaignRules(windows=(CallingWindow(dt.time(0, 0), dt.time(23, 59)),))
TRUNK_NUMBER = "+861058003001"  # the firm's one trunk number, in every campaign's pool
SECOND = "+861058003002"  # the first campaign's second number
OWN = "+861058003009"  # a campaign of its own number


@asynccontextmanager
async def floor(
    records: MemoryRecords | None = None, start: float = START, agents: tuple[str, ...] = ("1001",)
) -> AsyncIterator[CampaignsFloor]:
    """Agents on one engine; campaigns are added with :meth:`CampaignsFloor.campaign`."""
    f = await CampaignsFloor.open(
        records if records is not None else MemoryRecords(), start=start, agents=agents
    )
    try:
        yield f
    finally:
        await f.close()


async def test_two_campaigns_present_a_shared_number_the_cap_times_and_the_next_takes_over(
) -> None:  # fmt: skip
    """The firm's trunk number is in two campaigns' pools, 3 calls a day. The second
    campaign places its 3 on it; the first then presents its second number for all of
    its calls (was: 3 more on the trunk number, 6 in the day). A third campaign with a
    number of its own dials as if nothing happened."""
    async with floor() as f:
        first = await f.campaign("c1", (TRUNK_NUMBER, SECOND), 3)
        second = await f.campaign("c2", (TRUNK_NUMBER,), 3)
        third = await f.campaign("c3", (OWN,), 3)

        assert await second.step() == 3
        assert await first.step() == 3
        assert await third.step() == 3
        assert f.presented("c2") == {TRUNK_NUMBER: 3}
        assert f.presented("c1") == {SECOND: 3}
        assert f.presented("c3") == {OWN: 3}
        assert first.not_dialled["caller-id-cap"] == 3  # six lines wanted, room for three
        assert second.not_dialled["caller-id-cap"] == 3

        await f.base.run(40.0)  # every call rings out; the day's calls stay counted
        assert await first.step() == await second.step() == 0
        status = first.status().caller_ids
        assert status["today"] == {TRUNK_NUMBER: 3, SECOND: 3}
        assert status["own"] == {TRUNK_NUMBER: 0, SECOND: 3}
        assert status["spent"] is True
        assert status["resumes_at"] == "2026-05-05T00:00:00+08:00"
        assert "其他外呼任务 3 次" in status["message"]["zh"]
        assert "3 calls for today across all campaigns" in status["message"]["en"]
        assert "(3 of them by other campaigns)" in status["message"]["en"]
        assert second.status().caller_ids["message"]["en"].count("(0 of them") == 1


async def test_a_restart_reads_every_campaigns_calls_back_and_each_keeps_its_own_rows(
) -> None:  # fmt: skip
    """After the day's calls the platform restarts: a new engine and a new shared count
    over the same store. The first campaign alone comes back, yet the trunk number's
    calls by the second count: nothing dials. The store keeps each campaign's own rows.
    The next local day every number starts again."""
    records = MemoryRecords()
    async with floor(records) as f:
        await (await f.campaign("c2", (TRUNK_NUMBER,), 2)).step()
        await (await f.campaign("c1", (TRUNK_NUMBER, SECOND), 2)).step()
    today = dt.date(2026, 5, 4)
    assert (await records.load("c1", today)).caller_ids == {SECOND: 2}
    assert (await records.load("c2", today)).caller_ids == {TRUNK_NUMBER: 2}
    assert await records.caller_id_day(today) == {TRUNK_NUMBER: 2, SECOND: 2}

    async with floor(records, start=START + 3600.0) as again:
        first = await again.campaign("c1", (TRUNK_NUMBER, SECOND), 2)
        now = again.base.clock.now()
        assert first.caller_ids.today(now) == {TRUNK_NUMBER: 2, SECOND: 2}
        assert first.caller_ids.own(now) == {SECOND: 2}
        assert await first.step() == 0
        assert first.not_dialled["caller-id-cap"] == 6

    async with floor(records, start=START + 24 * 3600.0) as tomorrow:
        first = await tomorrow.campaign("c1", (TRUNK_NUMBER, SECOND), 2)
        assert await first.step() == 4
        assert tomorrow.presented("c1") == {TRUNK_NUMBER: 2, SECOND: 2}


async def test_calls_placed_for_an_agent_count_into_the_shared_number_and_respect_it(
) -> None:  # fmt: skip
    """An agent's click in a manual campaign presents the trunk number (1 of 2 today);
    the power campaign then has room for one call on it, not two; the agent's next
    click is refused with the cap as the reason, and a preview desk offers nothing."""
    async with floor(agents=("1001", "1002")) as f:
        manual = await f.campaign("c1", (TRUNK_NUMBER,), 2, mode=DialingMode.MANUAL)
        power = await f.campaign("c2", (TRUNK_NUMBER,), 2)
        now = f.base.clock.now()
        (taken,) = await manual.leads.next_leads(1, now)
        await manual.place_for_agent(taken, "1001", now)
        assert manual.caller_ids.own(now) == {TRUNK_NUMBER: 1}

        assert await power.step() == 1
        assert f.presented("c2") == {TRUNK_NUMBER: 1}

        (second,) = await manual.leads.next_leads(1, now)
        with pytest.raises(NoRoute) as refused:
            await manual.place_for_agent(second, "1001", f.base.clock.now())
        assert refused.value.details["reason"] == "caller-id-cap"

        preview = await f.campaign("c3", (TRUNK_NUMBER,), 2, mode=DialingMode.PREVIEW)
        desk = PreviewDesk(preview)
        await f.base.run(40.0)  # the agent is free again: the desk would offer a lead
        await preview.step()
        assert desk.offers() == []
        assert preview.not_dialled["caller-id-cap"] >= 1


async def test_campaigns_in_other_time_zones_count_the_calls_of_the_date_they_each_made(
) -> None:  # fmt: skip
    """Shanghai and London campaigns share the trunk number, 2 calls a day. On 4 May in
    both zones London's two calls leave Shanghai none. At 01:00 on 5 May in Shanghai
    (18:00 on 4 May in London) Shanghai has a new date and places 2; London, still on
    its 4 May, may not until its midnight, and then finds Shanghai's two calls of 5 May
    already counted: each campaign counts every campaign's calls of its own date."""
    async with floor() as f:
        shanghai = await f.campaign("c1", (TRUNK_NUMBER,), 2, rules=ALL_DAY)
        london = await f.campaign("c2", (TRUNK_NUMBER,), 2, rules=ALL_DAY, ledger=LONDON)
        assert await london.step() == 2
        assert await shanghai.step() == 0

        await f.base.run(16 * 3600.0)  # 5 May 01:00 in Shanghai, 4 May 18:00 in London
        assert await shanghai.step() == 2
        assert await london.step() == 0
        spent = london.status().caller_ids
        assert spent["today"] == {TRUNK_NUMBER: 2}
        assert spent["resumes_at"] == "2026-05-05T00:00:00+01:00"

        await f.base.run(6.5 * 3600.0)  # 5 May 00:30 in London
        now = f.base.clock.now()
        assert london.caller_ids.today(now) == {TRUNK_NUMBER: 2}
        assert london.caller_ids.own(now) == {}
        assert await london.step() == 0


async def test_a_number_written_two_ways_in_two_pools_is_one_number(
) -> None:  # fmt: skip
    """The second campaign's pool has the trunk number as dialled in Beijing
    (01058003001), the first's in E.164: one number, one count, also once read back."""
    records = MemoryRecords()
    async with floor(records) as f:
        assert await (await f.campaign("c2", ("01058003001",), 2)).step() == 2
        first = await f.campaign("c1", (TRUNK_NUMBER, SECOND), 2)
        assert await first.step() == 2
        assert f.presented("c1") == {SECOND: 2}
        assert first.status().caller_ids["today"] == {TRUNK_NUMBER: 2, SECOND: 2}
        assert first.caller_ids.others((TRUNK_NUMBER, SECOND), f.base.clock.now()) == 2

    async with floor(records, start=START + 600.0) as again:
        first = await again.campaign("c1", (TRUNK_NUMBER, SECOND), 2)
        assert first.status().caller_ids["today"] == {TRUNK_NUMBER: 2, SECOND: 2}
        assert await first.step() == 0


async def test_a_call_for_an_agent_holds_its_number_while_the_engine_sets_it_up() -> None:
    """One call left on the trunk number today. An agent clicks while the engine is busy
    setting up another call: the click has its number and waits for the engine. Another
    campaign's step in that moment finds the number spent (was: it took the same last
    call, and both went out). A click the engine refuses gives its call back."""
    async with floor(agents=("1001", "1002")) as f:
        manual = await f.campaign("c1", (TRUNK_NUMBER,), 1, mode=DialingMode.MANUAL)
        power = await f.campaign("c2", (TRUNK_NUMBER,), 1)
        now = f.base.clock.now()
        (lead,) = await manual.leads.next_leads(1, now)
        engine_busy = f.base.engine._lock  # held: the engine sets up another call
        async with asyncio.timeout(5):
            async with engine_busy:
                click = asyncio.create_task(manual.place_for_agent(lead, "1001", now))
                step = asyncio.create_task(power.step())
                for _ in range(100):  # both go as far as they can without the engine
                    await asyncio.sleep(0)
                assert not click.done()
            await click
            assert await step == 0
        await f.base.run(1.0)  # the agent answered: the lead's leg goes out
        assert f.presented("c1") == {TRUNK_NUMBER: 1}
        assert f.presented("c2") == {}
        assert power.not_dialled["caller-id-cap"] >= 1

        spare = await f.campaign("c3", (OWN,), 1, mode=DialingMode.MANUAL)
        (refused,) = await spare.leads.next_leads(1, now)
        with pytest.raises(AgentBusy):  # 1001 is on the first click's call
            await spare.place_for_agent(refused, "1001", now)
        assert spare.caller_ids.today(now) == {TRUNK_NUMBER: 1}  # OWN's call was given back
        assert spare.caller_ids.own(now) == {}
        assert not spare.caller_ids.take_unsaved()


class SharedCountUnreadableOnce(MemoryRecords):
    """A store that cannot sum the campaigns' calls of a date the first time it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def caller_id_day(self, day: dt.date) -> Mapping[str, int]:
        if self.down:
            self.down = False
            raise ConnectionError("the database went away")
        return await super().caller_id_day(day)


async def test_a_dialer_that_cannot_read_the_shared_count_dials_nothing_and_reads_once_later(
) -> None:  # fmt: skip
    """The campaign made one call on the trunk number before a restart. Its dialer's
    first opening cannot read every campaign's calls of the date: it does not open, and
    its own count is not put back twice when the next try reads it all."""
    records = SharedCountUnreadableOnce()
    await records.save("c1", {}, {(dt.date(2026, 5, 4), TRUNK_NUMBER): 1})
    async with floor(records) as f:
        settings = DialerSettings(
            CampaignSetup("c1", frozenset({"out"}), safe_harbour_prompt="safe-harbour"),
            DialingMode.POWER,
            caller_id="",
            caller_ids=(TRUNK_NUMBER,),
            caller_id_daily_cap=2,
            ledger=LedgerConfig(time_zone="Asia/Shanghai"),
        )
        dialer = CampaignDialer(
            f.base.engine,
            f.base.clock,
            settings,
            MemoryLeads(()),
            records=records,
            caller_id_days=f.shared,
        )
        with pytest.raises(ConnectionError):
            await dialer.step()
        assert dialer.dials == 0
        await dialer.open()
        now = f.base.clock.now()
        assert dialer.caller_ids.own(now) == {TRUNK_NUMBER: 1}
        assert dialer.caller_ids.today(now) == {TRUNK_NUMBER: 1}


async def test_a_preview_desk_offers_no_more_leads_than_the_number_has_calls_left() -> None:
    """Two calls a day on the trunk number; an agent of another campaign has placed one.
    Two agents of the preview campaign are ready: one is offered a lead, the other waits
    (was: both, and the second to accept was refused)."""
    async with floor(agents=("1001", "1002", "1003")) as f:
        manual = await f.campaign("c1", (TRUNK_NUMBER,), 2, mode=DialingMode.MANUAL)
        now = f.base.clock.now()
        (lead,) = await manual.leads.next_leads(1, now)
        await manual.place_for_agent(lead, "1001", now)
        preview = await f.campaign("c2", (TRUNK_NUMBER,), 2, mode=DialingMode.PREVIEW)
        desk = PreviewDesk(preview)
        await preview.step()
        assert len(desk.offers()) == 1
        assert preview.not_dialled["caller-id-cap"] == 1
        await desk.accept(desk.offers()[0].agent_no)
        await f.base.run(1.0)  # the agents answered: the leads' legs go out
        assert f.presented("c1") == f.presented("c2") == {TRUNK_NUMBER: 1}
