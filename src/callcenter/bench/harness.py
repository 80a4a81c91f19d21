"""Run the platform as a separate process for benchmarks and end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

from callcenter.store.throwaway import free_port


def cli_env(data_dir: Path, database_url: str, log_level: str = "WARNING") -> dict[str, str]:
    """The process environment with only our settings: data dir, database, log level."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(
        CALLCENTER_DATA_DIR=str(data_dir),
        CALLCENTER_DATABASE__URL=database_url,
        CALLCENTER_LOG_LEVEL=log_level,
    )
    return env


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_healthy(url: str, process: subprocess.Popen[str], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx2.get(f"{url}/api/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not healthy within {seconds} s")


@dataclass
class ServerProcess:
    """`callcenter serve` on a free loopback port, with a first admin created."""

    url: str
    process: subprocess.Popen[str]
    env: dict[str, str]

    @classmethod
    def start(
        cls,
        data_dir: Path,
        database_url: str,
        admin_no: str,
        admin_password: str,
        extra_env: dict[str, str] | None = None,
    ) -> ServerProcess:
        env = {**cli_env(data_dir, database_url), **(extra_env or {})}
        steps: tuple[tuple[tuple[str, ...], str], ...] = (
            (("db", "upgrade"), ""),
            (("user", "create", "--agent-no", admin_no, "--name", admin_no, "--password-stdin"),
             admin_password + "\n"),
        )  # fmt: skip
        for args, stdin in steps:
            result = run_cli(env, *args, stdin=stdin)
            if result.returncode != 0:
                raise RuntimeError(f"callcenter {' '.join(args)} failed: {result.stderr}")
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "callcenter.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
        except RuntimeError:
            process.kill()
            process.communicate()
            raise
        return cls(url, process, env)

    def stop(self) -> str:
        """Stop the server and return what it printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        output, _ = self.process.communicate()
        return output
