"""外呼任务 / campaigns: create, edit, submit, approve (freezing a version), start, pause.

The lifecycle rules live in :mod:`callcenter.domain.campaign`; this service loads the
row, asks the domain, stores the result and its audit row in one transaction, and
publishes ``campaign.changed`` once committed. Approval copies the working settings,
the script's text and the campaign's lead lists into a :class:`CampaignVersionRow`;
the dialer only ever reads an approved version. Nobody who changed what an approval
freezes since the last one (created or edited the campaign, added a lead list; the
audit log names them all) may approve it, and a change to a running campaign, which
dials at once, is approved only when it passes the start-up compliance checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from callcenter.app import audit
from callcenter.app.audit import Actor
from callcenter.app.crud import ensure_unique, get_row
from callcenter.app.validation import check_text, flush_unique, utc_now
from callcenter.domain.campaign import (
    CampaignCannotStart,
    CampaignSettings,
    Command,
    Lifecycle,
    Revision,
    RevisionCannotRun,
    SelfApproval,
    State,
    cannot_start,
    start_violations,
    step,
)
from callcenter.domain.compliance import ComplianceViolation
from callcenter.errors import InvalidInput, NotFound
from callcenter.store.tables import (
    AuditRow,
    CampaignRow,
    CampaignVersionRow,
    DispositionRow,
    GroupRow,
    LeadListRow,
    ProductRow,
    ScriptRow,
)
from callcenter.store.uow import UnitOfWork

VIEW = "campaign.view"
# The audited actions that change what an approval freezes (their actors are authors).
AUTHORING = ("campaign.create", "campaign.update", "lead.import.done")


@dataclass(frozen=True, slots=True)
class ApprovedVersion:
    """What the dialer runs: a frozen version's settings, script and lead lists."""

    campaign_id: int
    version: int
    settings: CampaignSettings
    list_ids: tuple[int, ...]
    script_body: str
    running: bool


def lifecycle_of(row: CampaignRow) -> Lifecycle:
    return Lifecycle(
        campaign_id=row.id,
        state=State(row.state),
        revision=Revision(row.revision),
        version=row.version,
        author_id=row.author_id,
    )


