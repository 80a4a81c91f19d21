"""A throwaway PostgreSQL cluster on loopback, for tests and benchmarks.

It runs Debian's PostgreSQL binaries from a temporary directory: ``initdb`` with trust
authentication, a server listening only on 127.0.0.1 on a free port with durability
switched off (the data is thrown away), and databases created from a migrated
template so that each test starts from a clean schema in milliseconds. As root it runs
the server as the ``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """Debian keeps the server binaries in /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.split(".")[0]),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: `apt-get install postgresql` (make test does)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCluster:
    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="callcenter-pg-"))
        self.port = free_port()
        self._names = itertools.count(1)
        self._run_as: str | None = None
        self.started = False

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._run_as:
            command = ["runuser", "-u", self._run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
            )

    def start(self) -> ThrowawayCluster:
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and no `postgres` user") from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._run_as = "postgres"
        data = self.root / "data"
        self._run(
            "initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        self.started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); returns its URL."""
        name = f"cc_{os.getpid()}_{next(self._names)}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"{clause}'.encode())
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            try:
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
            finally:
                self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ThrowawayCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
