"""名单导入 / importing a lead file into a campaign as a job: all or nothing, with progress.

Theory of operation
-------------------
:meth:`LeadImportService.start` checks the campaign, records a ``running`` job and
returns it at once; the import then runs as a task. The file is read by
:func:`callcenter.app.leadfile.read_leads` in a worker thread (it is CPU work), against a
snapshot of the blacklist, and every event is kept: progress goes out on the event bus
(``lead_import.progress``) and into the job's live counters, which ``GET`` reads.
Only when the reader's summary has arrived is anything written, and then in one
transaction: the new lead list, its leads (numbers already in the campaign count as
duplicates), the report rows (rejected, duplicate and blocked rows with their reasons,
and the other numbers of a lead that were not numbers) and the finished job; a number
with no zone of its own takes the campaign's. A file the reader refuses part-way, or a
write that fails, leaves no list and no leads, only a ``failed`` job saying why.

A job this process is not running but the database calls running was cut off by a
restart before its write: the first look at it marks it failed, saying so.

Files for one campaign are read side by side but written one at a time (a lock per
campaign, in this process), so each sees the numbers the one before wrote and counts
them as duplicates, instead of breaking the one-lead-per-number rule and failing whole.

Adding a list to an approved campaign changes what was approved, so it opens a
revision like any other edit: the new leads are dialled once it is approved. A list
that adds no lead (a header alone, numbers all there already) changes nothing to dial
and opens none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select

from callcenter.app import audit, leadfile
from callcenter.app.audit import Actor
from callcenter.app.blacklist import BlacklistService
from callcenter.app.bus import EventBus
from callcenter.app.campaigns import CampaignService, lifecycle_of
from callcenter.app.exports import Column, ColumnKind, write_csv
from callcenter.app.validation import check_text, utc_now
from callcenter.domain.campaign import CampaignSettings, State
from callcenter.errors import AppError, InvalidInput, NotFound
from callcenter.store.tables import (
    LeadImportErrorRow,
    LeadImportJobRow,
    LeadListRow,
    LeadRow,
)
from callcenter.store.uow import UnitOfWork

log = logging.getLogger(__name__)

VIEW = "lead.view"
INSERT_CHUNK = 5_000
MAX_FILE_BYTES = 64 << 20
REPORT_COLUMNS = (
    Column("row", "行号", "Row", ColumnKind.NUMBER),
    Column("code", "原因代码", "Reason code"),
    Column("value", "内容", "Value"),
    Column("message_zh", "原因", "Reason (Chinese)"),
    Column("message_en", "Reason", "Reason (English)"),
)
Reader = Callable[..., Any]
INTERRUPTED = (
    "导入因平台重启而中断，未导入任何号码，请重新导入 / "
    "the import was interrupted by a restart; nothing was imported: upload the file again"
)


@dataclass
class _Read:
    """Everything the reader said about one file, kept until its summary arrives."""

    accepted: list[leadfile.LeadAccepted] = field(default_factory=list)
    report: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    rows_read: int = 0
    summary: leadfile.Summary | None = None


class LeadImportService:
    def __init__(
        self,
        campaigns: CampaignService,
        blacklist: BlacklistService,
        uow: Callable[[], UnitOfWork],
        bus: EventBus,
        *,
        default_region: str = "CN",
        reader: Reader = leadfile.read_leads,
        max_rows: int = 1_000_000,
    ) -> None:
        self.campaigns = campaigns
        self.blacklist = blacklist
        self._uow = uow
        self._bus = bus
        self.default_region = default_region
        self.reader = reader
        self.max_rows = max_rows
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._rows_read: dict[int, int] = {}
        # Every job this process started, finished or not: a job it started that a
        # stale read still shows running is not one a restart cut off.
        self._started: set[int] = set()
        self._writing: dict[int, asyncio.Lock] = {}  # by campaign: one write at a time

    async def start(
        self,
        uow: UnitOfWork,
        actor: Actor,
        campaign_id: int,
        *,
        data: bytes,
        filename: str,
        column_map: Mapping[str, str] | None = None,
        sheet: str | None = None,
    ) -> LeadImportJobRow:
        """Record the job and start reading; the answer comes before the import ends.

        ``sheet`` names the worksheet of an XLSX file to read (else its first).
        """
        campaign = await self.campaigns.get(uow, campaign_id)
        if campaign.state == State.FINISHED:
            raise InvalidInput(
                field="campaign_id",
                reason_zh="外呼任务已结束，不能再导入名单",
                reason_en="the campaign is finished: no more lists",
            )
        if len(data) > MAX_FILE_BYTES:
            raise InvalidInput(
                field="file",
                reason_zh=f"文件超过 {MAX_FILE_BYTES >> 20} MiB",
                reason_en=f"the file is larger than {MAX_FILE_BYTES >> 20} MiB",
            )
        filename = check_text("filename", filename)[-128:] or "leads.csv"
        job = LeadImportJobRow(
            campaign_id=campaign_id,
            filename=filename,
            state="running",
            created_by_no=actor.agent_no[:20],
            created_at=utc_now(),
            blocked_by_reason={},
        )
        uow.session.add(job)
        await uow.session.flush()
        audit.record(
            uow,
            actor,
            "lead.import",
            target_type="campaign",
            target_id=campaign_id,
            detail={"job_id": job.id, "filename": filename, "bytes": len(data)},
        )
        self._rows_read[job.id] = 0  # live from here, so a GET during the commit sees it
        self._started.add(job.id)
        try:
            await uow.commit()
        except BaseException:
            self._rows_read.pop(job.id, None)
            raise
        self._tasks[job.id] = asyncio.create_task(
            self._run(actor, job.id, campaign_id, data, filename, column_map, sheet),
            name=f"lead-import-{job.id}",
        )
        return job

    async def get_job(self, uow: UnitOfWork, job_id: int) -> LeadImportJobRow:
        job = await uow.session.get(LeadImportJobRow, job_id)
        if job is None:
            raise NotFound(kind="import_job", id=job_id)
        if job.state == "running":
            await self._settle(uow, [job])
        return job

    async def jobs(self, uow: UnitOfWork, campaign_id: int) -> list[LeadImportJobRow]:
        await self.campaigns.get(uow, campaign_id)
        rows = await uow.session.scalars(
            select(LeadImportJobRow)
            .where(LeadImportJobRow.campaign_id == campaign_id)
            .order_by(LeadImportJobRow.id.desc())
        )
        jobs = list(rows)
        await self._settle(uow, [job for job in jobs if job.state == "running"])
        return jobs

    async def _settle(self, uow: UnitOfWork, running: list[LeadImportJobRow]) -> None:
        """Running jobs with their live count; one this process never started failed.

        Such a job was running when the platform stopped: its write, all or nothing, never
        happened, so it failed, and says so once and for all.
        """
        orphans = [job for job in running if job.id not in self._started]
        for job in running:
            job.rows_read = self._rows_read.get(job.id, job.rows_read)
        for job in orphans:
            job.state = "failed"
            job.message = INTERRUPTED
            job.finished_at = utc_now()
            log.warning("lead import %s was interrupted by a restart: marked failed", job.id)
            uow.emit("lead_import.finished", _summary(job), VIEW)
        if orphans:
            await uow.commit()

    async def report_csv(self, uow: UnitOfWork, job_id: int) -> bytes:
        """The rows (and a lead's other numbers) that were not imported and why, as CSV."""
        await self.get_job(uow, job_id)
        rows = await uow.session.scalars(
            select(LeadImportErrorRow)
            .where(LeadImportErrorRow.job_id == job_id)
            .order_by(LeadImportErrorRow.row_no, LeadImportErrorRow.id)
        )
        out = io.BytesIO()
        write_csv(
            (
                {
                    "row": r.row_no,
                    "code": r.code,
                    "value": r.value,
                    "message_zh": r.message_zh,
                    "message_en": r.message_en,
                }
                for r in rows
            ),
            REPORT_COLUMNS,
            out,
        )
        return out.getvalue()

    async def wait(self, job_id: int) -> None:
        """Until the job's task has ended (tests, and a caller that wants to block)."""
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    # --- the job ------------------------------------------------------------------

    async def _run(
        self,
        actor: Actor,
        job_id: int,
        campaign_id: int,
        data: bytes,
        filename: str,
        column_map: Mapping[str, str] | None,
        sheet: str | None = None,
    ) -> None:
        try:
            async with self._uow() as uow:
                blocked = await self.blacklist.all_reasons(uow)
            loop = asyncio.get_running_loop()
            read = await asyncio.to_thread(
                self._read, job_id, data, filename, column_map, blocked, loop, sheet
            )
            async with self._writing.setdefault(campaign_id, asyncio.Lock()):
                await self._write(actor, job_id, campaign_id, read)
        except leadfile.LeadFileError as error:
            await self._fail(job_id, error)
        except asyncio.CancelledError:
            await self._fail(job_id, None)
            raise
        except Exception as error:  # the job says it failed; the log has the trace
            log.exception("lead import %s failed", job_id)
            await self._fail(job_id, error)
        finally:
            self._tasks.pop(job_id, None)
            self._rows_read.pop(job_id, None)

    def _read(
        self,
        job_id: int,
        data: bytes,
        filename: str,
        column_map: Mapping[str, str] | None,
        blocked: dict[str, str],
        loop: asyncio.AbstractEventLoop,
        sheet: str | None = None,
    ) -> _Read:
        """In a worker thread: every event of the file, kept; progress published."""
        read = _Read()
        for event in self.reader(
            data,
            filename,
            default_region=self.default_region,
            column_map=column_map,
            is_blocked=blocked.get,
            max_rows=self.max_rows,
            sheet=sheet,
        ):
            if isinstance(event, leadfile.LeadAccepted):
                read.accepted.append(event)
                read.report.extend(
                    _report(
                        event.row,
                        f"extra-{error.code}",
                        error.raw,
                        f"备用号码未导入：{error.zh}",
                        f"other number not imported: {error.en}",
                    )
                    for error in event.extra_rejected
                )
            elif isinstance(event, leadfile.RowRejected):
                read.report.append(
                    _report(event.row, event.reason_code, event.raw, event.zh, event.en)
                )
            elif isinstance(event, leadfile.DuplicateMerged):
                read.duplicates += 1
                read.report.append(
                    _duplicate(
                        event.row, event.e164, f"第 {event.first_row} 行", f"row {event.first_row}"
                    )
                )
            elif isinstance(event, leadfile.RowBlocked):
                read.blocked[event.reason] += 1
                read.report.append(
                    _report(
                        event.row,
                        f"blocked-{event.reason}",
                        event.e164,
                        f"号码在黑名单中（{event.reason}）",
                        f"the number is blocked ({event.reason})",
                    )
                )
            elif isinstance(event, leadfile.Progress):
                read.rows_read = event.rows_read
                self._rows_read[job_id] = event.rows_read
                loop.call_soon_threadsafe(
                    self._bus.publish,
                    "lead_import.progress",
                    {"job_id": job_id, "rows_read": event.rows_read, "fraction": event.fraction},
                    VIEW,
                )
            elif isinstance(event, leadfile.Summary):
                read.summary = event
                read.rows_read = event.rows_read
        return read

    async def _write(self, actor: Actor, job_id: int, campaign_id: int, read: _Read) -> None:
        """One transaction: the list, its leads, the report and the finished job."""
        if read.summary is None:
            raise RuntimeError("the lead file reader ended without a summary")
        async with self._uow() as uow:
            campaign = await self.campaigns.get(uow, campaign_id)
            default_zone = CampaignSettings.parse(campaign.settings).time_zone
            job = await self.get_job(uow, job_id)
            existing = set(
                await uow.session.scalars(
                    select(LeadRow.phone).where(LeadRow.campaign_id == campaign_id)
                )
            )
            now = utc_now()
            lead_list = LeadListRow(
                campaign_id=campaign_id,
                name=job.filename,
                lead_count=0,
                created_by_no=actor.agent_no[:20],
                created_at=now,
            )
            uow.session.add(lead_list)
            await uow.session.flush()
            leads = []
            for event in read.accepted:
                phone = event.phone
                if phone.e164 in existing:
                    read.duplicates += 1
                    read.report.append(
                        _duplicate(event.row, phone.e164, "本任务已有", "already in the campaign")
                    )
                    continue
                existing.add(phone.e164)
                fields: dict[str, Any] = dict(event.fields)
                if event.name:
                    fields["name"] = event.name
                if event.extra_numbers:
                    fields["extra_phones"] = [p.e164 for p in event.extra_numbers]
                leads.append(
                    (campaign_id, lead_list.id, event.row, phone.e164, phone.region,
                     phone.carrier_en, str(phone.number_type), phone.time_zone or default_zone,
                     json.dumps(fields, ensure_ascii=False), "new", 0, 0, 0, now)
                )  # fmt: skip
            await _insert_leads(uow, leads)
            for start in range(0, len(read.report), INSERT_CHUNK):
                chunk = [
                    {"job_id": job_id, **row} for row in read.report[start : start + INSERT_CHUNK]
                ]
                await uow.session.execute(insert(LeadImportErrorRow), chunk)
            lead_list.lead_count = len(leads)
            job.list_id = lead_list.id
            job.state = "done"
            job.rows_read = read.rows_read
            job.imported = len(leads)
            job.invalid = read.summary.rejected
            job.duplicate = read.duplicates
            job.blocked = sum(read.blocked.values())
            job.blocked_by_reason = dict(read.blocked)
            job.finished_at = utc_now()
            if leads and lifecycle_of(campaign).state is not State.DRAFT:
                await self.campaigns.note_change(uow, actor, campaign)
            audit.record(
                uow,
                actor,
                "lead.import.done",
                target_type="campaign",
                target_id=campaign_id,
                detail={
                    "job_id": job_id,
                    "list_id": lead_list.id,
                    "imported": job.imported,
                    "invalid": job.invalid,
                    "duplicate": job.duplicate,
                    "blocked": job.blocked,
                },
            )
            uow.emit("lead_import.finished", _summary(job), VIEW)
            await uow.commit()
        log.info("lead import %s: %d leads into list %s", job_id, len(leads), lead_list.id)

    async def _fail(self, job_id: int, error: BaseException | None) -> None:
        if isinstance(error, AppError):
            message = f"{error.message('zh-CN')} / {error.message('en')}"
        elif error is None:
            message = "导入被中止 / the import was stopped"
        else:
            message = "导入失败，未导入任何号码 / the import failed; nothing was imported"
        async with self._uow() as uow:
            job = await uow.session.get(LeadImportJobRow, job_id)
            if job is None:
                return
            job.state = "failed"
            job.message = message[:512]
            job.rows_read = self._rows_read.get(job_id, job.rows_read)
            job.finished_at = utc_now()
            uow.emit("lead_import.finished", _summary(job), VIEW)
            await uow.commit()


def _report(row: int, code: str, value: str, zh: str, en: str) -> dict[str, Any]:
    return {
        "row_no": row,
        "code": code[:64],
        "value": value[:64],
        "message_zh": zh[:256],
        "message_en": en[:256],
    }


def _duplicate(row: int, e164: str, zh_where: str, en_where: str) -> dict[str, Any]:
    return _report(
        row,
        "duplicate",
        e164,
        f"重复号码，已合并（{zh_where}）",
        f"duplicate number, merged ({en_where})",
    )


def _summary(job: LeadImportJobRow) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "campaign_id": job.campaign_id,
        "state": job.state,
        "imported": job.imported,
        "invalid": job.invalid,
        "duplicate": job.duplicate,
        "blocked": job.blocked,
    }


