"""Fuzz the API from its own OpenAPI document against a real server process.

schemathesis generates valid and invalid requests for every operation, bounded per
operation, and checks that none ends in a server error and that every answer matches
the document (status codes, content types, bodies).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from callcenter.bench.harness import ServerProcess
from callcenter.store.throwaway import ThrowawayCluster
from cctest import ADMIN_NO, ADMIN_PASSWORD, start_server

# Examples per operation and mode: with about a hundred operations on two backends, six
# keep the suite's time in bounds while every operation still sees valid and invalid data.
EXAMPLES = 6
SIMULATED_NETWORK = {
    "CALLCENTER_TELEPHONY__SWITCH": "sim",
    "CALLCENTER_TELEPHONY__SIM__BOT_AGENTS": "2",
    "CALLCENTER_TELEPHONY__SIM__CALLS_PER_HOUR": "0",
}
# Operations that would end the fuzzer's own session; they have their own tests.
SKIPPED = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/me/tokens/{token_id}")}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, dict[str, str]]]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'callcenter.db'}"
    else:
        cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database()
    # Telephony on (the simulated network, two bot agents, no random callers), so the
    # desk and supervisor routes are fuzzed against a running CTI engine.
    server = start_server(data_dir, url, SIMULATED_NETWORK)
    try:
        token = httpx2.post(
            f"{server.url}/api/v1/auth/token",
            json={"agent_no": ADMIN_NO, "password": ADMIN_PASSWORD},
            timeout=10,
        ).json()["token"]
        yield server, {"Authorization": f"Bearer {token}"}
    finally:
        output = server.stop()
        assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def live_schema(live: tuple[ServerProcess, dict[str, str]]) -> Any:
    server, _ = live
    return schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_answers_every_generated_request_as_documented(
    live: tuple[ServerProcess, dict[str, str]], live_schema: Any, mode: GenerationMode
) -> None:
    """Every operation, bounded examples each, valid data then schema-violating data."""
    server, headers = live
    checks = [*CHECKS, negative_data_rejection] if mode is GenerationMode.NEGATIVE else CHECKS
    operations = [result.ok() for result in live_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=headers, checks=checks, timeout=30)

        try:
            check()
        except Unsatisfiable:
            # Only an operation with no parameters and no body has nothing to violate.
            raw = live_schema.raw_schema["paths"][operation.path][operation.method.lower()]
            assert mode is GenerationMode.NEGATIVE, operation.path
            assert not raw.get("parameters") and "requestBody" not in raw, operation.path


def test_the_server_survives_garbage(
    live: tuple[ServerProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, headers = live
    for body in (
        b"\x00" * 1000,
        b"{" * 10000,
        b'{"agent_no": "\\ud800"}',
        b"[" + b"1," * 5000 + b"1]",
    ):
        response = httpx2.post(
            f"{server.url}/api/v1/agents",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=10,
        )
        assert 400 <= response.status_code < 500, (body[:20], response.text)
    assert httpx2.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200
