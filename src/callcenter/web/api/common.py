"""What every router shares: documented error answers and id parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from callcenter.web.schemas import ErrorOut

_ERRORS = {
    400: "请求体不是合法的 JSON / malformed JSON",
    401: "未登录 / not logged in",
    403: "没有权限 / permission denied",
    404: "不存在 / not found",
    409: "冲突 / conflict with the current state",
    422: "输入无效 / invalid input",
    423: "账号已锁定 / account locked",
    503: "电话功能未启用 / telephony is not running",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in _ERRORS.items()
}

MAX_ID = 2**31 - 1
AgentId = Annotated[int, Path(ge=1, le=MAX_ID)]
GroupId = Annotated[int, Path(ge=1, le=MAX_ID)]
RoleId = Annotated[int, Path(ge=1, le=MAX_ID)]
TokenId = Annotated[int, Path(ge=1, le=MAX_ID)]
MembershipId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
