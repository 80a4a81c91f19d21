from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from callcenter.config import load_settings
from callcenter.web.app import create_app
from cctest import make_platform


def _client(ui: Path) -> TestClient:
    platform = make_platform(load_settings(environ={}))
    return TestClient(create_app(platform, manage_lifecycle=False, ui_dir=ui))


def test_the_built_ui_is_served_with_a_fallback_for_client_routes(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>坐席</html>", encoding="utf-8")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("no")
    client = _client(tmp_path)
    assert client.get("/").text == "<html>坐席</html>"
    assert client.get("/admin/agents").text == "<html>坐席</html>"
    assert client.get("/assets/app.js").text == "console.log(1)"
    assert client.get("/../secret.txt").text != "no"
    assert client.get("/%2e%2e/secret.txt").text != "no"
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]) == (404, "not-found")
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_without_a_built_ui_only_the_api_answers(tmp_path: Path) -> None:
    client = _client(tmp_path)
    assert client.get("/").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 200
