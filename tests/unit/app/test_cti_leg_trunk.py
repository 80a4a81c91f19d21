"""Every leg to a customer dialled on a named trunk says which (中继, issue 6).

The trunk is the one the switch says the leg went out on: the dialer's least-cost
choice, for its own calls and for a lead placed for an agent. It is on the leg's
record from the first write, so a call that never got past its trunk (a 503) names it
as well as one that was answered. A call that fails over is a call per attempt, each
leg naming its own trunk and keeping its own end. Legs to agents' phones name none,
and so does a desk call on the simulated network, which is dialled without naming a
trunk and has no default one (the SIP switch names its default: see
``integration/cti/test_leg_trunk_on_sip.py``).

The switch is the simulated one; a spy around its ``originate`` keeps the trunk each
leg was dialled on, to compare the records against.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from callcenter.app.cti.cdr import LegRecord, MemoryCdr
from callcenter.app.dialer import DialingMode
from callcenter.app.dialer.preview import PreviewDesk
from callcenter.domain.trunk_routing import Trunk, TrunkRouter
from callcenter.switch.ports import LegId
from callcenter.switch.sim.customers import Fate, Outcome
from cctest import DialerFloor
from unit.app.test_cti_leg_caller_id import NUMBERS, TALK, desk_center, legs_of

REFUSED = Fate(Outcome.CONGESTION, fail_after=0.5)  # the carrier answers 503


def spy_on_trunks(switch: Any) -> dict[LegId, str | None]:
    """Keep the trunk each leg is dialled on (None: none named), then let it dial."""
    asked: dict[LegId, str | None] = {}
    originate: Callable[..., Awaitable[str | None]] = switch.originate

    async def spy(leg: LegId, dest: str, **kwargs: Any) -> str | None:
        asked[leg] = kwargs.get("trunk")
        return await originate(leg, dest, **kwargs)

    switch.originate = spy
    return asked


def trunks_named(records: list[LegRecord]) -> set[str | None]:
    return {r.trunk for r in records}


def two_trunks() -> TrunkRouter:
    return TrunkRouter([Trunk("cheap", 0.01), Trunk("backup", 0.03)])


async def test_a_call_refused_by_its_trunk_and_its_retry_each_name_their_own() -> None:
    """The cheap trunk answers 503; the lead goes out again on the backup trunk and is
    connected. The first call's customer leg names the cheap trunk in every record and
    ends congested; the second's names the backup trunk and was answered; the agent's
    phone, rung for the second, names none."""
    f = await DialerFloor.open(
        DialingMode.PROGRESSIVE, numbers=NUMBERS[:1], trunks=two_trunks(), wrap_up=1.0
    )
    try:
        asked = spy_on_trunks(f.switch)
        f.book.script(NUMBERS[0], REFUSED, TALK)
        assert await f.dialer.step() == 1
        (first,) = f.engine.calls()
        await f.run(1.0)
        assert await f.dialer.step() == 1
        (second,) = f.engine.calls()
        await f.run(20.0)
        cdr = f.engine.cdr
        assert isinstance(cdr, MemoryCdr)

        refused = legs_of(cdr, first.call_id)
        assert list(refused) == [str(first.customer_leg)]
        (records,) = refused.values()
        assert trunks_named(records) == {"cheap"} == {asked[LegId(records[0].leg_id)]}
        assert records[-1].cause == "congestion" and records[-1].answered_at is None

        carried = legs_of(cdr, second.call_id)
        customer = carried.pop(str(second.customer_leg))
        assert trunks_named(customer) == {"backup"} == {asked[LegId(customer[0].leg_id)]}
        assert customer[-1].answered_at is not None
        agents = [r for records in carried.values() for r in records]
        assert agents and trunks_named(agents) == {None}
        assert [(e.trunk, e.outcome.value) for e in f.ended] == [("backup", "connected")]
    finally:
        await f.close()


async def test_a_lead_placed_for_an_agent_names_the_trunk_routing_chose() -> None:
    """Preview: the agent accepts the lead on offer. The agent's phone rings first and
    names no trunk; the lead's leg, dialled once the agent answers, names the cheap
    trunk least-cost routing chose for it."""
    f = await DialerFloor.open(
        DialingMode.PREVIEW, agents=("1001",), numbers=NUMBERS[:1], trunks=two_trunks()
    )
    try:
        asked = spy_on_trunks(f.switch)
        f.book.script(NUMBERS[0], TALK)
        desk = PreviewDesk(f.dialer, skip_delay=600.0)
        await f.dialer.step()
        call_id = await desk.accept("1001")
        await f.run(15.0)
        cdr = f.engine.cdr
        assert isinstance(cdr, MemoryCdr)

        by_purpose = {records[0].purpose: records for records in legs_of(cdr, call_id).values()}
        assert set(by_purpose) == {"agent", "customer"}
        customer, agent = by_purpose["customer"], by_purpose["agent"]
        assert customer[-1].answered_at is not None
        assert trunks_named(customer) == {"cheap"} == {asked[LegId(customer[0].leg_id)]}
        assert trunks_named(agent) == {None} == {asked[LegId(agent[0].leg_id)]}
    finally:
        await f.close()


async def test_a_desk_call_dialled_without_a_trunk_names_none() -> None:
    """An agent dials a customer from the desk: the engine names no trunk, the simulated
    network has no default one, and no leg of the call claims one."""
    async with desk_center() as c:
        asked = spy_on_trunks(c.switch)
        await c.log_in("1001")
        c.book.script(NUMBERS[0], TALK)
        dialled = await c.engine.dial(c.next_id(), "1001", NUMBERS[0])
        await c.run(20.0)
        legs = legs_of(c.cdr, dialled)
        assert {records[0].purpose for records in legs.values()} == {"agent", "customer"}
        assert all(trunks_named(records) == {None} for records in legs.values())
        assert set(asked.values()) == {None}
