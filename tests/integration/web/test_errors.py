from __future__ import annotations

import enum

from fastapi import FastAPI
from fastapi.testclient import TestClient

from callcenter.domain.errors import AgentNotLoggedIn
from callcenter.web import errors


class Colour(enum.Enum):
    RED = "red"


def test_domain_errors_answer_with_their_code_status_and_language() -> None:
    """The CTI core's errors reach clients like the platform's own: code, status, message."""
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    async def boom() -> None:
        raise AgentNotLoggedIn(agent_id="1001", colour=Colour.RED)

    client = TestClient(app)
    zh = client.get("/boom")
    assert zh.status_code == 409
    assert zh.json() == {
        "error": "agent-not-logged-in",
        "message": "坐席 1001 未登录",
        "details": {"agent_id": "1001", "colour": "red"},
    }
    en = client.get("/boom", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert en.json()["message"] == "Agent 1001 is not logged in"