_LEAD_COLUMNS = (
    "campaign_id", "list_id", "row_no", "phone", "region", "carrier", "number_type",
    "time_zone", "fields", "status", "attempts_today", "attempts_24h", "attempts_lifetime",
    "created_at",
)  # fmt: skip


async def _insert_leads(uow: UnitOfWork, leads: list[tuple[Any, ...]]) -> None:
    """Straight to the driver's executemany, in the caller's transaction.

    SQLAlchemy's per-row parameter processing costs more than the database itself on
    lists of 100 000 rows, so the two values that need it are prepared here: the JSON
    text of the custom fields, and the time (SQLite keeps SQLAlchemy's text form).
    """
    connection = await uow.session.connection()
    postgres = connection.dialect.name == "postgresql"
    marks = ", ".join(
        ("%s::json" if column == "fields" else "%s") if postgres else "?"
        for column in _LEAD_COLUMNS
    )
    sql = f"INSERT INTO leads ({', '.join(_LEAD_COLUMNS)}) VALUES ({marks})"
    if not postgres:
        leads = [(*row[:-1], _sqlite_time(row[-1])) for row in leads]
    for start in range(0, len(leads), INSERT_CHUNK):
        await connection.exec_driver_sql(sql, leads[start : start + INSERT_CHUNK])


def _sqlite_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
