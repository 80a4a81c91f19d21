"""The outbound services an operator manages, built together because they share pieces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcenter.app.blacklist import BlacklistService
from callcenter.app.bus import EventBus
from callcenter.app.campaigns import CampaignService
from callcenter.app.dispositions import DispositionService
from callcenter.app.lead_import import LeadImportService
from callcenter.app.leads import LeadService
from callcenter.app.products import ProductService
from callcenter.app.results import ResultService
from callcenter.app.scripts import ScriptService
from callcenter.store.uow import UnitOfWork


@dataclass(eq=False)
class Outbound:
    campaigns: CampaignService
    blacklist: BlacklistService
    leads: LeadService
    imports: LeadImportService
    products: ProductService
    scripts: ScriptService
    dispositions: DispositionService
    results: ResultService

    @classmethod
    def build(
        cls, uow: Callable[[], UnitOfWork], bus: EventBus, *, default_region: str = "CN"
    ) -> Outbound:
        campaigns = CampaignService()
        blacklist = BlacklistService(default_region)
        return cls(
            campaigns=campaigns,
            blacklist=blacklist,
            leads=LeadService(campaigns, blacklist),
            imports=LeadImportService(
                campaigns, blacklist, uow, bus, default_region=default_region
            ),
            products=ProductService(),
            scripts=ScriptService(),
            dispositions=DispositionService(),
            results=ResultService(campaigns, blacklist),
        )

    async def close(self) -> None:
        """Stop imports still running (each is marked failed; nothing half-written)."""
        await self.imports.close()
