"""Shared fixtures: databases on SQLite and a throwaway PostgreSQL, and an API client.

Every test that takes ``database_url`` (directly or through ``api``) runs twice, once
per backend, so the same schema and the same behaviour are checked on both.

`make test` runs the suite on two pytest-xdist workers (``-n 2 --dist loadgroup``). Each
worker has its own session fixtures (its own PostgreSQL cluster on a free port, its own
temporary directories), and `pytest_collection_modifyitems` below keeps together the
tests that must share a worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callcenter.config import Settings, load_settings
from callcenter.store import migrate
from callcenter.store.throwaway import ThrowawayCluster
from callcenter.web.app import create_app
from cctest import Api, make_platform, seed_admin

# Scopes wider than a test but narrower than the session: the tests that share such a
# fixture run on one worker, so the fixture (a server, a media engine) is set up once.
_SHARED_SCOPES = frozenset({"package", "module", "class"})
# A worker's PostgreSQL cluster lives in shared memory when there is room for it (about
# 12 MB a test database, a hundred or so of them, and the write-ahead log).
_SHM = Path("/dev/shm")
_SHM_NEEDED = 4 * 2**30
# Tests that run real-time SIP and media peers (timed audio, retransmission timers) or
# the media relays' loss-free smoke benchmark run one after another on one worker, never
# against each other; so do the browser tests, in a group of their own (the two groups
# are the longest chains of the suite, and may run side by side).
_REALTIME_MARKERS = ("sipp", "baresip")
_REALTIME_PATHS = ("tests/integration/media/test_bench_media.py",)
_BROWSER_PATHS = ("tests/e2e/",)


def _xdist_group(item: pytest.Item) -> str | None:
    path = item.nodeid.split("::", 1)[0]
    if path.startswith(_BROWSER_PATHS):
        return "browser"
    if path.startswith(_REALTIME_PATHS) or any(
        item.get_closest_marker(name) for name in _REALTIME_MARKERS
    ):
        return "realtime"
    if not isinstance(item, pytest.Function):
        return None
    shared = sorted(
        name
        for name, definitions in item._fixtureinfo.name2fixturedefs.items()
        if definitions and definitions[-1].scope in _SHARED_SCOPES
    )
    if not shared:
        return None
    # A parametrized shared fixture is set up once per parameter: one group for each.
    callspec = getattr(item, "callspec", None)
    indices: dict[str, int] = callspec.indices if callspec is not None else {}
    return "|".join([path, *(f"{name}={indices[name]}" for name in shared if name in indices)])


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist") or not config.getoption("loadgroup", False):
        return
    for item in items:
        group = _xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster]:
    if os.environ.get("CALLCENTER_TEST_POSTGRES") == "0":
        pytest.skip("CALLCENTER_TEST_POSTGRES=0: PostgreSQL runs switched off by hand")
    cluster = ThrowawayCluster()
    if _SHM.is_dir() and shutil.disk_usage(_SHM).free >= _SHM_NEEDED:
        # In memory, each test's copy of the template is made in a third of the time and
        # the hundred copies are gone at the end in a moment; the data is thrown away.
        shutil.rmtree(cluster.root)
        cluster.root = Path(tempfile.mkdtemp(prefix="callcenter-pg-", dir=_SHM))
    with cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_template(pg_cluster: ThrowawayCluster) -> str:
    url = pg_cluster.create_database()
    migrate.upgrade(url)
    return url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "callcenter.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of its own for each test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "callcenter.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    cluster: ThrowawayCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(template=request.getfixturevalue("pg_template"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        environ={},
        overrides={"data_dir": str(tmp_path), "database": {"url": database_url}},
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    platform = make_platform(settings)
    app = create_app(platform)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        assert client.portal is not None
        client.portal.call(seed_admin, platform)
        yield Api(client, platform)
