"""The CTI core: runs the call center's calls, agents and queues on the Switch port."""

from callcenter.app.cti.cdr import CallRecord, CdrSink, LegRecord, MemoryCdr
from callcenter.app.cti.engine import CtiEngine
from callcenter.app.cti.model import (
    AgentProfile,
    Call,
    CallState,
    ConsultTarget,
    CustomerInfo,
    Direction,
    Leg,
    LegPurpose,
    SupervisorMode,
    ToAgent,
    ToNumber,
    ToQueue,
    TransferTarget,
)

__all__ = [
    "AgentProfile",
    "Call",
    "CallRecord",
    "CallState",
    "CdrSink",
    "ConsultTarget",
    "CtiEngine",
    "CustomerInfo",
    "Direction",
    "Leg",
    "LegPurpose",
    "LegRecord",
    "MemoryCdr",
    "SupervisorMode",
    "ToAgent",
    "ToNumber",
    "ToQueue",
    "TransferTarget",
]
