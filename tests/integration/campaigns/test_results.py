"""Products, scripts, dispositions and the blacklist; results recorded by agents, exported."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from integration.campaigns.campaign_kit import Kit, dispositions

# Plain ORM work: SQLite is enough here; the import and dialer tests run on both backends.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

AGENT = "1001"


def insurance(kit: Kit) -> dict[str, Any]:
    product: dict[str, Any] = kit.ok(
        "POST",
        "/products",
        201,
        json={
            "name": "车险",
            "description": "交强险与商业险",
            "attributes": [
                {"key": "plan", "label": "方案", "type": "choice", "required": True,
                 "choices": ["基础", "全险"], "default": "全险"},
                {"key": "premium", "label": "保费", "type": "number", "required": True},
                {"key": "start", "label": "起保日期", "type": "date"},
                {"key": "plate", "label": "车牌"},
            ],
        },
    )  # fmt: skip
    return product


def test_a_script_is_rendered_for_a_lead_and_a_product(kit: Kit) -> None:
    product = insurance(kit)
    script = kit.ok(
        "POST", "/scripts", 201,
        json={"name": "车险开场", "body": "{lead.name}您好，{product.name}{product.plan}方案，"
              "尾号{lead.phone}。{lead.vip}{oops} {product.nothing}"},
    )  # fmt: skip
    campaign_id = kit.campaign(script_id=script["id"])
    (lead_id,) = kit.add_leads(campaign_id, {"phone": "+8613800138000", "fields": {"name": "张伟"}})
    kit.api.person(AGENT, "agent")
    rendered = kit.ok(
        "GET", f"/scripts/{script['id']}/render",
        params={"lead_id": str(lead_id), "product_id": str(product["id"])}, as_=AGENT,
    )  # fmt: skip
    assert rendered["text"] == (
        "张伟您好，车险全险方案，尾号+8613800138000。{lead.vip}{oops} {product.nothing}"
    )
    assert rendered["missing"] == ["{lead.vip}", "{product.nothing}"]

    # The agent on a call sees the text approved with the campaign, not later edits.
    kit.approve(campaign_id)
    kit.ok("PATCH", f"/scripts/{script['id']}", json={"body": "改过的 {lead.name}"})
    frozen = kit.ok(
        "GET", f"/scripts/campaign/{campaign_id}", params={"lead_id": str(lead_id)}, as_=AGENT
    )
    assert frozen["text"].startswith("张伟您好，{product.name}")
    other = kit.campaign("另一个")
    stray = kit.api.call(
        "GET", f"/scripts/campaign/{other}", params={"lead_id": str(lead_id)}, as_=AGENT
    )
    assert stray.status_code == 404
    assert kit.api.call("POST", "/scripts", as_=AGENT, json={"name": "x"}).status_code == 403
    in_use = kit.api.call("DELETE", f"/scripts/{script['id']}")
    assert (in_use.status_code, in_use.json()["error"]) == (409, "in-use")


def test_product_attributes_are_defined_and_values_checked(kit: Kit) -> None:
    for attributes in (
        [{"key": "a", "type": "choice"}],
        [{"key": "a"}, {"key": "a"}],
        [{"key": "n", "type": "number", "default": "many"}],
        [{"key": "t", "choices": ["x"]}],
    ):
        response = kit.api.call("POST", "/products", json={"name": "p", "attributes": attributes})
        assert response.status_code == 422, attributes
    assert (
        kit.api.call(
            "POST", "/products", json={"name": "p", "attributes": [{"key": "Bad"}]}
        ).status_code
        == 422
    )
    product = insurance(kit)
    assert [a["key"] for a in product["attributes"]] == ["plan", "premium", "start", "plate"]
    changed = kit.ok("PATCH", f"/products/{product['id']}", json={"description": "新"})
    assert changed["description"] == "新"


def test_recording_results_moves_the_lead_and_a_do_not_call_blocks_the_number(kit: Kit) -> None:
    product = insurance(kit)
    codes = dispositions(kit)
    campaign_id = kit.campaign(product_ids=[product["id"]])
    sale_lead, dnc_lead, later_lead = kit.add_leads(
        campaign_id, {"phone": "+8613800000001"}, {"phone": "+8613800000002"},
        {"phone": "+8613800000003"},
    )  # fmt: skip
    agent = kit.api.person(AGENT, "agent", name="王坐席")
    url = f"/campaigns/{campaign_id}/results"

    def record(**body: Any) -> Any:
        return kit.api.call("POST", url, json=body, as_=AGENT)

    missing = record(lead_id=sale_lead, disposition_id=codes["sale"], product_id=product["id"],
                     values={"plan": "全险"})  # fmt: skip
    assert (missing.status_code, missing.json()["details"]["field"]) == (422, "premium")
    wrong = record(lead_id=sale_lead, disposition_id=codes["sale"], product_id=product["id"],
                   values={"plan": "豪华", "premium": 3200})  # fmt: skip
    assert wrong.status_code == 422
    sale = record(
        lead_id=sale_lead, disposition_id=codes["sale"], product_id=product["id"],
        values={"plan": "全险", "premium": "3200.5", "start": "2027-01-01"}, notes="客户很满意",
    )  # fmt: skip
    assert sale.status_code == 201, sale.text
    assert sale.json()["values"] == {"plan": "全险", "premium": 3200.5, "start": "2027-01-01"}
    assert kit.ok("GET", f"/leads/{sale_lead}")["status"] == "done"

    assert record(lead_id=dnc_lead, disposition_id=codes["do_not_call"]).status_code == 201
    lead = kit.ok("GET", f"/leads/{dnc_lead}")
    assert (lead["status"], lead["last_disposition"]) == ("dnc", "do_not_call")
    (entry,) = kit.ok("GET", "/blacklist", params={"phone": "8613800000002"})["items"]
    assert (entry["reason"], entry["source"], entry["added_by_no"]) == (
        "do_not_call",
        "disposition",
        AGENT,
    )

    no_time = record(lead_id=later_lead, disposition_id=codes["callback"])
    assert no_time.status_code == 422
    past = record(lead_id=later_lead, disposition_id=codes["callback"],
                  callback_at="2020-01-01T10:00:00+08:00")  # fmt: skip
    assert past.status_code == 422
    when = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0)
    callback = record(lead_id=later_lead, disposition_id=codes["callback"],
                      callback_at=when.isoformat(), callback_to_self=True)  # fmt: skip
    assert callback.status_code == 201, callback.text
    lead = kit.ok("GET", f"/leads/{later_lead}")
    assert lead["status"] == "callback"
    assert dt.datetime.fromisoformat(lead["callback_at"]) == when
    assert lead["callback_agent_id"] == agent
    history = kit.ok("GET", f"/leads/{later_lead}/results", as_=AGENT)
    assert [r["disposition_code"] for r in history] == ["callback"]
    other_campaign = kit.campaign("另一个")
    stray = kit.api.call("POST", f"/campaigns/{other_campaign}/results", as_=AGENT,
                         json={"lead_id": sale_lead, "disposition_id": codes["sale"]})  # fmt: skip
    assert stray.status_code == 404


def test_results_export_as_csv_and_xlsx_and_numbers_by_outcome(kit: Kit) -> None:
    product = insurance(kit)
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    first, second = kit.add_leads(
        campaign_id,
        {"phone": "+8613800000001", "fields": {"name": "张伟", "城市": "北京"}},
        {"phone": "+8613800000002", "fields": {"name": "王芳"}},
    )
    url = f"/campaigns/{campaign_id}/results"
    kit.ok("POST", url, 201, json={"lead_id": first, "disposition_id": codes["sale"],
           "product_id": product["id"], "values": {"plan": "基础", "premium": 1800},
           "notes": "=HYPERLINK(\"x\")"})  # fmt: skip
    kit.ok("POST", url, 201, json={"lead_id": second, "disposition_id": codes["not_interested"]})
    today = dt.datetime.now(dt.UTC)
    window = {
        "since": (today - dt.timedelta(days=1)).isoformat(),
        "until": (today + dt.timedelta(days=1)).isoformat(),
    }
    response = kit.api.call("GET", f"{url}/export", params=window)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["号码"] for r in rows] == ["+8613800000001", "+8613800000002"]
    assert rows[0]["方案"] == "基础" and rows[0]["保费"] == "1800"
    assert rows[0]["城市"] == "北京" and rows[1]["name"] == "王芳"
    assert rows[0]["备注"].startswith("'=")  # never run as a formula by a spreadsheet
    assert rows[0]["工号"] == "admin"

    book_bytes = kit.api.call("GET", f"{url}/export", params=window | {"format": "xlsx"})
    assert book_bytes.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(book_bytes.content), read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 3 and values[1][2] == "+8613800000001"
    english = kit.api.call("GET", f"{url}/export", params=window, headers={"Accept-Language": "en"})
    assert english.content.decode("utf-8-sig").startswith("Recorded at,Campaign,Number")
    empty = kit.api.call(
        "GET", f"{url}/export",
        params={"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"},
    )  # fmt: skip
    assert len(empty.content.decode("utf-8-sig").strip().splitlines()) == 1

    sold = kit.ok("GET", f"/campaigns/{campaign_id}/numbers", params={"disposition": "sale"})
    assert [lead["phone"] for lead in sold] == ["+8613800000001"]
    answered = kit.ok("GET", f"/campaigns/{campaign_id}/numbers", params={"outcome": "answered"})
    assert [lead["phone"] for lead in answered] == ["+8613800000002"]
    assert kit.api.call("GET", f"/campaigns/{campaign_id}/numbers").status_code == 422


def test_dispositions_and_the_blacklist_are_managed_by_hand(kit: Kit) -> None:
    codes = dispositions(kit)
    assert set(codes) >= {"sale", "do_not_call", "callback", "wrong_number", "busy"}
    assert kit.ok("POST", "/dispositions/defaults") and len(kit.ok("GET", "/dispositions")) == len(
        codes
    )
    custom = kit.ok(
        "POST", "/dispositions", 201,
        json={"code": "complaint", "name": "投诉", "flags": ["contact", "do_not_call"],
              "outcome": "answered"},
    )  # fmt: skip
    assert custom["flags"] == ["contact", "do_not_call"]
    again = kit.api.call("POST", "/dispositions", json={"code": "complaint", "name": "x"})
    assert again.status_code == 409
    disabled = kit.ok("PATCH", f"/dispositions/{custom['id']}", json={"enabled": False})
    assert disabled["enabled"] is False
    kit.ok("DELETE", f"/dispositions/{custom['id']}", 204)

    added = kit.ok("POST", "/blacklist", 201,
                   json={"phones": ["138 0013 8000", "+86 13800138000", "010-62345678"],
                         "reason": "complaint", "note": "投诉过"})  # fmt: skip
    assert [e["phone"] for e in added] == ["+8613800138000", "+861062345678"]
    assert {e["source"] for e in added} == {"import"}
    bad = kit.api.call("POST", "/blacklist", json={"phones": ["hello"]})
    assert (bad.status_code, bad.json()["details"]["field"]) == (422, "phone")
    page = kit.ok("GET", "/blacklist")
    assert page["total"] == 2
    kit.ok("DELETE", f"/blacklist/{added[0]['id']}", 204)
    assert kit.ok("GET", "/blacklist")["total"] == 1
    assert kit.api.call("DELETE", f"/blacklist/{added[0]['id']}").status_code == 404
    assert [r["action"] for r in kit.api.audit(action="blacklist.")] == [
        "blacklist.remove",
        "blacklist.add",
    ]
    gbk = (Path(__file__).parents[2] / "fixtures" / "leads" / "customers_gbk.csv").read_bytes()
    response = kit.api.call(
        "POST", "/blacklist/import", files={"file": ("黑名单.csv", gbk)},
        data={"reason": "do_not_call"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json() == {"added": 3, "already": 1, "invalid": 3}
    assert kit.ok("GET", "/blacklist")["total"] == 4
    not_a_list = kit.api.call("POST", "/blacklist/import", files={"file": ("x.doc", b"hello")})
    assert (not_a_list.status_code, not_a_list.json()["error"]) == (422, "lead-file-type")


def test_a_callback_the_campaign_would_never_dial_is_refused(kit: Kit) -> None:
    """A callback after the campaign's last day, or for a lead that has had all its calls,
    would sit as "callback" for ever: it is refused with the reason, in zh and en; one
    inside the campaign's days is booked."""
    codes = dispositions(kit)
    today = dt.datetime.now(dt.UTC).date()
    last_day = today + dt.timedelta(days=3)
    campaign_id = kit.campaign(end_date=last_day.isoformat(), max_lifetime=3)
    fresh, spent = kit.add_leads(
        campaign_id,
        {"phone": "+8613800000004", "attempts_lifetime": 1},
        {"phone": "+8613800000005", "attempts_lifetime": 3},
    )
    kit.api.person(AGENT, "agent", name="王坐席")
    url = f"/campaigns/{campaign_id}/results"

    def callback(lead_id: int, days: int) -> Any:
        when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        body = {"lead_id": lead_id, "disposition_id": codes["callback"],
                "callback_at": when.isoformat()}  # fmt: skip
        return kit.api.call("POST", url, json=body, as_=AGENT)

    too_late = callback(fresh, 6)
    assert too_late.status_code == 422, too_late.text
    error = too_late.json()
    assert error["details"]["field"] == "callback_at"
    assert last_day.isoformat() in str(error)
    out_of_calls = callback(spent, 1)
    assert out_of_calls.status_code == 422, out_of_calls.text
    assert out_of_calls.json()["details"]["field"] == "callback_at"
    assert "3" in out_of_calls.json()["message"], out_of_calls.json()
    assert kit.ok("GET", f"/leads/{spent}")["status"] != "callback"
    booked = callback(fresh, 1)
    assert booked.status_code == 201, booked.text
    assert kit.ok("GET", f"/leads/{fresh}")["status"] == "callback"


