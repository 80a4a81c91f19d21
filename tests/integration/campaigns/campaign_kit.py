"""A kit for the campaign tests: campaigns taken through approval, and leads in place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from callcenter.store.tables import LeadListRow, LeadRow
from cctest import Api

APPROVER = "8001"
COMPLIANT: dict[str, Any] = {
    "safe_harbour_text": "您好，这里是星河保险，稍后回电 4008001234",
    "seller_name": "星河保险",
    "callback_number": "4008001234",
    "caller_ids": ["+861058001234"],
    "ring_seconds": 25,
    "drop_timeout": 2,
}


@dataclass
class Kit:
    api: Api
    approver_ready: bool = False

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.api.call(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def approver(self) -> str:
        """A second person who may approve (the admin authors)."""
        if not self.approver_ready:
            self.ok(
                "POST",
                "/roles",
                201,
                json={
                    "code": "approver",
                    "name": "审批人",
                    "permissions": ["campaign.view", "campaign.approve"],
                },
            )
            self.api.person(APPROVER, "approver")
            self.approver_ready = True
        return APPROVER

    def campaign(self, name: str = "双十一回访", **settings: Any) -> int:
        body = self.ok("POST", "/campaigns", 201, json={"name": name, "settings": settings})
        campaign_id: int = body["id"]
        return campaign_id

    def approve(self, campaign_id: int) -> dict[str, Any]:
        self.ok("POST", f"/campaigns/{campaign_id}/submit")
        body: dict[str, Any] = self.ok(
            "POST", f"/campaigns/{campaign_id}/approve", as_=self.approver()
        )
        return body

    def running(
        self, name: str = "双十一回访", leads: tuple[dict[str, Any], ...] = (), **settings: Any
    ) -> int:
        """A compliant campaign with these leads, approved and started."""
        campaign_id = self.campaign(name, **(COMPLIANT | settings))
        if leads:
            self.add_leads(campaign_id, *leads)
        self.approve(campaign_id)
        self.ok("POST", f"/campaigns/{campaign_id}/start")
        return campaign_id

    def add_leads(self, campaign_id: int, *leads: dict[str, Any]) -> list[int]:
        """Put leads straight into a new list (the import has its own tests)."""
        platform = self.api.platform

        async def write() -> list[int]:
            async with platform.uow() as uow:
                now = dt.datetime.now(dt.UTC)
                lead_list = LeadListRow(
                    campaign_id=campaign_id, name="test", lead_count=len(leads), created_at=now
                )
                uow.session.add(lead_list)
                await uow.session.flush()
                rows = []
                for n, lead in enumerate(leads, start=1):
                    values = {"time_zone": "Asia/Shanghai", "region": "CN", "fields": {}} | lead
                    row = LeadRow(
                        campaign_id=campaign_id,
                        list_id=lead_list.id,
                        row_no=n,
                        created_at=now,
                        **values,
                    )
                    uow.session.add(row)
                    rows.append(row)
                await uow.session.flush()
                await uow.commit()
                return [row.id for row in rows]

        assert self.api.client.portal is not None
        return self.api.client.portal.call(write)


def dispositions(kit: Kit) -> dict[str, int]:
    """The default dispositions (added once however often asked), their ids by code."""
    return {row["code"]: row["id"] for row in kit.ok("POST", "/dispositions/defaults")}
