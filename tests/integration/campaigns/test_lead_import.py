"""Importing lead files into a campaign: every kind of bad row, big files, all or nothing."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from callcenter.app import leadfile
from callcenter.app.bus import Event
from integration.campaigns.campaign_kit import Kit

FIXTURES = Path(__file__).parents[2] / "fixtures" / "leads"


def upload(kit: Kit, campaign_id: int, name: str, data: bytes, **form: str) -> dict[str, Any]:
    """Upload, wait for the job to end, and answer the finished job."""
    response = kit.api.call(
        "POST", f"/campaigns/{campaign_id}/imports", files={"file": (name, data)}, data=form
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "running"
    assert kit.api.client.portal is not None
    kit.api.client.portal.call(kit.api.platform.outbound.imports.wait, job["id"])
    finished: dict[str, Any] = kit.ok("GET", f"/imports/{job['id']}")
    return finished


def report(kit: Kit, job_id: int) -> list[dict[str, str]]:
    response = kit.api.call("GET", f"/imports/{job_id}/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def phones(kit: Kit, campaign_id: int) -> list[str]:
    page = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"limit": "500"})
    return [lead["phone"] for lead in page["items"]]


def test_a_gbk_csv_is_imported_with_every_bad_row_reported_by_row_and_reason(kit: Kit) -> None:
    """GBK text, a bad number of each kind, a duplicate and a blacklisted number."""
    kit.ok("POST", "/blacklist", 201, json={"phones": ["15900001111"], "reason": "do_not_call"})
    campaign_id = kit.campaign()
    data = (FIXTURES / "customers_gbk.csv").read_bytes()
    job = upload(kit, campaign_id, "客户名单.csv", data)
    assert job["state"] == "done", job
    assert (job["imported"], job["invalid"], job["duplicate"], job["blocked"]) == (3, 3, 1, 1)
    assert job["blocked_by_reason"] == {"do_not_call": 1}
    assert job["rows_read"] == 8  # data rows, the header not counted
    assert sorted(phones(kit, campaign_id)) == ["+861062345678", "+8613800138000", "+8613900139000"]

    lead = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"phone": "13800138000"})
    (first,) = lead["items"]
    assert first["fields"] == {"name": "张伟", "城市": "北京", "意向产品": "车险"}
    assert (first["region"], first["carrier"], first["number_type"]) == (
        "CN",
        "China Mobile",
        "mobile",
    )
    assert first["time_zone"] == "Asia/Shanghai"
    assert first["row_no"] == 2

    rows = {int(r["行号"]): r for r in report(kit, job["id"])}
    assert sorted(rows) == [4, 5, 7, 8, 9]
    assert rows[5]["原因代码"] == "duplicate"
    assert rows[8]["原因代码"] == "blocked-do_not_call"
    assert rows[7]["原因代码"] == "not-a-number"
    assert rows[9]["原因代码"] == "digits-lost"
    assert "Excel" in rows[9]["原因"]
    (lead_list,) = kit.ok("GET", f"/campaigns/{campaign_id}/lists")
    assert (lead_list["name"], lead_list["lead_count"]) == ("客户名单.csv", 3)


def test_an_xlsx_file_and_a_second_file_merging_numbers_already_in_the_campaign(
    kit: Kit,
) -> None:
    campaign_id = kit.campaign()
    job = upload(kit, campaign_id, "名单.xlsx", (FIXTURES / "customers.xlsx").read_bytes())
    assert (job["state"], job["imported"], job["invalid"], job["duplicate"]) == ("done", 2, 1, 1)
    again = upload(kit, campaign_id, "again.csv", "电话\n13700137000\n13500135000\n".encode())
    assert (again["imported"], again["duplicate"]) == (1, 1)
    codes = [r["原因代码"] for r in report(kit, again["id"])]
    assert codes == ["duplicate"]
    assert sorted(phones(kit, campaign_id)) == [
        "+8613500135000",
        "+8613700137000",
        "+8618600186000",
    ]
    assert [j["filename"] for j in kit.ok("GET", f"/campaigns/{campaign_id}/imports")] == [
        "again.csv",
        "名单.xlsx",
    ]


def test_a_file_refused_part_way_leaves_no_list_and_no_leads(kit: Kit) -> None:
    """The reader gives up at row 201 of 500 after 199 good rows: nothing is written."""
    kit.api.platform.outbound.imports.max_rows = 200
    campaign_id = kit.campaign()
    body = "手机\n" + "".join(f"1380000{n:04d}\n" for n in range(500))
    job = upload(kit, campaign_id, "big.csv", body.encode())
    assert job["state"] == "failed"
    assert "200" in job["message"] and "split" in job["message"]
    assert job["list_id"] is None and job["imported"] == 0
    assert phones(kit, campaign_id) == []
    assert kit.ok("GET", f"/campaigns/{campaign_id}/lists") == []


def test_a_failed_write_rolls_back_everything(kit: Kit) -> None:
    """The file reads well but writing its last lead fails: the transaction leaves nothing."""
    campaign_id = kit.campaign()
    imports = kit.api.platform.outbound.imports

    def reader(*args: Any, **kwargs: Any) -> Any:
        events = list(leadfile.read_leads(*args, **kwargs))
        broken = leadfile.LeadAccepted(row=4, phone=None, name="", fields={})  # type: ignore[arg-type]
        yield from [*events[:-1], broken, events[-1]]

    imports.reader = reader
    job = upload(kit, campaign_id, "a.csv", "手机\n13800138000\n13900139000\n".encode())
    assert job["state"] == "failed", job
    assert "nothing was imported" in job["message"]
    assert phones(kit, campaign_id) == []


def test_a_file_with_no_phone_column_fails_with_the_reason(kit: Kit) -> None:
    campaign_id = kit.campaign()
    job = upload(kit, campaign_id, "x.csv", "名字,城市\n张三,北京\n".encode())
    assert job["state"] == "failed"
    assert "电话" in job["message"] and "phone" in job["message"]
    bad_map = kit.api.call(
        "POST",
        f"/campaigns/{campaign_id}/imports",
        files={"file": ("x.csv", b"a\n1\n")},
        data={"column_map": "[1, 2]"},
    )
    assert bad_map.status_code == 422
    mapped = upload(
        kit, campaign_id, "y.csv", "号,城\n13800138000,北京\n".encode(),
        column_map='{"号": "phone", "城": "city"}',
    )  # fmt: skip
    assert mapped["imported"] == 1


def test_importing_into_an_approved_campaign_needs_a_new_approval(kit: Kit) -> None:
    campaign_id = kit.running()
    job = upload(kit, campaign_id, "more.csv", "手机\n13800138000\n".encode())
    assert job["state"] == "done"
    campaign = kit.ok("GET", f"/campaigns/{campaign_id}")
    assert (campaign["state"], campaign["revision"]) == ("running", "draft")
    why = kit.ok("GET", f"/campaigns/{campaign_id}/why-not-dialling")
    assert why["reasons"] == {"list-not-approved": 1}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # both backends run the smaller files
def test_progress_is_published_and_a_huge_file_imports_in_bounded_time(kit: Kit) -> None:
    """120 000 rows: about 8 s on an idle machine (most of it reading the numbers)."""
    seen: list[Event] = []
    kit.api.platform.bus.listen(seen.append)
    campaign_id = kit.campaign()
    rows = 120_000
    body = "姓名,手机,备注\n" + "".join(f"客户{n},13{n % 10}{n:08d},第{n}行\n" for n in range(rows))
    started = time.perf_counter()
    job = upload(kit, campaign_id, "huge.csv", body.encode())
    elapsed = time.perf_counter() - started
    assert job["state"] == "done", job
    assert job["imported"] == rows
    assert elapsed < 60, elapsed
    progress = [e for e in seen if e.type == "lead_import.progress"]
    assert len(progress) >= rows // 5_000 - 1
    assert progress[-1].data["rows_read"] > progress[0].data["rows_read"]
    assert any(e.type == "lead_import.finished" for e in seen)
    page = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"limit": "1"})
    assert page["total"] == rows


def test_an_xlsx_built_here_reads_like_the_fixture(kit: Kit, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["手机", "等级"])
    sheet.append(["13800138000", "A"])
    out = io.BytesIO()
    book.save(out)
    campaign_id = kit.campaign()
    job = upload(kit, campaign_id, "t.xlsx", out.getvalue())
    assert job["imported"] == 1
