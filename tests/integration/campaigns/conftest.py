"""Fixtures of the campaign tests; the kit itself is in campaign_kit.py beside this file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cctest import Api
from integration.campaigns.campaign_kit import Kit


@pytest.fixture
def kit(api: Api) -> Iterator[Kit]:
    yield Kit(api)
