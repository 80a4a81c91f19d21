"""Request and response bodies for campaigns, leads, blacklist, products, scripts,
dispositions and results. Strict like :mod:`callcenter.web.schemas`: unknown fields are
refused and every string is bounded; the services check meaning (dates, zones, ids).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from callcenter.web.schemas import Description, Id, Moment, Name

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(max_length=500, pattern=_PRINTABLE)]
DateText = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
TimeText = Annotated[str, StringConstraints(pattern=r"^\d{2}:\d{2}$")]
PhoneText = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=_PRINTABLE)]
CallerId = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{3,20}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Seconds = Annotated[float, Field(ge=0, le=365 * 86_400)]
Count = Annotated[int, Field(ge=0, le=1000)]
OutcomeName = Literal[
    "no-answer", "busy", "machine", "failed", "invalid-number", "abandoned", "answered", "sale"
]
FlagName = Literal[
    "sale", "contact", "do_not_call", "callback", "answering_machine", "wrong_number", "final"
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# -- campaigns ------------------------------------------------------------------------


class WindowIn(_In):
    start: TimeText
    end: TimeText
    weekdays: Annotated[str, StringConstraints(pattern=r"^[1-7]{1,7}$")] = "1234567"


class RetryRuleIn(_In):
    delay: Seconds = 0.0
    max_per_day: Count | None = None
    max_24h: Count | None = None
    max_lifetime: Count | None = None
    final: bool = False


class CampaignSettingsIn(_In):
    """Every setting is optional; what is left out takes its default."""

    start_date: DateText | None = None
    end_date: DateText | None = None
    windows: Annotated[list[WindowIn], Field(max_length=20)] | None = None
    holidays: Annotated[list[DateText], Field(max_length=366)] | None = None
    time_zone: (
        Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")] | None
    ) = None
    dialing_mode: (
        Literal["manual", "preview", "progressive", "power", "predictive", "ivr_broadcast"] | None
    ) = None
    power_ratio: Annotated[float, Field(ge=1, le=10)] | None = None
    max_lines: Annotated[int, Field(ge=0, le=10_000)] | None = None
    drop_timeout: Annotated[float, Field(ge=0, le=60)] | None = None
    safe_harbour_text: Text | None = None
    safe_harbour_prompt: (
        Annotated[str, StringConstraints(max_length=256, pattern=_PRINTABLE)] | None
    ) = None
    seller_name: Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)] | None = None
    callback_number: CallerId | None = None
    ring_seconds: Annotated[float, Field(ge=1, le=300)] | None = None
    give_up_ringing: bool | None = None  # predictive mode; ignored in the others
    caller_ids: Annotated[list[CallerId], Field(max_length=100)] | None = None
    caller_id_daily_cap: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    group_ids: Annotated[list[Id], Field(max_length=500)] | None = None
    retry: dict[OutcomeName, RetryRuleIn] | None = None
    max_per_day: Annotated[int, Field(ge=1, le=100)] | None = None
    max_24h: Annotated[int, Field(ge=1, le=100)] | None = None
    max_lifetime: Annotated[int, Field(ge=1, le=1000)] | None = None
    abandoned_cooloff_hours: Annotated[float, Field(ge=0, le=24 * 365)] | None = None
    abandon_target: Annotated[float, Field(ge=0, le=1)] | None = None
    script_id: Id | None = None
    product_ids: Annotated[list[Id], Field(max_length=500)] | None = None
    disposition_ids: Annotated[list[Id], Field(max_length=500)] | None = None
    amd_enabled: bool | None = None
    amd_action: Literal["hang_up", "leave_message", "to_agent"] | None = None
    amd_false_positive_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    callback_agent_wait_minutes: Annotated[float, Field(ge=0, le=24 * 60)] | None = None
    # The countdown: preview mode; the skip delay: preview and manual modes. Left out
    # (or null): the platform's default.
    preview_timeout_seconds: Annotated[float, Field(ge=5, le=600)] | None = None
    preview_skip_delay_minutes: Annotated[float, Field(ge=0, le=7 * 24 * 60)] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class CampaignIn(_In):
    name: Name
    description: Description = ""
    settings: CampaignSettingsIn = CampaignSettingsIn()


class CampaignPatch(_In):
    name: Name | None = None
    description: Description | None = None
    settings: CampaignSettingsIn | None = None


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str
    state: str
    revision: str
    version: int
    author_id: int | None
    settings: dict[str, Any]
    commands: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignVersionOut(BaseModel):
    version: int
    settings: dict[str, Any]
    author_id: int | None
    approved_by: int | None
    approved_by_no: str
    approved_at: dt.datetime


class DiagnosisOut(BaseModel):
    campaign_id: int
    state: str
    version: int
    total: int
    scanned: int
    dialable: int
    reasons: dict[str, int]
    next_at: dt.datetime | None
    problems: list[str]


# -- leads ----------------------------------------------------------------------------


class LeadListOut(BaseModel):
    id: int
    campaign_id: int
    name: str
    lead_count: int
    created_by_no: str
    created_at: dt.datetime


class LeadOut(BaseModel):
    id: int
    campaign_id: int
    list_id: int
    row_no: int
    phone: str
    region: str
    carrier: str
    number_type: str
    time_zone: str
    fields: dict[str, Any]
    status: str
    attempts_today: int
    attempts_24h: int
    attempts_lifetime: int
    last_attempt_at: dt.datetime | None
    last_outcome: str | None
    last_disposition: str | None
    callback_at: dt.datetime | None
    callback_agent_id: int | None
    locked: bool


class ImportJobOut(BaseModel):
    id: int
    campaign_id: int
    list_id: int | None
    filename: str
    state: str
    rows_read: int
    imported: int
    invalid: int
    duplicate: int
    blocked: int
    blocked_by_reason: dict[str, int]
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


# -- blacklist ------------------------------------------------------------------------


class BlacklistIn(_In):
    phones: Annotated[list[PhoneText], Field(min_length=1, max_length=10_000)]
    reason: Literal["blacklist", "do_not_call", "opt_out", "complaint"] = "blacklist"
    note: Annotated[str, StringConstraints(max_length=256, pattern=_PRINTABLE)] = ""


class BlacklistImportOut(BaseModel):
    added: int
    already: int
    invalid: int


class BlacklistOut(BaseModel):
    id: int
    phone: str
    reason: str
    source: str
    note: str
    campaign_id: int | None
    added_by_no: str
    created_at: dt.datetime


# -- products, scripts, dispositions --------------------------------------------------


class AttributeIn(_In):
    key: Code
    label: Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)] = ""
    type: Literal["text", "number", "choice", "date"] = "text"
    required: bool = False
    choices: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]],
        Field(max_length=100),
    ] = []
    default: Annotated[str, StringConstraints(max_length=500, pattern=_PRINTABLE)] = ""


class ProductIn(_In):
    name: Name
    description: Description = ""
    attributes: Annotated[list[AttributeIn], Field(max_length=50)] = []


class ProductPatch(_In):
    name: Name | None = None
    description: Description | None = None
    attributes: Annotated[list[AttributeIn], Field(max_length=50)] | None = None


class ProductOut(BaseModel):
    id: int
    name: str
    description: str
    attributes: list[dict[str, Any]]
    created_at: dt.datetime
    updated_at: dt.datetime


ScriptBody = Annotated[str, StringConstraints(max_length=20_000, pattern=r"^[^\x00]*$")]


class ScriptIn(_In):
    name: Name
    body: ScriptBody = ""


class ScriptPatch(_In):
    name: Name | None = None
    body: ScriptBody | None = None


class ScriptOut(BaseModel):
    id: int
    name: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RenderedOut(BaseModel):
    text: str
    missing: list[str]


class DispositionIn(_In):
    code: Code
    name: Name
    flags: Annotated[list[FlagName], Field(max_length=7)] = []
    outcome: OutcomeName = "answered"
    enabled: bool = True


class DispositionPatch(_In):
    name: Name | None = None
    flags: Annotated[list[FlagName], Field(max_length=7)] | None = None
    outcome: OutcomeName | None = None
    enabled: bool | None = None


class DispositionOut(BaseModel):
    id: int
    code: str
    name: str
    flags: list[str]
    outcome: str
    enabled: bool


# -- results --------------------------------------------------------------------------

AttributeValue = (
    Annotated[str, StringConstraints(max_length=500, pattern=_PRINTABLE)]
    | Annotated[float, Field(allow_inf_nan=False)]
    | int
)


class ResultIn(_In):
    lead_id: Annotated[int, Field(ge=1, le=2**62)]
    disposition_id: Id
    product_id: Id | None = None
    values: Annotated[dict[Code, AttributeValue], Field(max_length=50)] = {}
    notes: Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")] = ""
    callback_at: Annotated[Moment, Field(strict=False)] | None = None
    callback_to_self: bool = True
    call_id: Annotated[str, StringConstraints(max_length=64, pattern=r"^[\w.:@-]+$")] | None = None


class ResultOut(BaseModel):
    id: int
    campaign_id: int
    lead_id: int
    call_id: str | None
    agent_no: str
    disposition_code: str
    product_id: int | None
    values: dict[str, Any]
    notes: str
    callback_at: dt.datetime | None
    callback_agent_id: int | None
    created_at: dt.datetime
