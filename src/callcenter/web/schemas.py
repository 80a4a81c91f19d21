"""Request and response bodies of the REST API.

Inputs are strict (no "12" for 12), reject unknown fields, and bound every string, so a
malformed request gets a 4xx before it reaches a service.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from callcenter.app.validation import (
    AGENT_NO_PATTERN,
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLE_CODE_PATTERN,
)

# Printable text: no control characters (NUL would break PostgreSQL, the rest the UI).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"

AgentNo = Annotated[str, StringConstraints(pattern=AGENT_NO_PATTERN, max_length=20)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
Description = Annotated[str, StringConstraints(max_length=256, pattern=_PRINTABLE)]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
RoleCode = Annotated[str, StringConstraints(pattern=ROLE_CODE_PATTERN, max_length=40)]
PermissionCode = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)]
SearchText = Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)]
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$", re.I)


def _rfc3339(value: object) -> object:
    """Only RFC 3339 date-times with a zone (pydantic would take "0398" as a timestamp)."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError(
            "expected an RFC 3339 date-time with a zone, e.g. 2026-11-25T09:00:00+08:00"
        )
    return value


# A moment in query parameters: RFC 3339 with its zone, as the OpenAPI document says.
Moment = Annotated[dt.datetime, BeforeValidator(_rfc3339)]

T = TypeVar("T")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int


class ErrorOut(BaseModel):
    error: str
    message: str
    details: dict[str, Any]


# -- auth -----------------------------------------------------------------------------


class LoginIn(_In):
    agent_no: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=_PRINTABLE)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]


class TokenLoginIn(LoginIn):
    name: Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)] = ""


class MyRoleOut(BaseModel):
    """One of the caller's own roles, named: readable without ``role.view``. A built-in
    role is named by the UI's catalogue in the reader's language, a custom one by ``name``."""

    code: str
    name: str
    builtin: bool


class MeOut(BaseModel):
    id: int
    agent_no: str
    name: str
    roles: list[str]
    permissions: list[str]
    role_names: list[MyRoleOut]  # the roles above, as stored (in code order)


class LoginOut(BaseModel):
    agent: MeOut
    expires_at: dt.datetime


class BearerOut(LoginOut):
    token: str
    token_type: str = "bearer"


class PasswordChangeIn(_In):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
    new_password: Password


class TokenIn(_In):
    name: Name
    days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(TokenOut):
    token: str


# -- agents ---------------------------------------------------------------------------


class AgentIn(_In):
    agent_no: AgentNo
    name: Name
    password: Password
    roles: Annotated[list[RoleCode], Field(max_length=20)] = ["agent"]
    enabled: bool = True


class AgentPatch(_In):
    name: Name | None = None
    enabled: bool | None = None


class AgentRolesIn(_In):
    roles: Annotated[list[RoleCode], Field(max_length=20)]


class PasswordResetIn(_In):
    password: Password


class AgentOut(BaseModel):
    id: int
    agent_no: str
    name: str
    enabled: bool
    roles: list[str]
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


# -- groups ---------------------------------------------------------------------------


class GroupIn(_In):
    name: Name
    description: Description = ""


class GroupPatch(_In):
    name: Name | None = None
    description: Description | None = None


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    member_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


# Times arrive as "09:00" strings in JSON, which strict mode would refuse.
LocalTime = Annotated[dt.time, Field(strict=False)]


class MembershipIn(_In):
    agent_id: Id
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    weekdays: Annotated[str, StringConstraints(pattern=r"^[1-7]{1,7}$")] = "1234567"
    skill_level: Annotated[int, Field(ge=1, le=10)] = 5


class MembershipOut(BaseModel):
    id: int
    group_id: int
    group_name: str
    agent_id: int
    agent_no: str
    agent_name: str
    start_time: dt.time | None
    end_time: dt.time | None
    weekdays: str
    skill_level: int


# -- roles and permissions ------------------------------------------------------------


class PermissionOut(BaseModel):
    code: str
    menu: str
    zh: str
    en: str


class RoleIn(_In):
    code: RoleCode
    name: Name
    description: Description = ""
    permissions: Annotated[list[PermissionCode], Field(max_length=200)] = []


class RolePatch(_In):
    name: Name | None = None
    description: Description | None = None
    permissions: Annotated[list[PermissionCode], Field(max_length=200)] | None = None


class RoleOut(BaseModel):
    id: int
    code: str
    name: str
    description: str
    builtin: bool
    permissions: list[str]


# -- audit ----------------------------------------------------------------------------


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_no: str
    action: str
    target_type: str
    target_id: str
    outcome: str
    detail: dict[str, Any]
    ip: str
    user_agent: str


class HealthOut(BaseModel):
    status: str
    version: str
    database: str


# -- agent desktop and supervisor console ------------------------------------------------

CommandId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:-]+$")]
PhoneDest = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w:+*#.@-]+$")
]
DialNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^\+?[0-9*#]+$")
]


class CommandIn(_In):
    """A command; ``command_id`` makes a retry harmless (the first answer is repeated)."""

    command_id: CommandId | None = None


class DeskLoginIn(CommandIn):
    phone: PhoneDest


class NotReadyIn(CommandIn):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[\w.-]+$")]


class DtmfIn(CommandIn):
    digits: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9*#A-D]+$")]


class DialIn(CommandIn):
    number: DialNumber
    # 手动外呼: a manual campaign's lead (both or neither), dialled through its dialer
    campaign_id: Id | None = None
    lead_id: Annotated[int, Field(ge=1, le=2**62)] | None = None


class ManualReleaseIn(CommandIn):
    """The manual campaign's lead the agent passes on."""

    campaign_id: Id
    lead_id: Annotated[int, Field(ge=1, le=2**62)]


class TransferIn(CommandIn):
    """Exactly one of: another agent, a queue, an outside number."""

    agent_no: AgentNo | None = None
    queue_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[\w.-]+$")] | None = None
    number: DialNumber | None = None


class MonitorIn(CommandIn):
    phone: PhoneDest
