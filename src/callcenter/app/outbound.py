"""The outbound services an operator manages, built together because they share pieces."""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.app.blacklist import BlacklistService
from callcenter.app.campaigns import CampaignService
from callcenter.app.dispositions import DispositionService
from callcenter.app.leads import LeadService
from callcenter.app.products import ProductService
from callcenter.app.results import ResultService
from callcenter.app.scripts import ScriptService


@dataclass(eq=False)
class Outbound:
    campaigns: CampaignService
    blacklist: BlacklistService
    leads: LeadService
    products: ProductService
    scripts: ScriptService
    dispositions: DispositionService
    results: ResultService

    @classmethod
    def build(cls, *, default_region: str = "CN") -> Outbound:
        campaigns = CampaignService()
        blacklist = BlacklistService(default_region)
        return cls(
            campaigns=campaigns,
            blacklist=blacklist,
            leads=LeadService(campaigns, blacklist),
            products=ProductService(),
            scripts=ScriptService(),
            dispositions=DispositionService(),
            results=ResultService(campaigns, blacklist),
        )