class CampaignService:
    async def get(self, uow: UnitOfWork, campaign_id: int) -> CampaignRow:
        return await get_row(uow, CampaignRow, campaign_id, kind="campaign")

    async def list_campaigns(self, uow: UnitOfWork) -> list[CampaignRow]:
        return list(await uow.session.scalars(select(CampaignRow).order_by(CampaignRow.id)))

    async def create(
        self,
        uow: UnitOfWork,
        actor: Actor,
        *,
        name: str,
        description: str,
        settings: dict[str, Any],
    ) -> CampaignRow:
        name = _name(name)
        parsed = CampaignSettings.parse(settings)
        await self._check_references(uow, parsed)
        await ensure_unique(uow, CampaignRow.name, name, ids=CampaignRow.id, kind="campaign")
        now = utc_now()
        row = CampaignRow(
            name=name,
            description=check_text("description", description),
            state=State.DRAFT,
            revision=Revision.NONE,
            settings=parsed.to_json(),
            version=0,
            author_id=actor.agent_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        await flush_unique(uow, "campaign", name)
        audit.record(
            uow,
            actor,
            "campaign.create",
            target_type="campaign",
            target_id=row.id,
            detail={"name": name},
        )
        self._changed(uow, row)
        await uow.commit()
        return row

    async def update(
        self,
        uow: UnitOfWork,
        actor: Actor,
        campaign_id: int,
        *,
        name: str | None,
        description: str | None,
        settings: dict[str, Any] | None,
    ) -> CampaignRow:
        """Change the working copy; on an approved campaign this opens a revision."""
        row = await self.get(uow, campaign_id)
        changes: dict[str, Any] = {}
        if name is not None:
            name = _name(name)
            await ensure_unique(
                uow, CampaignRow.name, name, ids=CampaignRow.id, kind="campaign", other_than=row.id
            )
            changes["name"] = name
        if description is not None:
            changes["description"] = check_text("description", description)
        if settings is not None:
            parsed = CampaignSettings.parse(settings)
            await self._check_references(uow, parsed)
            changes["settings"] = parsed.to_json()
        self._apply(row, step(lifecycle_of(row), Command.EDIT, actor_id=actor.agent_id))
        for key, value in changes.items():
            setattr(row, key, value)
        await flush_unique(uow, "campaign", row.name)
        audit.record(
            uow,
            actor,
            "campaign.update",
            target_type="campaign",
            target_id=row.id,
            detail={k: v for k, v in changes.items() if k != "settings"}
            | {"settings_changed": "settings" in changes},
        )
        self._changed(uow, row)
        await uow.commit()
        return row

    async def note_change(self, uow: UnitOfWork, actor: Actor, row: CampaignRow) -> None:
        """Something frozen by approval changed (a lead list was added): needs approval."""
        self._apply(row, step(lifecycle_of(row), Command.EDIT, actor_id=actor.agent_id))
        self._changed(uow, row)

    async def command(
        self, uow: UnitOfWork, actor: Actor, campaign_id: int, command: Command
    ) -> CampaignRow:
        """Submit, approve, reject, start, pause, resume or finish."""
        if command is Command.EDIT:
            raise InvalidInput(
                field="command", reason_zh="请用修改接口", reason_en="edit through PATCH"
            )
        row = await self.get(uow, campaign_id)
        before = lifecycle_of(row)
        after = step(before, command, actor_id=actor.agent_id)
        if command is Command.APPROVE and actor.agent_id in await self._authors(uow, row.id):
            raise SelfApproval(campaign_id=row.id)
        detail: dict[str, Any] = {"from": row.state, "revision": row.revision}
        violations = await self._violations(uow, row, command)
        if violations:
            audit.record(
                uow,
                actor,
                f"campaign.{command}",
                target_type="campaign",
                target_id=row.id,
                outcome="failed",
                detail={"violations": [v.code for v in violations]},
            )
            await uow.commit()
            error = RevisionCannotRun if command is Command.APPROVE else CampaignCannotStart
            raise cannot_start(row.id, violations, error)
        if command is Command.APPROVE:
            detail["version"] = await self._freeze(uow, actor, row, after.version)
        self._apply(row, after)
        audit.record(
            uow,
            actor,
            f"campaign.{command}",
            target_type="campaign",
            target_id=row.id,
            detail=detail | {"to": row.state},
        )
        self._changed(uow, row)
        await uow.commit()
        return row

    async def _authors(self, uow: UnitOfWork, campaign_id: int) -> set[int]:
        """Everyone who changed what the next approval freezes, since the last approval.

        The campaign keeps only its last editor (``author_id``); the audit log has them
        all: who created or changed it, and who added a lead list to it.
        """
        target = (AuditRow.target_type == "campaign", AuditRow.target_id == str(campaign_id))
        last = await uow.session.scalar(
            select(func.max(AuditRow.id)).where(
                *target, AuditRow.action == "campaign.approve", AuditRow.outcome == "ok"
            )
        )
        changes = select(AuditRow.actor_id).where(
            *target,
            AuditRow.action.in_(AUTHORING),
            AuditRow.outcome == "ok",
            AuditRow.actor_id.is_not(None),
            AuditRow.id > (last or 0),
        )
        return {agent_id for agent_id in await uow.session.scalars(changes) if agent_id}

    async def _violations(
        self, uow: UnitOfWork, row: CampaignRow, command: Command
    ) -> list[ComplianceViolation]:
        """What forbids the command: the compliance start-up checks of what would dial.

        Starting or resuming dials the approved version. A running campaign dials a
        newly approved version at once, so approving its change checks the change.
        """
        if command in (Command.START, Command.RESUME):
            version = await self.approved(uow, row.id)
            assert version is not None  # approved, running and paused campaigns have one
            return start_violations(row.id, version.settings)
        if command is Command.APPROVE and row.state == State.RUNNING:
            return start_violations(row.id, CampaignSettings.parse(row.settings))
        return []

    async def versions(self, uow: UnitOfWork, campaign_id: int) -> list[CampaignVersionRow]:
        await self.get(uow, campaign_id)
        rows = await uow.session.scalars(
            select(CampaignVersionRow)
            .where(CampaignVersionRow.campaign_id == campaign_id)
            .order_by(CampaignVersionRow.version)
        )
        return list(rows)

    async def approved(self, uow: UnitOfWork, campaign_id: int) -> ApprovedVersion | None:
        """The version the dialer runs, or None before the first approval."""
        row = await self.get(uow, campaign_id)
        if row.version == 0:
            return None
        frozen = await uow.session.scalar(
            select(CampaignVersionRow).where(
                CampaignVersionRow.campaign_id == campaign_id,
                CampaignVersionRow.version == row.version,
            )
        )
        assert frozen is not None
        snapshot = frozen.settings
        return ApprovedVersion(
            campaign_id=campaign_id,
            version=frozen.version,
            settings=CampaignSettings.parse(snapshot["settings"]),
            list_ids=tuple(snapshot["list_ids"]),
            script_body=snapshot["script"]["body"] if snapshot["script"] else "",
            running=row.state == State.RUNNING,
        )

    async def _freeze(self, uow: UnitOfWork, actor: Actor, row: CampaignRow, version: int) -> int:
        settings = CampaignSettings.parse(row.settings)
        script = None
        if settings.script_id is not None:
            found = await uow.session.get(ScriptRow, settings.script_id)
            if found is None:
                raise NotFound(kind="script", id=settings.script_id)
            script = {"id": found.id, "name": found.name, "body": found.body}
        list_ids = list(
            await uow.session.scalars(
                select(LeadListRow.id)
                .where(LeadListRow.campaign_id == row.id)
                .order_by(LeadListRow.id)
            )
        )
        uow.session.add(
            CampaignVersionRow(
                campaign_id=row.id,
                version=version,
                settings={
                    "name": row.name,
                    "description": row.description,
                    "settings": settings.to_json(),
                    "script": script,
                    "list_ids": list_ids,
                },
                author_id=row.author_id,
                approved_by=actor.agent_id,
                approved_by_no=actor.agent_no[:20],
                approved_at=utc_now(),
            )
        )
        return version

    async def _check_references(self, uow: UnitOfWork, settings: CampaignSettings) -> None:
        """Every script, product, disposition and group the settings name exists."""
        wanted: list[tuple[str, Any, tuple[int, ...]]] = [
            ("script", ScriptRow, (settings.script_id,) if settings.script_id else ()),
            ("product", ProductRow, settings.product_ids),
            ("disposition", DispositionRow, settings.disposition_ids),
            ("group", GroupRow, settings.group_ids),
        ]
        for kind, table, ids in wanted:
            if not ids:
                continue
            found = set(await uow.session.scalars(select(table.id).where(table.id.in_(ids))))
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(kind=kind, id=missing[0])

    @staticmethod
    def _apply(row: CampaignRow, lifecycle: Lifecycle) -> None:
        row.state = lifecycle.state
        row.revision = lifecycle.revision
        row.version = lifecycle.version
        row.author_id = lifecycle.author_id
        row.updated_at = utc_now()

    @staticmethod
    def _changed(uow: UnitOfWork, row: CampaignRow) -> None:
        uow.emit(
            "campaign.changed",
            {"id": row.id, "state": row.state, "revision": row.revision, "version": row.version},
            VIEW,
        )


def _name(name: str) -> str:
    name = check_text("name", name)
    if not name:
        raise InvalidInput(field="name", reason_zh="名称不能为空", reason_en="name is empty")
    return name
