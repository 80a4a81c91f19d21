"""Errors that are part of the API.

Each error has a stable ``code``, the HTTP ``status`` the web layer answers with, and a
message in Simplified Chinese and English. Messages are format strings filled from
``details``, so the person reading them sees the value that was wrong.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

Language = Literal["zh-CN", "en"]

# How a kind of thing is named in Chinese messages ("agent" -> 坐席).
KIND_ZH = {
    "agent": "坐席",
    "group": "坐席组",
    "membership": "组成员",
    "role": "角色",
    "token": "令牌",
    "campaign": "外呼任务",
    "campaign_version": "外呼任务版本",
    "lead": "名单号码",
    "lead_list": "名单",
    "import_job": "导入任务",
    "blacklist_entry": "黑名单号码",
    "product": "产品",
    "script": "营销脚本",
    "disposition": "呼叫结果",
}


class AppError(Exception):
    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    message_zh: ClassVar[str] = "服务器内部错误"
    message_en: ClassVar[str] = "internal server error"

    def __init__(self, **details: Any) -> None:
        super().__init__(self.code)
        self.details: dict[str, Any] = details

    def message(self, language: Language) -> str:
        template = self.message_zh if language == "zh-CN" else self.message_en
        values = dict(self.details)
        if language == "zh-CN" and isinstance(values.get("kind"), str):
            values["kind"] = KIND_ZH.get(values["kind"], values["kind"])
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template

    def __str__(self) -> str:
        return f"{self.code}: {self.message('en')}"


class NotFound(AppError):
    code = "not-found"
    status = 404
    message_zh = "{kind} 不存在：{id}"
    message_en = "{kind} not found: {id}"


class AlreadyExists(AppError):
    code = "already-exists"
    status = 409
    message_zh = "{kind} 已存在：{value}"
    message_en = "{kind} already exists: {value}"


class InUse(AppError):
    code = "in-use"
    status = 409
    message_zh = "{kind} 仍在使用中，不能删除：{id}"
    message_en = "{kind} is still in use and cannot be deleted: {id}"


class InvalidInput(AppError):
    code = "invalid-input"
    status = 422
    message_zh = "输入无效：{reason_zh}"
    message_en = "invalid input: {reason_en}"


class Unauthenticated(AppError):
    code = "unauthenticated"
    status = 401
    message_zh = "未登录或会话已过期，请重新登录"
    message_en = "not logged in, or the session has expired: please log in again"


class InvalidCredentials(AppError):
    code = "invalid-credentials"
    status = 401
    message_zh = "工号或密码错误"
    message_en = "wrong agent number or password"


class AccountLocked(AppError):
    code = "account-locked"
    status = 423
    message_zh = "登录失败次数过多，账号已锁定至 {locked_until}"
    message_en = "too many failed logins: the account is locked until {locked_until}"


class AccountDisabled(AppError):
    code = "account-disabled"
    status = 403
    message_zh = "账号已停用"
    message_en = "the account is disabled"


class Forbidden(AppError):
    code = "forbidden"
    status = 403
    message_zh = "没有权限：需要 {permission}"
    message_en = "permission denied: {permission} is required"


class CannotGrant(AppError):
    code = "cannot-grant"
    status = 403
    message_zh = "不能授予自己没有的权限：{permissions}"
    message_en = "you cannot grant permissions you do not hold: {permissions}"


class BuiltinRole(AppError):
    code = "builtin-role"
    status = 409
    message_zh = "内置角色 {role} 不能修改或删除"
    message_en = "the built-in role {role} cannot be changed or deleted"


class SelfLockout(AppError):
    code = "self-lockout"
    status = 409
    message_zh = "不能删除、停用或降级自己的管理员账号"
    message_en = "you cannot delete, disable or demote your own administrator account"


class DatabaseNotMigrated(AppError):
    code = "database-not-migrated"
    status = 503
    message_zh = (
        "数据库未迁移到最新版本（当前 {current}，需要 {head}）。请运行：callcenter db upgrade"
    )
    message_en = (
        "the database is not migrated (at {current}, needs {head}): run `callcenter db upgrade`"
    )


class TelephonyOff(AppError):
    code = "telephony-off"
    status = 503
    message_zh = "电话功能未启用（telephony.switch = none）"
    message_en = "telephony is not running (telephony.switch = none)"
