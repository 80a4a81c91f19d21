"""Fixtures of the SIP switch's tests; the helpers themselves are in tests/sipkit.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from callcenter.media.client import EngineClient


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def engine() -> AsyncIterator[EngineClient]:
    """A media engine process (ports 41000-41998) shared by a test module's tests."""
    client = await EngineClient(port_min=41000, port_max=41998).start()
    try:
        yield client
    finally:
        await client.close()
