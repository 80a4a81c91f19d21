"""The admin tables' shared lookups (app/crud.py): names and codes are unique per table,
a row may keep its own name, and a missing row is not-found."""

from __future__ import annotations

import pytest

from integration.campaigns.campaign_kit import Kit

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.mark.parametrize("path", ["/scripts", "/products"])
def test_a_name_is_taken_once_per_table_and_a_row_keeps_its_own(kit: Kit, path: str) -> None:
    """Two rows; the second may not take the first's name, the first may keep it."""
    first = kit.ok("POST", path, 201, json={"name": "开场白"})
    second = kit.ok("POST", path, 201, json={"name": "结束语"})
    clash = kit.api.call("POST", path, json={"name": "开场白"})
    assert (clash.status_code, clash.json()["error"]) == (409, "already-exists")
    rename = kit.api.call("PATCH", f"{path}/{second['id']}", json={"name": "开场白"})
    assert (rename.status_code, rename.json()["error"]) == (409, "already-exists")
    kept = kit.ok("PATCH", f"{path}/{first['id']}", json={"name": "开场白"})
    assert kept["name"] == "开场白"
    assert kit.api.call("PATCH", f"{path}/2147483000", json={"name": "x"}).status_code == 404
    assert kit.api.call("DELETE", f"{path}/2147483000").status_code == 404


def test_a_disposition_code_is_taken_once(kit: Kit) -> None:
    """A second disposition with the same code is refused; a missing one is not-found."""
    body = {"code": "vip", "name": "重要客户", "flags": ["contact"], "outcome": "answered"}
    kit.ok("POST", "/dispositions", 201, json=body)
    clash = kit.api.call("POST", "/dispositions", json={**body, "name": "另一个"})
    assert (clash.status_code, clash.json()["error"]) == (409, "already-exists")
    missing = kit.api.call("PATCH", "/dispositions/2147483000", json={"name": "x"})
    assert (missing.status_code, missing.json()["error"]) == (404, "not-found")


def test_each_change_leaves_one_audit_row_naming_the_row(kit: Kit) -> None:
    """Create, rename and delete a script: three audit rows, each on the script."""
    script = kit.ok("POST", "/scripts", 201, json={"name": "开场白"})
    kit.ok("PATCH", f"/scripts/{script['id']}", json={"name": "问候"})
    kit.ok("DELETE", f"/scripts/{script['id']}", 204)
    page = kit.ok("GET", "/audit", params={"action": "script.", "target_id": str(script["id"])})
    rows = sorted(page["items"], key=lambda r: r["id"])
    assert [(r["action"], r["target_type"], r["detail"]) for r in rows] == [
        ("script.create", "script", {"name": "开场白"}),
        ("script.update", "script", {"name": "问候"}),
        ("script.delete", "script", {"name": "问候"}),
    ]
