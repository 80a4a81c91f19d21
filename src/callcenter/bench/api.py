"""`callcenter bench api`: authenticated reads per second and p99 latency, SQLite vs PostgreSQL.

Each backend gets a fresh database with 50 agents, a server in its own process (one
uvicorn worker on uvloop, as `callcenter serve` runs), and a load generator in this
process keeping a fixed number of requests in flight for a fixed time against
``GET /api/v1/agents?limit=20`` with a bearer token (token check, permission check,
two queries, JSON). Figures: completed requests per second and the 99th percentile
latency seen by the client. Errors are counted and make the run fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx2
import numpy as np

from callcenter.bench.harness import ServerProcess
from callcenter.store.throwaway import ThrowawayCluster

ADMIN = "bench"
ADMIN_PASSWORD = "bench-password"
CONCURRENCY = 8
WARM_UP_SECONDS = 1.0
READ_PATH = "/api/v1/agents?limit=20"


def _seed(url: str) -> dict[str, str]:
    token = httpx2.post(
        f"{url}/api/v1/auth/token",
        json={"agent_no": ADMIN, "password": ADMIN_PASSWORD, "name": "bench"},
        timeout=30,
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=30) as client:
        for n in range(50):
            response = client.post(
                "/api/v1/agents",
                json={"agent_no": f"{1000 + n}", "name": f"坐席 {n}", "password": "password-1"},
            )
            response.raise_for_status()
    return headers


async def _load(url: str, headers: dict[str, str], seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:
        warm_until = time.perf_counter() + WARM_UP_SECONDS
        stop_at = warm_until + seconds

        async def worker() -> None:
            nonlocal errors
            while (started := time.perf_counter()) < stop_at:
                response = await client.get(READ_PATH)
                if response.status_code != 200:
                    errors += 1
                elif started >= warm_until:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies, errors


def measure(database_url: str, data_dir: Path, seconds: float) -> dict[str, float]:
    server = ServerProcess.start(data_dir, database_url, ADMIN, ADMIN_PASSWORD)
    try:
        headers = _seed(server.url)
        latencies, errors = asyncio.run(_load(server.url, headers, seconds))
    finally:
        server.stop()
    if errors:
        raise RuntimeError(f"{errors} requests failed")
    return {
        "rps": round(len(latencies) / seconds, 1),
        "p99_ms": round(float(np.percentile(np.array(latencies), 99)) * 1000, 2),
        "requests": len(latencies),
    }


def run(seconds: float) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with ExitStack() as stack:
        root = Path(tempfile.mkdtemp(prefix="callcenter-bench-"))
        stack.callback(shutil.rmtree, root, True)
        sqlite_dir = root / "sqlite"
        sqlite_dir.mkdir()
        results["sqlite"] = measure(f"sqlite:///{sqlite_dir / 'cc.db'}", sqlite_dir, seconds)
        cluster = stack.enter_context(ThrowawayCluster())
        pg_dir = root / "postgresql"
        pg_dir.mkdir()
        results["postgresql"] = measure(cluster.create_database(), pg_dir, seconds)
    return results


def main(args: argparse.Namespace) -> int:
    results = run(args.seconds)
    if args.json:
        print(json.dumps(results))  # noqa: T201
        return 0
    report: list[str] = [
        f"GET {READ_PATH} with a bearer token, {CONCURRENCY} in flight, {args.seconds:g} s each",
        f"{'backend':<12}{'req/s':>10}{'p99 ms':>10}",
    ]
    report += [f"{name:<12}{r['rps']:>10.1f}{r['p99_ms']:>10.2f}" for name, r in results.items()]
    ratio = results["postgresql"]["rps"] / results["sqlite"]["rps"]
    report.append(f"postgresql / sqlite throughput ratio: {ratio:.2f}")
    print("\n".join(report))  # noqa: T201
    return 0
