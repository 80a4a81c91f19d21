"""Buttons added by a release reach the built-in roles of databases made before it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from callcenter.app.permissions import AGENT_ROLE, BUILTIN_ROLES, TEAM_LEADER_ROLE
from callcenter.store import migrate
from callcenter.store.db import make_sync_engine

PREVIEW = {"preview.accept", "preview.skip"}


def _role(connection: object, code: str, builtin: bool, grants: set[str]) -> None:
    now = dt.datetime.now(dt.UTC)
    execute = connection.execute  # type: ignore[attr-defined]
    execute(
        text(
            "INSERT INTO roles (code, name, description, builtin, created_at, updated_at) "
            "VALUES (:code, :code, '', :builtin, :now, :now)"
        ),
        {"code": code, "builtin": builtin, "now": now},
    )
    role_id = execute(text("SELECT id FROM roles WHERE code = :code"), {"code": code}).scalar()
    for grant in grants:
        execute(
            text("INSERT INTO role_permissions (role_id, permission) VALUES (:r, :p)"),
            {"r": role_id, "p": grant},
        )


def _grants(url: str) -> dict[str, set[str]]:
    engine = make_sync_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT r.code, p.permission FROM roles r "
                "JOIN role_permissions p ON p.role_id = r.id"
            )
        ).all()
    engine.dispose()
    grants: dict[str, set[str]] = {}
    for code, permission in rows:
        grants.setdefault(code, set()).add(permission)
    return grants


def test_preview_buttons_reach_built_in_roles_of_an_older_database_once(
    empty_database_url: str,
) -> None:
    """A database made before the preview desk: its built-in agent and team-leader roles
    gain the two preview buttons they are created with today; a custom role does not,
    and going back down takes exactly those grants away again."""
    url = empty_database_url
    migrate.upgrade(url, "0004")
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        _role(connection, AGENT_ROLE, True, {"desk.use", "call.answer"})
        _role(connection, TEAM_LEADER_ROLE, True, {"desk.use", "preview.skip"})
        _role(connection, "night_shift", False, {"desk.use"})
    engine.dispose()

    migrate.upgrade(url)
    grants = _grants(url)
    assert grants[AGENT_ROLE] == {"desk.use", "call.answer"} | PREVIEW
    assert grants[TEAM_LEADER_ROLE] == {"desk.use"} | PREVIEW
    assert grants["night_shift"] == {"desk.use"}
    defaults = {role.code: role.permissions for role in BUILTIN_ROLES}
    assert defaults[AGENT_ROLE] >= PREVIEW
    assert defaults[TEAM_LEADER_ROLE] >= PREVIEW

    migrate.downgrade(url, "0004")
    grants = _grants(url)
    assert grants[AGENT_ROLE] == {"desk.use", "call.answer"}
    assert grants[TEAM_LEADER_ROLE] == {"desk.use"}
