"""Helpers for tests that run real SIP peers (SIPp, baresip) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path


def free_udp_port(*, also_next: bool = False) -> int:
    """A UDP port on 127.0.0.1 that is free now (and port + 1 too, for baresip)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if not also_next:
            return port
        if port >= 65534:
            continue
        try:
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
                socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp_next,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp_next,
            ):
                udp.bind(("127.0.0.1", port))
                tcp.bind(("127.0.0.1", port))
                tcp_next.bind(("127.0.0.1", port + 1))
                udp_next.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free UDP port pair on 127.0.0.1")


async def start_peer(*argv: str, cwd: Path, log: str = "peer.log") -> asyncio.subprocess.Process:
    """Start a peer with its output in ``cwd/log`` (a file: a pipe could fill up)."""
    with (cwd / log).open("wb") as log_file:
        return await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file
        )


async def stop(process: asyncio.subprocess.Process) -> None:
    """Kill the peer if it still runs, and reap it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


def peer_log(cwd: Path, log: str = "peer.log") -> str:
    return (cwd / log).read_text(errors="replace")[-3000:]
