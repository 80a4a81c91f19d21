from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx2

from callcenter.bench.harness import cli_env, run_cli, wait_healthy
from callcenter.store import migrate
from callcenter.store.throwaway import free_port


def test_serve_refuses_an_unmigrated_database_and_says_how_to_fix_it(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    result = run_cli(env, "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert "callcenter db upgrade" in result.stderr
    assert "数据库未迁移" in result.stderr


def test_db_upgrade_then_user_create_then_a_duplicate(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    upgraded = run_cli(env, "db", "upgrade")
    head = migrate.head_revision()
    assert upgraded.returncode == 0 and f"empty -> {head}" in upgraded.stdout
    assert f"{head} (head {head})" in run_cli(env, "db", "current").stdout
    created = run_cli(
        env, "user", "create", "--agent-no", "boss", "--name", "Boss", "--password-stdin",
        stdin="long-enough-password\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    again = run_cli(
        env, "user", "create", "--agent-no", "boss", "--name", "Boss", "--password-stdin",
        stdin="long-enough-password\n",
    )  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stderr and "已存在" in again.stderr
    short = run_cli(
        env, "user", "create", "--agent-no", "b2", "--name", "B", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert short.returncode == 1 and "8" in short.stderr


def test_a_bad_setting_stops_the_command_with_a_clear_message(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    env["CALLCENTER_HTTP__PORT"] = "not-a-port"
    result = run_cli(env, "db", "upgrade")
    assert result.returncode == 2
    assert "CALLCENTER_HTTP__PORT" in result.stderr and "invalid settings" in result.stderr


def test_demo_prints_the_url_and_logins_that_work(tmp_path: Path) -> None:
    """`callcenter demo` migrates, prints where it is and how to log in, and serves."""
    port = free_port()
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}")
    process = subprocess.Popen(
        [sys.executable, "-m", "callcenter.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "agent_no=1002" in line:
                break
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}" in text
        logins = dict(re.findall(r"agent_no=(\S+)\s+密码 password=(\S+)", text))
        assert set(logins) >= {"admin", "8001", "1001"}
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        for agent_no in ("admin", "8001", "1001"):
            response = httpx2.post(
                f"{url}/api/v1/auth/login",
                json={"agent_no": agent_no, "password": logins[agent_no]},
                timeout=10,
            )
            assert response.status_code == 200, response.text
    finally:
        process.terminate()
        process.communicate(timeout=15)
