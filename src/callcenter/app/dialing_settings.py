"""How an approved campaign version dials (外呼参数): its settings for the dialer runtime.

Theory of operation
-------------------
A campaign's approved version holds the seller's settings (the domain's
:class:`~callcenter.domain.campaign.CampaignSettings`); the dialer runtime runs on a
:class:`~callcenter.app.dialer.settings.DialerSettings`. :func:`dialer_settings` maps
one to the other, with the names of the campaign's agent groups: the dialing mode, the
campaign as the CTI engine sets it up (the safe-harbour message played to a dropped
person, the drop timeout, what a machine hears, the message of an IVR broadcast), the
caller-ID pool and its daily cap, the pre-dial policy's rules, the compliance ledger's
calendar and limit, ring time, AMD, the power ratio and the line cap, a preview
campaign's countdown and skip delay (the platform's when the campaign sets none), and
whether a predictive campaign gives up long-ringing calls (提前放弃振铃: only predictive
mode has the forecast it needs, so the choice is dropped in every other mode).

It is a pure function of the version: the running platform
(:class:`~callcenter.app.dialing.Dialing`) calls it each time a version is approved.
"""

from __future__ import annotations

from typing import Final

from callcenter.app.campaigns import ApprovedVersion
from callcenter.app.cti.outbound import Broadcast, CampaignSetup, MachineAction
from callcenter.app.dialer import DialerSettings, DialingMode
from callcenter.domain import campaign as domain
from callcenter.domain.campaign import AmdAction, CampaignSettings, policy_rules
from callcenter.domain.compliance import LedgerConfig

__all__ = ["dialer_settings", "safe_harbour_message"]

_MODES: Final = {
    domain.DialingMode.MANUAL: DialingMode.MANUAL,
    domain.DialingMode.PREVIEW: DialingMode.PREVIEW,
    domain.DialingMode.PROGRESSIVE: DialingMode.PROGRESSIVE,
    domain.DialingMode.POWER: DialingMode.POWER,
    domain.DialingMode.PREDICTIVE: DialingMode.PREDICTIVE,
    domain.DialingMode.IVR_BROADCAST: DialingMode.BROADCAST,
}


def safe_harbour_message(settings: CampaignSettings) -> str:
    """The prompt file, or the text the seller wrote, played to a dropped person."""
    return settings.safe_harbour_prompt or settings.safe_harbour_text


def dialer_settings(
    campaign_id: int,
    version: ApprovedVersion,
    groups: frozenset[str],
    *,
    preview_timeout: float = 30.0,
    preview_skip_delay: float = 3600.0,
) -> DialerSettings:
    """How the approved version dials, for the dialer runtime.

    ``preview_timeout`` and ``preview_skip_delay`` (seconds) are the platform's, taken
    by a campaign that does not set its own preview countdown and skip delay.
    """
    settings = version.settings
    mode = _MODES[settings.dialing_mode]
    own_timeout, own_skip = settings.preview_timeout_seconds, settings.preview_skip_delay_minutes
    message = safe_harbour_message(settings)
    leave_message = settings.amd_action is AmdAction.LEAVE_MESSAGE
    broadcast = None
    if mode is DialingMode.BROADCAST:
        broadcast = Broadcast(prompt=version.script_body or message)
    setup = CampaignSetup(
        campaign_id=str(campaign_id),
        groups=groups,
        safe_harbour_prompt=message,
        drop_timeout=settings.drop_timeout,
        machine_action=MachineAction.LEAVE_MESSAGE if leave_message else MachineAction.HANG_UP,
        machine_prompt=message if leave_message else None,
        broadcast=broadcast,
    )
    return DialerSettings(
        setup=setup,
        mode=mode,
        caller_id=settings.caller_ids[0] if settings.caller_ids else "",
        caller_ids=settings.caller_ids,
        caller_id_daily_cap=settings.caller_id_daily_cap,
        rules=policy_rules(settings, running=True),
        ledger=LedgerConfig(
            time_zone=settings.time_zone,
            target=settings.abandon_target,
            drop_timeout=settings.drop_timeout,
            assumed_false_positive_rate=settings.amd_false_positive_rate,
        ),
        callback_agent_wait=settings.callback_agent_wait_minutes * 60,
        preview_timeout=preview_timeout if own_timeout is None else own_timeout,
        preview_skip_delay=preview_skip_delay if own_skip is None else own_skip * 60,
        ring_timeout=settings.ring_seconds,
        amd=settings.amd_enabled and settings.amd_action is not AmdAction.TO_AGENT,
        give_up_ringing=settings.give_up_ringing and mode is DialingMode.PREDICTIVE,
        lines_per_agent=settings.power_ratio,
        max_lines=settings.max_lines or None,
    )
