"""CTI core: waiting callers hear their place in line and the expected wait, then music."""

from __future__ import annotations

from callcenter.app.cti import AgentProfile
from callcenter.app.cti.simulation import SimCenter, caller
from callcenter.domain.queue import QueueConfig
from callcenter.switch.ports import PlayFinished, SwitchEvent

SALES = QueueConfig("sales", frozenset({"sales"}))
DID = "4001"


async def test_waiting_callers_hear_their_place_and_wait_then_music() -> None:
    """One agent is busy; two callers wait. On entry and every 30 s each hears how many
    are ahead and the minutes to wait; after each announcement the music comes back."""
    profiles = {"1001": AgentProfile.in_groups("sales", wrap_up_seconds=0.0)}
    async with SimCenter.build([SALES], {DID: "sales"}, profiles, announce_every=30.0) as c:
        heard: list[SwitchEvent] = []
        c.switch.subscribe(heard.append)
        await c.log_in("1001")
        c.call_in("13900000001", DID, caller(talk_time=100.0))
        await c.run(5.0)
        second = c.call_in("13900000002", DID, caller(talk_time=10.0))
        third = c.call_in("13900000003", DID, caller(talk_time=10.0))
        await c.run(40.0)

        def prompts(leg: str) -> list[tuple[str, bool]]:
            return [
                (e.prompt, e.interrupted)
                for e in heard
                if isinstance(e, PlayFinished) and e.leg == leg
            ]

        # Entry and +30 s announcements played to the end; music was interrupted by each.
        assert [p for p, _ in prompts(second) if p.startswith("queue-position")] == [
            "queue-position:0:3",
            "queue-position:0:3",
        ]
        assert [p for p, _ in prompts(third) if p.startswith("queue-position")] == [
            "queue-position:1:6",
            "queue-position:1:6",
        ]
        assert ("moh", True) in prompts(second)  # the music resumed, then made way again
        await c.run(80.0)

        # The first caller hangs up at about 108 s and the second is connected: it heard
        # announcements at 5, 35, 65 and 95 s and none since.
        def announced() -> int:
            return len([p for p, _ in prompts(second) if p.startswith("queue-position")])

        assert announced() == 4
        assert not [call for call in c.engine.calls() if call.caller == "13900000002"]
        await c.run(60.0)
        assert announced() == 4


async def test_no_announcements_unless_configured() -> None:
    profiles = {"1001": AgentProfile.in_groups("sales")}
    async with SimCenter.build([SALES], {DID: "sales"}, profiles) as c:
        heard: list[SwitchEvent] = []
        c.switch.subscribe(heard.append)
        c.call_in("13900000001", DID)
        await c.run(100.0)
        assert not [e for e in heard if isinstance(e, PlayFinished)]
