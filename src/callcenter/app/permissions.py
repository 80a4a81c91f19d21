"""The permission catalogue: one code per button of the UI.

A role holds codes; a person holds roles; what a person may do is the union of their
roles' codes (the built-in ``admin`` role holds every code, present and future). Each
code names the screen it belongs to (``menu``) and carries its label in Chinese and
English, so the administration screen can show the matrix without a second table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Permission:
    code: str
    menu: str
    zh: str
    en: str


_CATALOGUE: Final[tuple[Permission, ...]] = (
    # 坐席管理 / agents
    Permission("agent.view", "agents", "查看坐席", "View agents"),
    Permission("agent.create", "agents", "新增坐席", "Create agent"),
    Permission("agent.update", "agents", "修改坐席", "Edit agent"),
    Permission("agent.delete", "agents", "删除坐席", "Delete agent"),
    Permission("agent.reset_password", "agents", "重置密码", "Reset password"),
    Permission("agent.unlock", "agents", "解除锁定", "Unlock account"),
    Permission("agent.assign_roles", "agents", "分配角色", "Assign roles"),
    # 坐席组 / groups
    Permission("group.view", "groups", "查看坐席组", "View groups"),
    Permission("group.create", "groups", "新增坐席组", "Create group"),
    Permission("group.update", "groups", "修改坐席组", "Edit group"),
    Permission("group.delete", "groups", "删除坐席组", "Delete group"),
    Permission("group.members", "groups", "管理组成员", "Manage members"),
    # 角色管理及授权 / roles
    Permission("role.view", "roles", "查看角色", "View roles"),
    Permission("role.create", "roles", "新增角色", "Create role"),
    Permission("role.update", "roles", "修改角色权限", "Edit role permissions"),
    Permission("role.delete", "roles", "删除角色", "Delete role"),
    # 审计 / audit
    Permission("audit.view", "audit", "查看审计日志", "View audit trail"),
    # 集成 / integrations
    Permission("token.manage", "integrations", "管理 API 令牌", "Manage API tokens"),
    # 班长席 / supervisor console (routes arrive with the CTI core)
    Permission("supervisor.monitor", "supervisor", "监控坐席", "Monitor agents"),
    Permission("supervisor.listen", "supervisor", "监听", "Listen"),
    Permission("supervisor.whisper", "supervisor", "密语", "Whisper"),
    Permission("supervisor.barge", "supervisor", "强插", "Barge in"),
    Permission("supervisor.takeover", "supervisor", "接管", "Take over"),
    Permission("supervisor.force_hangup", "supervisor", "强拆", "Force hang-up"),
    Permission("supervisor.force_logout", "supervisor", "强制签出", "Force log-out"),
    Permission("supervisor.force_state", "supervisor", "强制示闲/示忙", "Force ready/not ready"),
    # 话务员操作台 / agent desktop
    Permission("desk.use", "desktop", "签入签出、示闲示忙", "Log in, ready / not ready"),
    Permission("call.answer", "desktop", "接听", "Answer"),
    Permission("call.dial", "desktop", "外拨", "Dial"),
    Permission("call.transfer", "desktop", "转接", "Transfer"),
    Permission("call.conference", "desktop", "三方通话", "3-way call"),
    Permission("preview.accept", "desktop", "预览外呼：拨打", "Preview: dial"),
    Permission("preview.skip", "desktop", "预览外呼：跳过", "Preview: skip"),
    # 报表 / reports
    Permission("report.view", "reports", "查看报表", "View reports"),
    Permission("report.export", "reports", "导出报表", "Export reports"),
    # 外呼任务 / campaigns (routes arrive with the dialer)
    Permission("campaign.view", "campaigns", "查看外呼任务", "View campaigns"),
    Permission("campaign.create", "campaigns", "新建外呼任务", "Create campaign"),
    Permission("campaign.approve", "campaigns", "审批外呼任务", "Approve campaign"),
    Permission("campaign.control", "campaigns", "启动/暂停外呼任务", "Start/pause campaign"),
    Permission("campaign.edit", "campaigns", "修改外呼任务", "Edit campaign"),
    Permission("campaign.export", "campaigns", "导出营销结果", "Export results"),
    # 名单 / leads
    Permission("lead.view", "leads", "查看名单", "View leads"),
    Permission("lead.import", "leads", "导入名单", "Import leads"),
    # 黑名单 / blacklist and do-not-call
    Permission("blacklist.view", "blacklist", "查看黑名单", "View blacklist"),
    Permission("blacklist.manage", "blacklist", "管理黑名单", "Manage blacklist"),
    # 产品属性、营销脚本、呼叫结果 / products, scripts, dispositions
    Permission("product.view", "products", "查看产品", "View products"),
    Permission("product.manage", "products", "管理产品属性", "Manage products"),
    Permission("script.view", "scripts", "查看营销脚本", "View scripts"),
    Permission("script.manage", "scripts", "管理营销脚本", "Manage scripts"),
    Permission("disposition.view", "dispositions", "查看呼叫结果", "View dispositions"),
    Permission("disposition.manage", "dispositions", "管理呼叫结果", "Manage dispositions"),
    Permission("result.record", "desktop", "登记呼叫结果", "Record call result"),
)

CATALOGUE: Final[dict[str, Permission]] = {p.code: p for p in _CATALOGUE}
ALL_CODES: Final[frozenset[str]] = frozenset(CATALOGUE)

ADMIN_ROLE: Final = "admin"
TEAM_LEADER_ROLE: Final = "team_leader"
AGENT_ROLE: Final = "agent"


@dataclass(frozen=True, slots=True)
class BuiltinRole:
    code: str
    name: str
    description: str
    permissions: frozenset[str]


BUILTIN_ROLES: Final[tuple[BuiltinRole, ...]] = (
    BuiltinRole(ADMIN_ROLE, "管理员", "Administrator: every permission", ALL_CODES),
    BuiltinRole(
        TEAM_LEADER_ROLE,
        "班长",
        "Team leader: supervises agents and groups",
        frozenset(
            {"agent.view", "agent.unlock", "group.view", "group.members", "role.view"}
            | {c for c in ALL_CODES if c.startswith(("supervisor.", "call.", "desk.", "report."))}
            | {"campaign.view"}
            | {"lead.view", "blacklist.view", "product.view", "script.view", "disposition.view"}
            | {"result.record"}
            | {"preview.accept", "preview.skip"}
        ),
    ),
    BuiltinRole(
        AGENT_ROLE,
        "坐席",
        "Agent: takes and makes calls",
        frozenset({"desk.use", "call.answer", "call.dial", "call.transfer", "call.conference"})
        | frozenset({"result.record", "script.view", "product.view", "disposition.view"})
        | frozenset({"lead.view"})
        | frozenset({"preview.accept", "preview.skip"}),
    ),
)


def effective_permissions(role_codes: set[str], granted: set[str]) -> frozenset[str]:
    """What a person may do: every code for an admin, else what their roles grant."""
    if ADMIN_ROLE in role_codes:
        return ALL_CODES
    return frozenset(granted & ALL_CODES)
