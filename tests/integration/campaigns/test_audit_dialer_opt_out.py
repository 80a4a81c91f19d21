"""Audit: a person who presses the opt-out key of an IVR broadcast is never called again,
by this campaign, by another campaign holding the same number, or from a desk.

The platform runs on SimSwitch with a virtual clock (a weekday morning in Shanghai) and
no bot agents; 1001 and 1002 of the service group log in from virtual phones. The
broadcast needs no agent; the manual campaign next to it holds the same number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.switch.sim.customers import CustomerProfile, Fate, Fixed, Outcome
from integration.campaigns.campaign_kit import COMPLIANT
from integration.campaigns.test_dialing import Floor
from integration.campaigns.test_manual_dialing import AGENT, FIRST, manual_campaign, take
from integration.campaigns.test_preview_dialing import open_preview_floor

LISTENER = Fate(Outcome.HUMAN, ring_after=1.0, answer_after=2.0, talk_time=60.0)


@pytest.fixture
def floor(tmp_path: Path, database_url: str) -> Iterator[Floor]:
    yield from open_preview_floor(tmp_path, database_url, timeout=30.0, skip_delay=20.0)


@pytest.mark.parametrize("backend", ["sqlite"])  # the block list's SQL is tested on both
def test_the_opt_out_key_blocks_the_number_in_every_campaign_and_at_the_desk(
    floor: Floor,
) -> None:
    """The broadcast calls FIRST, who presses 9 a second into the message. At once the
    number is on the block list as an IVR opt-out; the manual campaign holding FIRST
    hands out its other leads only, and FIRST typed on a desk's keypad is refused."""
    kit, api = floor.kit, floor.api
    manual = manual_campaign(floor)  # FIRST, SECOND, THIRD; 1001 and 1002 logged in
    telephony = floor.platform.telephony
    assert telephony is not None and telephony.book is not None
    telephony.book.default = CustomerProfile(keys={"9": 1.0}, key_delay=Fixed(1.0))
    (group,) = kit.ok("GET", "/groups")
    broadcast = kit.campaign(
        "满期提醒",
        **(
            COMPLIANT
            | {
                "group_ids": [group["id"]],
                "windows": [{"start": "00:00", "end": "23:59"}],
                "dialing_mode": "ivr_broadcast",
            }
        ),
    )
    floor.script(FIRST, LISTENER)
    kit.add_leads(broadcast, {"phone": FIRST})
    kit.approve(broadcast)
    kit.ok("POST", f"/campaigns/{broadcast}/start")
    floor.run(6.0)  # dialled, answered at 2-3 s, 9 pressed a second into the message

    (entry,) = kit.ok("GET", "/blacklist", params={"phone": FIRST[3:]})["items"]
    assert (entry["phone"], entry["reason"], entry["source"]) == (FIRST, "opt_out", "ivr")
    (lead,) = floor.leads(broadcast).values()
    assert lead["phone"] == FIRST
    floor.run(30.0)
    assert floor.view(broadcast)["dials"] == 1  # never dialled again

    handed: set[str] = set()
    for _ in range(3):
        shown = take(floor, manual)["lead"]
        if shown is None:
            break
        handed.add(shown["phone"])
        kit.ok("POST", "/desk/manual/release", json={"campaign_id": manual,
               "lead_id": shown["id"]}, as_=AGENT)  # fmt: skip
    assert FIRST not in handed and handed
    typed = api.call("POST", "/desk/dial", json={"number": FIRST[3:]}, as_=AGENT)
    assert typed.status_code == 409 and typed.json()["error"] == "number-blocked", typed.text
