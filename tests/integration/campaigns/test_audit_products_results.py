"""An operator's and an agent's audit of products, dispositions and recorded results."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from integration.campaigns.campaign_kit import Kit, dispositions

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

AGENT = "1001"


def car_insurance(kit: Kit) -> dict[str, Any]:
    product: dict[str, Any] = kit.ok(
        "POST",
        "/products",
        201,
        json={
            "name": "车险",
            "attributes": [
                {"key": "premium", "label": "保费", "type": "number", "required": True},
                {"key": "plate", "label": "车牌", "required": True},
                {"key": "color", "label": "车身颜色"},
            ],
        },
    )
    return product


def test_an_agent_cannot_fill_a_required_attribute_with_blanks(kit: Kit) -> None:
    product = car_insurance(kit)
    codes = dispositions(kit)
    campaign_id = kit.campaign(product_ids=[product["id"]])
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    kit.api.person(AGENT, "agent")
    url = f"/campaigns/{campaign_id}/results"

    def sale(**values: Any) -> Any:
        body = {"lead_id": lead_id, "disposition_id": codes["sale"], "product_id": product["id"]}
        return kit.api.call("POST", url, json=body | {"values": values}, as_=AGENT)

    blank = sale(premium=3200, plate="   ")
    assert blank.status_code == 422, blank.text
    assert blank.json()["details"]["field"] == "plate"
    assert "车牌 为必填项" in blank.json()["message"]
    comma = sale(premium="3,200", plate="京A12345")
    assert (comma.status_code, comma.json()["details"]["field"]) == (422, "premium")
    assert "保费 须为数字" in comma.json()["message"]  # its label, as the agent reads it
    assert kit.ok("GET", f"/leads/{lead_id}/results") == []

    wide = sale(premium="３２００", plate=" 京A12345 ")
    assert wide.status_code == 201, wide.text
    assert wide.json()["values"] == {"premium": 3200, "plate": "京A12345"}


def test_a_disposition_whose_flags_contradict_is_refused(kit: Kit) -> None:
    def create(code: str, *flags: str) -> Any:
        body = {"code": code, "name": code, "flags": list(flags)}
        return kit.api.call("POST", "/dispositions", json=body)

    for flags in (("callback", "final"), ("callback", "do_not_call"), ("callback", "wrong_number")):
        refused = create("odd", *flags)
        assert (refused.status_code, refused.json()["details"]["field"]) == (422, "flags"), flags
        assert "回访" in refused.json()["message"]
    assert kit.ok("GET", "/dispositions") == []

    callback = kit.ok("POST", "/dispositions", 201, json={"code": "cb", "name": "回访",
                      "flags": ["contact", "callback"]})  # fmt: skip
    patched = kit.api.call(
        "PATCH", f"/dispositions/{callback['id']}", json={"flags": ["callback", "final"]}
    )
    assert patched.status_code == 422
    (kept,) = kit.ok("GET", "/dispositions")
    assert kept["flags"] == ["callback", "contact"]
    # A customer who buys and asks never to be called again is no contradiction.
    assert create("sold_dnc", "sale", "do_not_call", "final").status_code == 201


def test_a_retried_result_for_the_same_call_is_recorded_once(kit: Kit) -> None:
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    kit.api.person(AGENT, "agent")
    url = f"/campaigns/{campaign_id}/results"
    body = {"lead_id": lead_id, "disposition_id": codes["not_interested"], "call_id": "c-42"}

    first = kit.api.call("POST", url, json=body, as_=AGENT)
    again = kit.api.call("POST", url, json=body, as_=AGENT)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    other = kit.api.call("POST", url, json=body | {"disposition_id": codes["sale"]}, as_=AGENT)
    assert (other.status_code, other.json()["error"]) == (409, "already-exists")
    assert "已登记结果 not_interested" in other.json()["message"]
    assert [r["id"] for r in kit.ok("GET", f"/leads/{lead_id}/results")] == [first.json()["id"]]
    assert kit.ok("GET", f"/leads/{lead_id}")["last_disposition"] == "not_interested"

    (later,) = kit.add_leads(campaign_id, {"phone": "+8613800000002"})
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    callback = {"lead_id": later, "disposition_id": codes["callback"], "call_id": "c-43",
                "callback_at": when.isoformat(), "notes": " 明天再打 "}  # fmt: skip
    ids = {kit.ok("POST", url, 201, json=callback, as_=AGENT)["id"] for _ in range(2)}
    assert len(ids) == 1 and len(kit.ok("GET", f"/leads/{later}/results")) == 1


def test_results_keep_the_values_of_an_attribute_removed_later(kit: Kit) -> None:
    product = car_insurance(kit)
    codes = dispositions(kit)
    campaign_id = kit.campaign(product_ids=[product["id"]])
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    url = f"/campaigns/{campaign_id}/results"
    kit.ok("POST", url, 201, json={"lead_id": lead_id, "disposition_id": codes["sale"],
           "product_id": product["id"],
           "values": {"premium": 3200, "plate": "京A12345", "color": "白"}})  # fmt: skip
    kit.ok("PATCH", f"/products/{product['id']}", json={"attributes": [
        {"key": "premium", "label": "年保费", "type": "number", "required": True},
        {"key": "plate", "label": "车牌", "required": True}]})  # fmt: skip
    in_use = kit.api.call("DELETE", f"/products/{product['id']}")
    assert (in_use.status_code, in_use.json()["error"]) == (409, "in-use")

    today = dt.datetime.now(dt.UTC)
    window = {
        "since": (today - dt.timedelta(days=1)).isoformat(),
        "until": (today + dt.timedelta(days=1)).isoformat(),
    }
    response = kit.api.call("GET", f"{url}/export", params=window)
    assert response.status_code == 200, response.text
    (row,) = csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")))
    assert (row["年保费"], row["车牌"], row["color"]) == ("3200", "京A12345", "白")


def test_what_the_approved_campaign_offers_cannot_be_deleted_under_it(kit: Kit) -> None:
    product = car_insurance(kit)
    complaint = kit.ok("POST", "/dispositions", 201, json={"code": "complaint", "name": "投诉",
                       "flags": ["contact", "do_not_call"]})  # fmt: skip
    campaign_id = kit.campaign(product_ids=[product["id"]], disposition_ids=[complaint["id"]])
    kit.approve(campaign_id)
    # The operator drafts the next version without them; the approved one still has them.
    kit.ok("PATCH", f"/campaigns/{campaign_id}", json={"settings": {}})

    for path in (f"/products/{product['id']}", f"/dispositions/{complaint['id']}"):
        in_use = kit.api.call("DELETE", path)
        assert in_use.status_code == 409, path
        assert in_use.json()["error"] == "in-use"
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    recorded = kit.api.call(
        "POST",
        f"/campaigns/{campaign_id}/results",
        json={"lead_id": lead_id, "disposition_id": complaint["id"]},
    )
    assert recorded.status_code == 201, recorded.text


def test_an_attribute_has_a_label_and_distinct_choices(kit: Kit) -> None:
    for choices in (["基础", " "], ["全险", "全险 "]):
        attribute = {"key": "plan", "type": "choice", "choices": choices}
        refused = kit.api.call(
            "POST", "/products", json={"name": "车险", "attributes": [attribute]}
        )
        assert refused.status_code == 422, choices
        assert "选项" in refused.json()["message"]
    product = kit.ok("POST", "/products", 201, json={"name": "车险", "attributes": [
        {"key": "plate", "label": "  ", "required": True}]})  # fmt: skip
    assert product["attributes"][0]["label"] == "plate"


def test_the_desk_script_of_a_one_product_campaign_names_its_product(kit: Kit) -> None:
    plan = {"key": "plan", "type": "choice", "choices": ["基础", "全险"], "default": "全险"}
    product = kit.ok("POST", "/products", 201, json={"name": "车险", "attributes": [plan]})
    script = kit.ok("POST", "/scripts", 201, json={"name": "开场",
                    "body": "{lead.name}您好，推荐{product.name}{product.plan}方案"})  # fmt: skip
    campaign_id = kit.campaign(script_id=script["id"], product_ids=[product["id"]])
    (lead_id,) = kit.add_leads(
        campaign_id, {"phone": "+8613800000001", "fields": {"name": "<b>张伟</b>"}}
    )
    kit.approve(campaign_id)
    kit.api.person(AGENT, "agent")

    desk = kit.ok(
        "GET", f"/scripts/campaign/{campaign_id}", params={"lead_id": str(lead_id)}, as_=AGENT
    )
    # The lead's name is text for the page to show as text, never markup made here.
    assert desk == {"text": "<b>张伟</b>您好，推荐车险全险方案", "missing": []}


def test_a_number_recorded_before_its_attribute_became_a_date_stays_a_number(kit: Kit) -> None:
    product = kit.ok("POST", "/products", 201, json={"name": "车险", "attributes": [
        {"key": "start", "label": "起保", "type": "number"}]})  # fmt: skip
    codes = dispositions(kit)
    campaign_id = kit.campaign(product_ids=[product["id"]])
    first, second = kit.add_leads(campaign_id, {"phone": "+8613800000001"},
                                  {"phone": "+8613800000002"})  # fmt: skip
    url = f"/campaigns/{campaign_id}/results"
    sale = {"disposition_id": codes["sale"], "product_id": product["id"]}
    kit.ok("POST", url, 201, json=sale | {"lead_id": first, "values": {"start": 20270101}})
    kit.ok("PATCH", f"/products/{product['id']}", json={"attributes": [
        {"key": "start", "label": "起保", "type": "date"}]})  # fmt: skip
    kit.ok("POST", url, 201, json=sale | {"lead_id": second, "values": {"start": "2027-02-01"}})

    today = dt.datetime.now(dt.UTC)
    window = {
        "since": (today - dt.timedelta(days=1)).isoformat(),
        "until": (today + dt.timedelta(days=1)).isoformat(),
    }
    response = kit.api.call("GET", f"{url}/export", params=window)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["起保"] for row in rows] == ["20270101", "2027-02-01"]


def test_a_script_is_filled_with_a_lead_only_for_those_who_may_see_leads(kit: Kit) -> None:
    script = kit.ok("POST", "/scripts", 201, json={"name": "开场", "body": "尾号{lead.phone}"})
    campaign_id = kit.campaign(script_id=script["id"])
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    kit.approve(campaign_id)
    kit.ok("POST", "/roles", 201, json={"code": "copywriter", "name": "文案",
           "permissions": ["script.view", "script.manage"]})  # fmt: skip
    kit.api.person("2001", "copywriter")

    params = {"lead_id": str(lead_id)}
    for path in (f"/scripts/{script['id']}/render", f"/scripts/campaign/{campaign_id}"):
        refused = kit.api.call("GET", path, params=params, as_="2001")
        assert refused.status_code == 403, path
        assert "13800000001" not in refused.text
    assert kit.ok("GET", f"/scripts/{script['id']}", as_="2001")["body"] == "尾号{lead.phone}"


def test_a_disposition_in_use_is_disabled_not_lost(kit: Kit) -> None:
    first = kit.ok("POST", "/dispositions/defaults")
    assert kit.ok("POST", "/dispositions/defaults") == first  # asked twice, added once
    codes = {row["code"]: row["id"] for row in first}
    twin = kit.api.call("POST", "/dispositions", json={"code": "busy", "name": "忙"})
    assert (twin.status_code, twin.json()["error"]) == (409, "already-exists")
    campaign_id = kit.campaign()
    lead_id, other = kit.add_leads(campaign_id, {"phone": "+8613800000001"},
                                   {"phone": "+8613800000002"})  # fmt: skip
    url = f"/campaigns/{campaign_id}/results"
    kit.ok("POST", url, 201, json={"lead_id": lead_id, "disposition_id": codes["busy"]})

    busy = f"/dispositions/{codes['busy']}"
    assert kit.api.call("DELETE", busy).status_code == 409
    kit.ok("PATCH", busy, json={"enabled": False})
    refused = kit.api.call("POST", url, json={"lead_id": other, "disposition_id": codes["busy"]})
    assert refused.status_code == 404
    (history,) = kit.ok("GET", f"/leads/{lead_id}/results")
    assert history["disposition_code"] == "busy"
    audit = kit.ok("GET", "/audit", params={"action": "disposition.update"})["items"]
    assert [entry["action"] for entry in audit] == ["disposition.update"]
