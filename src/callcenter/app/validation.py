"""Checks shared by the people services: identifiers, names, passwords."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from callcenter.errors import AlreadyExists, InvalidInput
from callcenter.store.uow import UnitOfWork

AGENT_NO_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,19}$"
ROLE_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
WEEKDAYS_PATTERN = r"^(?!.*(.).*\1)[1-7]{1,7}$"
PASSWORD_MIN = 8
PASSWORD_MAX = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_text(field: str, value: str) -> str:
    """Names and descriptions: no control characters, no surrounding blanks."""
    if _CONTROL.search(value):
        raise InvalidInput(
            field=field,
            reason_zh=f"{field} 含有控制字符",
            reason_en=f"{field} contains control characters",
        )
    return value.strip()


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            field="password",
            reason_zh=f"密码长度须为 {PASSWORD_MIN} 到 {PASSWORD_MAX} 个字符",
            reason_en=f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
        )
    return password


def check_agent_no(agent_no: str) -> str:
    if not re.fullmatch(AGENT_NO_PATTERN, agent_no):
        raise InvalidInput(
            field="agent_no",
            reason_zh="工号只能包含字母、数字、点、下划线和连字符，最长 20 位",
            reason_en="an agent number has letters, digits, '.', '_' or '-', at most 20",
        )
    return agent_no


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int


async def flush_unique(uow: UnitOfWork, kind: str, value: str) -> None:
    """Flush, turning a unique-constraint race into AlreadyExists."""
    try:
        await uow.session.flush()
    except IntegrityError:
        await uow.session.rollback()
        raise AlreadyExists(kind=kind, value=value) from None
