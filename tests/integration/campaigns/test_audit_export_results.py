"""An operator's audit of the 营销结果清单: what a spreadsheet shows, day edges, empty exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import openpyxl
import pytest

from callcenter.app import results
from callcenter.store.tables import CallResultRow
from integration.campaigns.campaign_kit import Kit, dispositions

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def export(kit: Kit, campaign_id: int, since: str, until: str, **params: str) -> bytes:
    response = kit.api.call(
        "GET",
        f"/campaigns/{campaign_id}/results/export",
        params={"since": since, "until": until, **params},
    )
    assert response.status_code == 200, response.text
    return response.content


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel in China needs to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def around_now() -> tuple[str, str]:
    now = dt.datetime.now(dt.UTC)
    return (now - dt.timedelta(days=1)).isoformat(), (now + dt.timedelta(days=1)).isoformat()


def recorded_at(kit: Kit, result_id: int, moment: dt.datetime) -> None:
    """Move a recorded result to ``moment`` (the API records results at the present)."""
    platform = kit.api.platform

    async def move() -> None:
        async with platform.uow() as uow:
            row = await uow.session.get(CallResultRow, result_id)
            assert row is not None
            row.created_at = moment
            await uow.commit()

    assert kit.api.client.portal is not None
    kit.api.client.portal.call(move)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_custom_field_called_like_a_result_column_gets_a_column_of_its_own(kit: Kit) -> None:
    """The list had a 备注 column and the agent wrote notes: both reach the spreadsheet.

    Two columns titled 备注 made the CSV ambiguous: a reader by header (csv.DictReader,
    a re-import, an integrator's script) kept one and silently lost the other.
    """
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    (lead,) = kit.add_leads(
        campaign_id, {"phone": "+8613800000001", "fields": {"name": "张伟", "备注": "老客户"}}
    )
    kit.ok(
        "POST",
        f"/campaigns/{campaign_id}/results",
        201,
        json={"lead_id": lead, "disposition_id": codes["not_interested"], "notes": "下月再联系"},
    )
    since, until = around_now()
    header, row = csv_rows(export(kit, campaign_id, since, until))
    assert len(set(header)) == len(header), header
    by_title = dict(zip(header, row, strict=True))
    assert by_title["备注"] == "下月再联系"
    assert "老客户" in by_title.values()
    (field_title,) = (title for title, value in by_title.items() if value == "老客户")
    assert "备注" in field_title

    header_x, row_x = xlsx_rows(export(kit, campaign_id, since, until, format="xlsx"))
    assert len(set(header_x)) == len(header_x), header_x
    assert dict(zip(header_x, row_x, strict=True))[field_title] == "老客户"
    response = kit.api.call(
        "GET",
        f"/campaigns/{campaign_id}/results/export",
        params={"since": since, "until": until},
        headers={"Accept-Language": "en"},
    )
    header_en = csv_rows(response.content)[0]
    assert len(set(header_en)) == len(header_en), header_en


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_leads_other_numbers_read_as_numbers_not_as_program_text(kit: Kit) -> None:
    """A lead imported with a 备用电话 column: its numbers, not "['+86…']", in both formats."""
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    (lead,) = kit.add_leads(
        campaign_id,
        {
            "phone": "+8613800000001",
            "fields": {"name": "张伟", "extra_phones": ["+8613900000002", "+861062345678"]},
        },
    )
    kit.ok(
        "POST",
        f"/campaigns/{campaign_id}/results",
        201,
        json={"lead_id": lead, "disposition_id": codes["not_interested"]},
    )
    since, until = around_now()
    header, row = csv_rows(export(kit, campaign_id, since, until))
    other = dict(zip(header, row, strict=True))["extra_phones"]
    assert other == "'+8613900000002, +861062345678"  # text starting "+" is defused in CSV
    header_x, row_x = xlsx_rows(export(kit, campaign_id, since, until, format="xlsx"))
    assert dict(zip(header_x, row_x, strict=True))["extra_phones"] == other[1:]


def test_the_last_day_of_a_range_is_in_up_to_local_midnight(kit: Kit) -> None:
    """A week asked for in Beijing time: a result at 23:30 on its last day is in, not after.

    The range is [since, until) in the zones the caller writes; the times shown are the
    platform's (Asia/Shanghai), whatever the database keeps.
    """
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    leads = kit.add_leads(
        campaign_id,
        {"phone": "+8613800000001"},
        {"phone": "+8613800000002"},
        {"phone": "+8613800000003"},
        {"phone": "+8613800000004"},
    )
    moments = [
        dt.datetime(2026, 11, 2, 0, 0, tzinfo=SHANGHAI),  # the first moment: in
        dt.datetime(2026, 11, 8, 23, 30, tzinfo=SHANGHAI),  # the last evening: in
        dt.datetime(2026, 11, 9, 0, 0, tzinfo=SHANGHAI),  # the next day: out
        dt.datetime(2026, 11, 1, 23, 59, 59, tzinfo=SHANGHAI),  # the day before: out
    ]
    for lead, moment in zip(leads, moments, strict=True):
        result = kit.ok(
            "POST",
            f"/campaigns/{campaign_id}/results",
            201,
            json={"lead_id": lead, "disposition_id": codes["not_interested"]},
        )
        recorded_at(kit, result["id"], moment)
    since, until = "2026-11-02T00:00:00+08:00", "2026-11-09T00:00:00+08:00"
    _, *rows = csv_rows(export(kit, campaign_id, since, until))
    assert [(r[0], r[2]) for r in rows] == [
        ("2026-11-02 00:00:00", "+8613800000001"),
        ("2026-11-08 23:30:00", "+8613800000002"),
    ]
    _, *cells = xlsx_rows(export(kit, campaign_id, since, until, format="xlsx"))
    assert [c[0] for c in cells] == [dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 8, 23, 30)]
    in_utc = export(kit, campaign_id, "2026-11-01T16:00:00Z", "2026-11-08T16:00:00Z")
    assert csv_rows(in_utc)[1:] == rows


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_campaign_with_no_calls_exports_its_headers_in_both_formats(kit: Kit) -> None:
    campaign_id = kit.campaign("还没开始的任务")
    since, until = around_now()
    (header,) = csv_rows(export(kit, campaign_id, since, until))
    assert header[:3] == ["登记时间", "外呼任务", "号码"]
    (header_x,) = xlsx_rows(export(kit, campaign_id, since, until, format="xlsx"))
    assert list(header_x) == header
    missing = kit.api.call(
        "GET", "/campaigns/999999/results/export", params={"since": since, "until": until}
    )
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"] == "not-found"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_xlsx_export_opens_with_typed_cells_and_chinese_intact(kit: Kit) -> None:
    """Times are times, numbers are numbers, phones are text formatted as text."""
    codes = dispositions(kit)
    product = kit.ok(
        "POST",
        "/products",
        201,
        json={
            "name": "车险",
            "attributes": [
                {"key": "premium", "label": "保费", "type": "number", "required": True},
                {"key": "start", "label": "起保日期", "type": "date"},
            ],
        },
    )
    campaign_id = kit.campaign("双十一回访（华东）")
    (lead,) = kit.add_leads(
        campaign_id, {"phone": "+8613800000001", "fields": {"name": "欧阳娜娜", "城市": "杭州"}}
    )
    kit.ok(
        "POST",
        f"/campaigns/{campaign_id}/results",
        201,
        json={
            "lead_id": lead,
            "disposition_id": codes["sale"],
            "product_id": product["id"],
            "values": {"premium": 1800.5, "start": "2026-12-01"},
            "notes": "客户要求发短信确认",
        },
    )
    since, until = around_now()
    data = export(kit, campaign_id, since, until, format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None and sheet.title == "导出结果"
    header, row = (tuple(c for c in r) for r in sheet.iter_rows(min_row=1, max_row=2))
    cell = {h.value: c for h, c in zip(header, row, strict=True)}
    assert isinstance(cell["登记时间"].value, dt.datetime)
    assert cell["号码"].value == "+8613800000001" and cell["号码"].number_format == "@"
    assert cell["保费"].value == 1800.5
    assert cell["外呼任务"].value == "双十一回访（华东）"
    assert (cell["name"].value, cell["城市"].value) == ("欧阳娜娜", "杭州")
    assert cell["备注"].value == "客户要求发短信确认"
    assert cell["呼叫结果"].data_type == "s"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_numbers_of_an_outcome_import_back_as_a_new_list(kit: Kit, format: str) -> None:
    """The customers who asked for more time, downloaded and uploaded into a new campaign.

    Their names, other numbers and custom fields come along; the others stay behind.
    """
    from integration.campaigns.test_lead_import import report, upload

    codes = dispositions(kit)
    campaign_id = kit.campaign()
    first, second, third = kit.add_leads(
        campaign_id,
        {
            "phone": "+8613800000001",
            "fields": {"name": "张伟", "城市": "北京", "extra_phones": ["+8613900000002"]},
        },
        {"phone": "+8613800000002", "fields": {"name": "王芳"}},
        {
            "phone": "+861062345678",
            "fields": {"name": "李娜", "extra_phones": ["+8613900000003", "+8613900000004"]},
        },
    )
    url = f"/campaigns/{campaign_id}/results"
    for lead, code in ((first, "not_interested"), (second, "sale"), (third, "not_interested")):
        kit.ok("POST", url, 201, json={"lead_id": lead, "disposition_id": codes[code]})
    response = kit.api.call(
        "GET",
        f"/campaigns/{campaign_id}/numbers/export",
        params={"disposition": "not_interested", "format": format},
    )
    assert response.status_code == 200, response.text
    assert f".{format}" in response.headers["content-disposition"]

    again = kit.campaign("再次跟进")
    job = upload(kit, again, f"numbers.{format}", response.content)
    assert (job["state"], job["imported"], job["invalid"]) == ("done", 2, 0), job
    assert report(kit, job["id"]) == []
    leads = kit.ok("GET", f"/campaigns/{again}/leads")["items"]
    assert [(lead["phone"], lead["fields"]) for lead in leads] == [
        (
            "+8613800000001",
            {"name": "张伟", "城市": "北京", "extra_phones": ["+8613900000002"]},
        ),
        (
            "+861062345678",
            {"name": "李娜", "城市": "", "extra_phones": ["+8613900000003", "+8613900000004"]},
        ),
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_range_that_ends_before_it_starts_is_refused_not_exported_empty(kit: Kit) -> None:
    """From and until swapped by a script: a clear error, not an empty list that looks right."""
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    (lead,) = kit.add_leads(campaign_id, {"phone": "+8613800000001"})
    kit.ok(
        "POST",
        f"/campaigns/{campaign_id}/results",
        201,
        json={"lead_id": lead, "disposition_id": codes["sale"]},
    )
    since, until = around_now()
    for start, end in ((until, since), (since, since)):
        response = kit.api.call(
            "GET",
            f"/campaigns/{campaign_id}/results/export",
            params={"since": start, "until": end},
        )
        assert response.status_code == 422, response.text
        assert "结束时间须晚于开始时间" in response.json()["message"]
        english = kit.api.call(
            "GET",
            f"/campaigns/{campaign_id}/results/export",
            params={"since": start, "until": end},
            headers={"Accept-Language": "en"},
        )
        assert "end after it starts" in english.json()["message"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_export_over_its_row_limit_is_refused_rather_than_cut_short(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three results against a limit of two: an error naming the limit, never two rows."""
    monkeypatch.setattr(results, "EXPORT_MAX", 2)
    codes = dispositions(kit)
    campaign_id = kit.campaign()
    leads = kit.add_leads(campaign_id, *({"phone": f"+861380000000{n}"} for n in range(1, 4)))
    for lead in leads:
        kit.ok(
            "POST",
            f"/campaigns/{campaign_id}/results",
            201,
            json={"lead_id": lead, "disposition_id": codes["not_interested"]},
        )
    since, until = around_now()
    for path, params in (
        ("results/export", {"since": since, "until": until}),
        ("numbers/export", {"disposition": "not_interested"}),
        ("numbers", {"disposition": "not_interested"}),
    ):
        response = kit.api.call("GET", f"/campaigns/{campaign_id}/{path}", params=params)
        assert response.status_code == 422, (path, response.text)
        assert "超过 2 行" in response.json()["message"]
    quiet_day = export(kit, campaign_id, "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
    assert len(csv_rows(quiet_day)) == 1  # a range under the limit still exports
