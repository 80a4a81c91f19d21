"""CtiEngine: the inbound call center on the Switch port, with its commands.

The engine is the composition of the core (state, serialisation, timers, publishing:
:mod:`callcenter.app.cti.core`), the call flows (:mod:`callcenter.app.cti.flows`), the
agent desktop's commands (:mod:`callcenter.app.cti.desk` and
:mod:`callcenter.app.cti.transfers`) and the supervisor console's commands
(:mod:`callcenter.app.cti.supervisor`). Build one per tenant in the composition root,
``await engine.start()``, and ``await engine.stop()`` on shutdown::

    engine = CtiEngine(switch, clock, bus, rng=random.Random(), queues=[...],
                       routes={"4001": "sales"}, profiles=agent_profiles)
"""

from __future__ import annotations

from callcenter.app.cti.desk import AgentCommands
from callcenter.app.cti.supervisor import SupervisorCommands
from callcenter.app.cti.transfers import TransferCommands


class CtiEngine(AgentCommands, TransferCommands, SupervisorCommands):
    """Agents, calls and queues on one switch; see the modules it is made of."""
