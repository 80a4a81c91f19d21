"""Two requests for one call's result at the same moment record it once (issue 6).

An agent's browser retries while the first request is still in flight, or two tabs
submit together: both requests look for an earlier result of the call before either has
written one. These tests hold each request's look until both have looked, so the race
happens every time, then check that the database kept one result and the lead moved
once, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx2
import pytest

from callcenter.store.tables import CallResultRow
from callcenter.store.uow import UnitOfWork
from integration.campaigns.campaign_kit import Kit, dispositions

AGENT = "1001"
PHONE = "+8613800000001"


def looks_together(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Hold the first two looks for a call's earlier result until both have looked:
    each then finds none, as two requests arriving together do. Later looks pass.
    Returns whether each look found one, in order."""
    results = kit.api.platform.outbound.results
    look = results._for_call
    both_looked = asyncio.Event()
    found_any: list[bool] = []

    async def held(uow: UnitOfWork, lead_id: int, call_id: str) -> CallResultRow | None:
        found = await look(uow, lead_id, call_id)
        found_any.append(found is not None)
        if len(found_any) == 2:
            both_looked.set()
        if len(found_any) <= 2:
            await both_looked.wait()
        return found

    monkeypatch.setattr(results, "_for_call", held)
    return found_any


def post_together(
    kit: Kit, path: str, first: dict[str, Any], second: dict[str, Any]
) -> list[httpx2.Response]:
    """POST both bodies at once through the ASGI app, as the agent."""
    headers = kit.api.headers(AGENT)
    app = kit.api.client.app
    portal = kit.api.client.portal
    assert portal is not None

    async def both() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            httpx2.AsyncClient(
                transport=transport, base_url="http://testserver/api/v1", headers=headers
            ) as client,
            asyncio.timeout(20),
        ):
            return list(
                await asyncio.gather(client.post(path, json=first), client.post(path, json=second))
            )

    return portal.call(both)


def a_lead(kit: Kit) -> tuple[dict[str, int], int, int]:
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    (lead_id,) = kit.add_leads(campaign_id, {"phone": PHONE})
    kit.api.person(AGENT, "agent")
    return codes, campaign_id, lead_id


def recorded_audits(kit: Kit, lead_id: int) -> list[dict[str, Any]]:
    return kit.api.audit(action="result.record", target_type="lead", target_id=str(lead_id))


def test_the_same_result_sent_twice_at_once_is_recorded_once(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent's browser sends the do-not-call result for call c-7 and, before the
    answer comes, sends it again. Both requests are answered with the one result; the
    lead has one result, is closed as do-not-call once, and its number is blocked once."""
    codes, campaign_id, lead_id = a_lead(kit)
    looks = looks_together(kit, monkeypatch)
    body = {"lead_id": lead_id, "disposition_id": codes["do_not_call"], "call_id": "c-7"}

    first, second = post_together(kit, f"/campaigns/{campaign_id}/results", body, body)

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert looks == [False, False, True]  # both found none; the refused insert looked again
    assert first.json()["id"] == second.json()["id"]
    (stored,) = kit.ok("GET", f"/leads/{lead_id}/results")
    assert stored == first.json()
    lead = kit.ok("GET", f"/leads/{lead_id}")
    assert (lead["status"], lead["last_disposition"]) == ("dnc", "do_not_call")
    (blocked,) = kit.ok("GET", "/blacklist", params={"phone": PHONE[1:]})["items"]
    assert blocked["phone"] == PHONE
    (audit,) = recorded_audits(kit, lead_id)
    assert audit["detail"]["result_id"] == stored["id"]


def test_two_different_results_sent_at_once_keep_the_first_and_refuse_the_other(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tabs on call c-8 send at the same moment: one a callback for tomorrow, the
    other do-not-call. One is recorded and the other refused with 409, naming the one
    recorded in Chinese; the lead is left as the recorded one made it and nothing of the
    refused one remains (no block for a callback, no callback for a block)."""
    codes, campaign_id, lead_id = a_lead(kit)
    looks = looks_together(kit, monkeypatch)
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    callback = {"lead_id": lead_id, "disposition_id": codes["callback"], "call_id": "c-8",
                "callback_at": tomorrow.isoformat()}  # fmt: skip
    block = {"lead_id": lead_id, "disposition_id": codes["do_not_call"], "call_id": "c-8"}

    answers = post_together(kit, f"/campaigns/{campaign_id}/results", callback, block)

    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert looks == [False, False, True]
    (kept,) = (a.json() for a in answers if a.status_code == 201)
    (refused,) = (a.json() for a in answers if a.status_code == 409)
    assert refused["error"] == "already-exists"
    assert f"已登记结果 {kept['disposition_code']}" in refused["message"]
    assert kit.ok("GET", f"/leads/{lead_id}/results") == [kept]
    lead = kit.ok("GET", f"/leads/{lead_id}")
    blocked = kit.ok("GET", "/blacklist", params={"phone": PHONE[1:]})["items"]
    if kept["disposition_code"] == "callback":
        assert (lead["status"], lead["last_disposition"]) == ("callback", "callback")
        assert dt.datetime.fromisoformat(lead["callback_at"]) == tomorrow
        assert blocked == []
    else:
        assert (lead["status"], lead["last_disposition"]) == ("dnc", "do_not_call")
        assert lead["callback_at"] is None
        assert [entry["phone"] for entry in blocked] == [PHONE]
    (audit,) = recorded_audits(kit, lead_id)
    assert audit["detail"]["disposition"] == kept["disposition_code"]

    # The agent's retry of the refused one, now alone, is refused the same way.
    again = kit.api.call(
        "POST",
        f"/campaigns/{campaign_id}/results",
        json=block if kept["disposition_code"] == "callback" else callback,
        as_=AGENT,
    )
    assert (again.status_code, again.json()["error"]) == (409, "already-exists")
