"""Shared fixtures: databases on SQLite and a throwaway PostgreSQL, and an API client.

Every test that takes ``database_url`` (directly or through ``api``) runs twice, once
per backend, so the same schema and the same behaviour are checked on both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callcenter.config import Settings, load_settings
from callcenter.store import migrate
from callcenter.store.throwaway import ThrowawayCluster
from callcenter.web.app import create_app
from cctest import Api, make_platform, seed_admin


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayCluster]:
    if os.environ.get("CALLCENTER_TEST_POSTGRES") == "0":
        pytest.skip("CALLCENTER_TEST_POSTGRES=0: PostgreSQL runs switched off by hand")
    with ThrowawayCluster() as cluster:
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