def test_the_desk_lists_only_the_results_and_products_its_campaign_uses(kit: Kit) -> None:
    """The disposition form asks with the campaign: it is offered the campaign's own
    dispositions and products (what recording a result accepts), not every one."""
    product = insurance(kit)
    other = kit.ok("POST", "/products", 201, json={"name": "宽带", "attributes": []})
    codes = dispositions(kit)
    chosen = [codes["sale"], codes["callback"]]
    campaign_id = kit.campaign(product_ids=[product["id"]], disposition_ids=chosen)
    open_ended = kit.campaign("不限")

    def listed(path: str, campaign: int | None = None) -> list[int]:
        params = {} if campaign is None else {"campaign_id": str(campaign)}
        return sorted(row["id"] for row in kit.ok("GET", path, params=params))

    assert listed("/dispositions", campaign_id) == sorted(chosen)
    assert listed("/products", campaign_id) == [product["id"]]
    assert listed("/dispositions") == sorted(codes.values())
    assert listed("/products") == sorted([product["id"], other["id"]])
    assert listed("/dispositions", open_ended) == sorted(codes.values())  # none named: all
    assert listed("/products", open_ended) == sorted([product["id"], other["id"]])
    assert kit.api.call("GET", "/products", params={"campaign_id": "999"}).status_code == 404
