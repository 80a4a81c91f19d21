"""The `callcenter` command: serve, demo, db upgrade, user create, bench NAME."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import logging
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callcenter.app.audit import SYSTEM
from callcenter.app.permissions import ADMIN_ROLE, AGENT_ROLE, TEAM_LEADER_ROLE
from callcenter.bootstrap import Platform, bootstrap
from callcenter.config import Settings, SettingsError, TelephonySettings, load_settings
from callcenter.domain.campaign import Command
from callcenter.errors import AppError
from callcenter.store import migrate
from callcenter.store.db import make_sync_engine
from callcenter.telephony import SERVICE_GROUP, bot_numbers

log = logging.getLogger("callcenter")

BENCHMARKS = {
    "api": "callcenter.bench.api",
    "acd": "callcenter.bench.acd",
    "sip": "callcenter.bench.sip",
    "media": "callcenter.bench.media",
    "dialer": "callcenter.bench.dialer",
}

BENCH_DIALER_KEYS = """\
dialer model file (YAML, every key optional; defaults are agents-20):
  agents: 20                  agents logged in (whole number, at least 1)
  human_answer: 0.25          share of dials a person answers, (0, 1]
  machine_share: 0.10         share an answering machine answers; with human_answer <= 1
  answer_delay: {mean: 15, sd: 5, min: 2, max: 29}
                              seconds to answer: log-normal, clipped to min..max
  no_answer_timeout: 30       seconds an unanswered call rings
  fast_failure_share: 0.15    share of the unanswered calls failing fast (busy, invalid)
  fast_failure_delay: 3       median seconds to such a failure
  talk: {mean: 90, cv: 0.8}   seconds of conversation: log-normal
  wrap_up: 10                 seconds of after-call work
  shift_hours: 8              length of the shift
  login: {pattern: all, spread_minutes: 0}
                              all: everyone at the start; staggered: evenly over
                              spread_minutes (an agent due after the shift
                              ends never logs in)
