"""An operator's audit of lead import: the files people really send, and what they are told."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from callcenter.store.tables import LeadImportJobRow
from integration.campaigns.campaign_kit import Kit
from integration.campaigns.test_lead_import import phones, report, upload

# The reader and the one-transaction write run on both backends in test_lead_import.py.
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def xlsx(*rows: list[object]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def lead_of(kit: Kit, campaign_id: int, phone: str) -> dict[str, object]:
    page = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"phone": phone})
    (lead,) = page["items"]
    assert isinstance(lead, dict)
    return lead


@SQLITE
def test_an_other_number_that_is_not_a_number_is_reported_not_dropped_in_silence(
    kit: Kit,
) -> None:
    """The lead is imported with its good numbers; the bad 备用电话 is in the report."""
    campaign_id = kit.campaign()
    body = (
        "姓名,手机,备用电话\n"
        "张伟,13800138000,13900139000\n"
        "王芳,13700137000,1390013\n"  # too short
        "李娜,13600136000,见备注\n"  # not a number at all
    )
    job = upload(kit, campaign_id, "名单.csv", body.encode("gbk"))
    assert (job["state"], job["imported"], job["invalid"]) == ("done", 3, 0)
    assert lead_of(kit, campaign_id, "13800138000")["fields"] == {
        "name": "张伟",
        "extra_phones": ["+8613900139000"],
    }
    assert lead_of(kit, campaign_id, "13700137000")["fields"] == {"name": "王芳"}
    rows = report(kit, job["id"])
    assert [(r["行号"], r["内容"]) for r in rows] == [("3", "1390013"), ("4", "见备注")]
    assert all(r["原因代码"].startswith("extra-") for r in rows)
    assert all("备用" in r["原因"] and "other number" in r["Reason"] for r in rows)


@SQLITE
def test_a_gbk_csv_with_a_chinese_header_and_no_bom(kit: Kit) -> None:
    """Saved by Excel in China as "CSV (逗号分隔)": GB18030 bytes, Chinese headers."""
    campaign_id = kit.campaign()
    body = "客户姓名,联系电话,所在城市,意向\n欧阳娜娜,138-0013-8000,杭州,车险续保\n"
    job = upload(kit, campaign_id, "客户.csv", body.encode("gbk"))
    assert (job["state"], job["imported"]) == ("done", 1), job
    lead = lead_of(kit, campaign_id, "13800138000")
    assert lead["fields"] == {"name": "欧阳娜娜", "所在城市": "杭州", "意向": "车险续保"}
    assert (lead["carrier"], lead["number_type"]) == ("China Mobile", "mobile")


@SQLITE
def test_one_number_written_five_ways_in_an_xlsx_is_one_lead(kit: Kit) -> None:
    """A float cell, an int cell with 86, "+86 138 ...", dashes and full-width digits."""
    campaign_id = kit.campaign()
    data = xlsx(
        ["手机", "姓名"],
        [13800138000.0, "张伟"],
        [None, None],
        [8613800138000, "张伟（重复）"],
        ["+86 138 0013 8000", "同一人"],
        ["138-0013-8000", "同一人"],
        ["１３８００１３８０００", "同一人"],
        [13900139000, "王芳"],
    )
    job = upload(kit, campaign_id, "名单.xlsx", data)
    assert (job["imported"], job["duplicate"], job["invalid"]) == (2, 4, 0), job
    assert job["rows_read"] == 6  # the blank row is not a data row
    assert sorted(phones(kit, campaign_id)) == ["+8613800138000", "+8613900139000"]
    assert lead_of(kit, campaign_id, "13800138000")["fields"] == {"name": "张伟"}
    merged = [(r["行号"], r["原因代码"]) for r in report(kit, job["id"])]
    assert merged == [
        ("4", "duplicate"),
        ("5", "duplicate"),
        ("6", "duplicate"),
        ("7", "duplicate"),
    ]


@SQLITE
def test_a_blacklisted_number_is_filtered_whatever_its_form(kit: Kit) -> None:
    kit.ok("POST", "/blacklist", 201, json={"phones": ["+86 139-0013-9000"], "reason": "opt_out"})
    campaign_id = kit.campaign()
    body = "手机\n0086 13900139000\n13800138000\n１３９００１３９０００\n"
    job = upload(kit, campaign_id, "a.csv", body.encode())
    assert (job["imported"], job["blocked"], job["blocked_by_reason"]) == (1, 2, {"opt_out": 2})
    assert phones(kit, campaign_id) == ["+8613800138000"]


@SQLITE
def test_a_duplicate_header_and_a_very_long_field_are_both_kept(kit: Kit) -> None:
    campaign_id = kit.campaign()
    story = "客户多次来电咨询车险续保事宜，" * 400  # 6 000 characters in one cell
    body = f"手机,备注,备注\n13800138000,老客户,{story}\n"
    job = upload(kit, campaign_id, "a.csv", body.encode("utf-8-sig"))
    assert job["imported"] == 1, job
    assert lead_of(kit, campaign_id, "13800138000")["fields"] == {"备注": "老客户", "备注_2": story}


@SQLITE
def test_a_mapped_column_the_file_lacks_fails_the_job_saying_which(kit: Kit) -> None:
    campaign_id = kit.campaign()
    job = upload(
        kit, campaign_id, "a.csv", "手机,城市\n13800138000,北京\n".encode(),
        column_map='{"客户电话": "phone"}',
    )  # fmt: skip
    assert job["state"] == "failed"
    assert "客户电话" in job["message"] and "mapped column" in job["message"]
    assert phones(kit, campaign_id) == [] and kit.ok("GET", f"/campaigns/{campaign_id}/lists") == []


@SQLITE
def test_a_file_that_adds_no_lead_leaves_a_running_campaigns_approval_alone(kit: Kit) -> None:
    """A header-only file, then one whose numbers are all in the campaign already.

    Nothing new can be dialled, so nothing needs approving again: the campaign's approved
    version stays in force, with no revision opened (or a submitted one sent back).
    """
    campaign_id = kit.running(leads=({"phone": "+8613800138000"},))
    before = kit.ok("GET", f"/campaigns/{campaign_id}")
    assert (before["state"], before["revision"]) == ("running", "none")
    header_only = upload(kit, campaign_id, "空名单.csv", "手机,姓名\n".encode())
    again = upload(kit, campaign_id, "重复.csv", "手机\n138 0013 8000\n".encode())
    assert (header_only["state"], header_only["imported"]) == ("done", 0)
    assert (again["state"], again["imported"], again["duplicate"]) == ("done", 0, 1)
    after = kit.ok("GET", f"/campaigns/{campaign_id}")
    assert (after["state"], after["revision"]) == ("running", "none")
    problems = kit.ok("GET", f"/campaigns/{campaign_id}/why-not-dialling")["problems"]
    assert not [p for p in problems if p.startswith("revision-")], problems


@SQLITE
def test_a_workbook_whose_list_is_not_on_its_first_sheet_is_read_from_the_sheet_named(
    kit: Kit,
) -> None:
    """Many workbooks open with a 填写说明 sheet; the form names the sheet holding the list."""
    book = openpyxl.Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "填写说明"
    notes.append(["请在“名单”工作表中填写客户信息，手机号码请设置为文本格式"])
    sheet = book.create_sheet("名单")
    sheet.append(["手机", "姓名"])
    sheet.append(["13800138000", "张伟"])
    out = io.BytesIO()
    book.save(out)
    campaign_id = kit.campaign()
    first = upload(kit, campaign_id, "名单.xlsx", out.getvalue())
    assert first["state"] == "failed" and "填写说明" in first["message"]
    named = upload(kit, campaign_id, "名单.xlsx", out.getvalue(), sheet="名单")
    assert (named["state"], named["imported"]) == ("done", 1), named
    missing = upload(kit, campaign_id, "名单.xlsx", out.getvalue(), sheet="Sheet1")
    assert missing["state"] == "failed"
    assert "Sheet1" in missing["message"] and "名单" in missing["message"]
    assert phones(kit, campaign_id) == ["+8613800138000"]


def test_two_overlapping_files_uploaded_together_both_import(kit: Kit) -> None:
    """Monday's and Tuesday's lists share 500 numbers and are sent a second apart.

    Each import checked the campaign's numbers before the other had written its own, so
    the second to write broke the campaign's one-lead-per-number rule and failed whole
    ("the import failed; nothing was imported"). Now the writes of one campaign take turns.
    """
    campaign_id = kit.campaign()
    monday = "手机\n" + "".join(f"1380000{n:04d}\n" for n in range(0, 1500))
    tuesday = "手机\n" + "".join(f"1380000{n:04d}\n" for n in range(1000, 2500))
    started = [
        kit.api.call(
            "POST", f"/campaigns/{campaign_id}/imports", files={"file": (name, body.encode())}
        ).json()["id"]
        for name, body in (("周一.csv", monday), ("周二.csv", tuesday))
    ]
    assert kit.api.client.portal is not None
    for job_id in started:
        kit.api.client.portal.call(kit.api.platform.outbound.imports.wait, job_id)
    jobs = [kit.ok("GET", f"/imports/{job_id}") for job_id in started]
    assert [job["state"] for job in jobs] == ["done", "done"], jobs
    assert sum(job["imported"] for job in jobs) == 2500
    assert sorted(job["duplicate"] for job in jobs) == [0, 500]
    page = kit.ok("GET", f"/campaigns/{campaign_id}/leads", params={"limit": "1"})
    assert page["total"] == 2500


@SQLITE
def test_a_job_left_running_by_a_restart_says_it_was_interrupted(kit: Kit) -> None:
    """The platform stopped mid-import (a crash, a deploy): nothing was written, and the job
    says so and asks for the file again, instead of showing 导入中 for ever."""
    campaign_id = kit.campaign()
    platform = kit.api.platform

    async def orphan() -> int:
        async with platform.uow() as uow:
            job = LeadImportJobRow(
                campaign_id=campaign_id,
                filename="五十万.csv",
                state="running",
                rows_read=0,
                created_by_no="admin",
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
                blocked_by_reason={},
            )
            uow.session.add(job)
            await uow.commit()
            return job.id

    assert kit.api.client.portal is not None
    job_id = kit.api.client.portal.call(orphan)
    live = upload(kit, campaign_id, "a.csv", "手机\n13800138000\n".encode())
    assert live["state"] == "done"
    job = kit.ok("GET", f"/imports/{job_id}")
    assert job["state"] == "failed" and job["finished_at"] is not None
    assert "重新导入" in job["message"] and "upload the file again" in job["message"]
    listed = {j["id"]: j["state"] for j in kit.ok("GET", f"/campaigns/{campaign_id}/imports")}
    assert listed == {job_id: "failed", live["id"]: "done"}
    assert phones(kit, campaign_id) == ["+8613800138000"]


@SQLITE
def test_a_stale_read_of_a_job_that_just_finished_does_not_fail_it(kit: Kit) -> None:
    """A GET may read a job as running just before its import commits and ends. The job
    was this process's own, so it is not one a restart cut off: it stays done, with its
    leads, instead of being marked failed over the top."""
    campaign_id = kit.campaign()
    platform = kit.api.platform
    done = upload(kit, campaign_id, "a.csv", "手机\n13800138000\n".encode())
    assert done["state"] == "done"

    async def stale_look() -> str:
        imports = platform.outbound.imports
        async with platform.uow() as uow:
            job = await uow.session.get(LeadImportJobRow, done["id"])
            assert job is not None
            job.state = "running"  # as read a moment before the import's commit
            await imports._settle(uow, [job])
            return job.state

    assert kit.api.client.portal is not None
    assert kit.api.client.portal.call(stale_look) == "running"
    job = kit.ok("GET", f"/imports/{done['id']}")
    assert (job["state"], job["imported"]) == ("done", 1)
    assert phones(kit, campaign_id) == ["+8613800138000"]
