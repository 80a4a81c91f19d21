"""The dialer: campaign loops on the CTI engine, leads, preview offers.

See :mod:`callcenter.app.dialer.runtime` for how a campaign dials,
:mod:`callcenter.app.dialer.leads` for the lead source port and
:mod:`callcenter.app.dialer.preview` for preview mode.
"""

from callcenter.app.dialer.leads import LeadSource, MemoryLeads
from callcenter.app.dialer.preview import PreviewDesk, PreviewOffer
from callcenter.app.dialer.runtime import CampaignDialer
from callcenter.app.dialer.settings import DialerSettings, DialerStatus, DialingMode

__all__ = [
    "CampaignDialer",
    "DialerSettings",
    "DialerStatus",
    "DialingMode",
    "LeadSource",
    "MemoryLeads",
    "PreviewDesk",
    "PreviewOffer",
]