see docs/benchmarks.md
"""


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    http: dict[str, Any] = {}
    if getattr(args, "host", None):
        http["host"] = args.host
    if getattr(args, "port", None):
        http["port"] = args.port
    if http:
        overrides["http"] = http
    return load_settings(args.config, overrides=overrides)


def _add_common(parser: argparse.ArgumentParser, *, server: bool = False) -> None:
    parser.add_argument("--config", type=Path, help="TOML settings file")
    parser.add_argument("--data-dir", type=Path, help="where the database and recordings live")
    if server:
        parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="port to listen on (default 8080)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcenter", description="呼叫中心平台 / call center")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the platform")
    _add_common(serve, server=True)

    demo = commands.add_parser("demo", help="migrate, create demo people, and run the platform")
    _add_common(demo, server=True)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    _add_common(upgrade)
    upgrade.add_argument("--revision", default="head")
    current = db_commands.add_parser("current", help="show the schema revision")
    _add_common(current)

    user = commands.add_parser("user", help="people")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a person (the first admin)")
    _add_common(create)
    create.add_argument("--agent-no", required=True, help="工号 / agent number")
    create.add_argument("--name", required=True)
    create.add_argument("--role", action="append", dest="roles", help="role code (repeatable)")
    create.add_argument("--password-stdin", action="store_true", help="read the password")

    engine = commands.add_parser("media-engine", help="run one media engine process")
    engine.add_argument("engine_args", nargs=argparse.REMAINDER, help="see --help of the engine")

    bench = commands.add_parser(
        "bench",
        help="run a benchmark",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=BENCH_DIALER_KEYS,
    )
    bench.add_argument("name", choices=sorted(BENCHMARKS))
    bench.add_argument("--json", action="store_true", help="print figures as JSON")
    bench.add_argument("--seconds", type=float, default=5.0, help="measurement time per target")
    bench.add_argument(
        "--model", help="dialer: traffic model, agents-20|agents-5|agents-100 or FILE.yaml"
    )
    bench.add_argument("--seeds", help="dialer: comma-separated seeds (default 1,2,3,4,5)")
    bench.add_argument(
        "--policies",
        help="dialer: comma-separated policies to run (default all: predictive, "
        "predictive_give_up, progressive, best_ratio, vicidial_adapt_tapered)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["media-engine"]:  # the engine parses its own options
        from callcenter.media import engine

        return engine.main(raw[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("alembic", "httpx2", "httpcore2", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "bench":
            module = importlib.import_module(BENCHMARKS[args.name])
            result: int = module.main(args)
            return result
        settings = _settings(args)
        logging.getLogger().setLevel(settings.log_level)
        if args.command == "serve":
            return _serve(settings)
        if args.command == "demo":
            return _demo(settings)
        if args.command == "db":
            return _db(settings, args)
        if args.command == "user":
            return _user_create(settings, args)
    except SettingsError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        return 2
    except AppError as exc:
        print(f"{exc.message('zh-CN')}\n{exc.message('en')}", file=sys.stderr)  # noqa: T201
        return 1
    return 2


def _db(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "upgrade":
        before, after = migrate.upgrade(settings.database_url, args.revision)
        _say(f"数据库已迁移 / database migrated: {before or 'empty'} -> {after}")
        return 0
    engine = make_sync_engine(settings.database_url)
    try:
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    _say(f"{current or 'empty'} (head {migrate.head_revision()})")
    return 0


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    migrate.check_migrated(settings.database_url)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码 / password: ")
    roles = args.roles or [ADMIN_ROLE]

    async def create() -> None:
        platform = bootstrap(settings)
        try:
            await platform.start()
            async with platform.uow() as uow:
                await platform.agents.create_agent(
                    uow,
                    SYSTEM,
                    None,
                    agent_no=args.agent_no,
                    name=args.name,
                    password=password,
                    roles=roles,
                )
        finally:
            await platform.close()

    asyncio.run(create())
    _say(f"已创建 / created {args.agent_no} ({', '.join(roles)})")
    return 0


def _serve(settings: Settings) -> int:
    migrate.check_migrated(settings.database_url)
    import uvicorn

    from callcenter.web.app import create_app

    platform = bootstrap(settings)
    config = uvicorn.Config(
        create_app(platform),
        host=settings.http.host,
        port=settings.http.port,
        loop="uvloop",
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()
    return 0


DEMO_PEOPLE = (
    ("admin", "管理员 Admin", ADMIN_ROLE),
    ("8001", "班长 Team Leader", TEAM_LEADER_ROLE),
    ("1001", "坐席 Agent 1001", AGENT_ROLE),
    ("1002", "坐席 Agent 1002", AGENT_ROLE),
)


def _demo(settings: Settings) -> int:
    """Migrate, (re)set the demo people's passwords, print how to log in, then serve.

    Unless telephony is configured, the demo runs on the simulated network: bot agents
    take calls from simulated callers, so the API and the event stream show a live
    call center.
    """
    if settings.telephony.switch == "none":
        telephony = settings.telephony.model_copy(update={"switch": "sim"})
        settings = settings.model_copy(update={"telephony": telephony})
    migrate.upgrade(settings.database_url)
    setup = settings.model_copy(update={"telephony": TelephonySettings(switch="none")})
    logins = asyncio.run(_demo_people(setup, bot_numbers(settings.telephony)))
    url = f"http://{settings.http.host}:{settings.http.port}"
    _say("")
    _say(f"呼叫中心演示 / callcenter demo: {url}")
    _say(f"API 文档 / API docs: {url}/api/v1/docs")
    for agent_no, name, password in logins:
        _say(f"  登录 / login  工号 agent_no={agent_no:<6} 密码 password={password}   ({name})")
    sim = settings.telephony.sim
    bots = bot_numbers(settings.telephony)
    if bots:
        _say(
            f"模拟电话网 / simulated network: {len(bots)} 个机器人坐席 bot agents "
            f"({bots[0]}-{bots[-1]}), 来电 callers → {sim.did} @ {sim.calls_per_hour:g}/h"
        )
    _say(f"实时监控 / live: GET {url}/api/v1/supervisor/snapshot, WebSocket {url}/api/v1/events")
    _say(
        f"外呼演示 / campaign: 「{DEMO_CAMPAIGN}」 ({DEMO_LEADS} leads) 待审批 awaits approval: "
        f"admin 审批并启动 approves and starts it at {url}/campaigns"
    )
    _say("")
    return _serve(settings)


async def _demo_people(settings: Settings, bots: list[str]) -> list[tuple[str, str, str]]:
    """The demo people with fresh passwords, and everyone who takes calls in 客服 (service)."""
    platform = bootstrap(settings)
    logins = []
    try:
        await platform.start()
        people = [*DEMO_PEOPLE, *((n, f"机器人坐席 Bot {n}", AGENT_ROLE) for n in bots)]
        ids: dict[str, int] = {}
        for agent_no, name, role in people:
            password = secrets.token_urlsafe(9)
            async with platform.uow() as uow:
                page = await platform.agents.list_agents(uow, search=agent_no, limit=50, offset=0)
                existing = next((v for v in page.items if v.row.agent_no == agent_no), None)
                if existing is None:
                    view = await platform.agents.create_agent(
                        uow, SYSTEM, None, agent_no=agent_no, name=name, password=password,
                        roles=[role],
                    )  # fmt: skip
                else:
                    view = existing
                    await platform.agents.reset_password(uow, SYSTEM, existing.row.id, password)
                    await platform.agents.unlock(uow, SYSTEM, existing.row.id)
            ids[agent_no] = view.row.id
            if agent_no not in bots:
                logins.append((agent_no, name, password))
        async with platform.uow() as uow:
            groups = {g.name: g for g, _ in await platform.groups.list_groups(uow)}
            group = groups.get(SERVICE_GROUP) or await platform.groups.create_group(
                uow, SYSTEM, name=SERVICE_GROUP, description="客服 / inbound service"
            )
            members = {a.agent_no for _, a in await platform.groups.list_members(
                uow, group.id, active_at=None)}  # fmt: skip
            for agent_no, _, role in people:
                if role == AGENT_ROLE and agent_no not in members:
                    await platform.groups.add_member(
                        uow, SYSTEM, group.id, agent_id=ids[agent_no], start_time=None,
                        end_time=None, weekdays="1234567", skill_level=5,
                    )  # fmt: skip
        await _demo_campaign(platform, group.id)
    finally:
        await platform.close()
    return logins


DEMO_CAMPAIGN = "演示外呼 Demo campaign"
DEMO_LEADS = 300


async def _demo_campaign(platform: Platform, group_id: int) -> None:
    """A sample campaign for the bot agents with a few hundred simulated leads, left as a
    draft submitted for approval: the operator approves and starts it (nothing dials alone)."""
    async with platform.uow() as uow:
        names = {c.name for c in await platform.outbound.campaigns.list_campaigns(uow)}
    if DEMO_CAMPAIGN in names:
        return
    async with platform.uow() as uow:
        campaign = await platform.outbound.campaigns.create(
            uow, SYSTEM, name=DEMO_CAMPAIGN, description="模拟客户 / simulated customers",
            settings={
                "dialing_mode": "predictive", "group_ids": [group_id], "caller_ids": ["4008001000"],
                "windows": [{"start": "00:00", "end": "23:59"}], "ring_seconds": 25,
                "drop_timeout": 2, "seller_name": "演示公司 Demo Co.",
                "callback_number": "4008001000",
                "safe_harbour_text": "您好，这里是演示公司，稍后会有专人回电，回电请拨 4008001000",
            },
        )  # fmt: skip
    rows = "".join(f"139{n:08d},客户 {n}\n" for n in range(1, DEMO_LEADS + 1))
    async with platform.uow() as uow:
        job = await platform.outbound.imports.start(
            uow, SYSTEM, campaign.id, data=f"phone,name\n{rows}".encode(), filename="demo.csv"
        )
    await platform.outbound.imports.wait(job.id)
    async with platform.uow() as uow:
        await platform.outbound.campaigns.command(uow, SYSTEM, campaign.id, Command.SUBMIT)


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201


if __name__ == "__main__":
    raise SystemExit(main())
