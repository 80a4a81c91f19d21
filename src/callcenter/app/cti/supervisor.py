"""Supervisor commands (班长席): listen, whisper, barge, take over, force actions.

A supervisor joins a connected call from the phone they give: the core calls that
phone and, once it answers, moves the call into a conference (if it is not in one
already) and joins the supervisor with a role: ``ListenOnly`` to listen (监听),
``WhisperTo(agent leg)`` to coach the agent unheard by the customer (密语), or
``TalkListen`` to barge in (强插). Calling another of the three while on the call
changes the role. *Take over* (接管) makes the supervisor a full party and hangs up the
agent, who goes to wrap-up. Force hang-up (强拆), force log-out (强制签出) and force
ready / not ready act on calls and agents directly.
"""

from __future__ import annotations

import logging

from callcenter.app.cti.errors import (
    CallNotConnected,
    ConsultInProgress,
    InvalidPhone,
    NotMonitoring,
)
from callcenter.app.cti.flows import CallFlows
from callcenter.app.cti.model import Call, CallState, Leg, LegPurpose, Monitor, SupervisorMode
from callcenter.domain.agent import ON_CALL_STATES, GoNotReady, GoReady, LogOut
from callcenter.switch.ports import HangupCause, TalkListen

log = logging.getLogger(__name__)


class SupervisorCommands(CallFlows):
    """The supervisor console's commands; see the module docstring."""

    async def listen(self, command_id: str, supervisor_id: str, call_id: str, phone: str) -> None:
        await self._command(
            command_id,
            ("listen", supervisor_id, call_id, phone),
            lambda: self._monitor(supervisor_id, call_id, phone, SupervisorMode.LISTEN),
        )

    async def whisper(self, command_id: str, supervisor_id: str, call_id: str, phone: str) -> None:
        await self._command(
            command_id,
            ("whisper", supervisor_id, call_id, phone),
            lambda: self._monitor(supervisor_id, call_id, phone, SupervisorMode.WHISPER),
        )

    async def barge(self, command_id: str, supervisor_id: str, call_id: str, phone: str) -> None:
        await self._command(
            command_id,
            ("barge", supervisor_id, call_id, phone),
            lambda: self._monitor(supervisor_id, call_id, phone, SupervisorMode.BARGE),
        )

    async def stop_monitoring(self, command_id: str, supervisor_id: str, call_id: str) -> None:
        await self._command(
            command_id,
            ("stop_monitoring", supervisor_id, call_id),
            lambda: self._stop_monitoring(supervisor_id, call_id),
        )

    async def take_over(self, command_id: str, supervisor_id: str, call_id: str) -> None:
        """The monitoring supervisor replaces the agent, who goes to wrap-up."""
        await self._command(
            command_id,
            ("take_over", supervisor_id, call_id),
            lambda: self._take_over(supervisor_id, call_id),
        )

    async def force_hang_up(self, command_id: str, supervisor_id: str, call_id: str) -> None:
        await self._command(
            command_id,
            ("force_hang_up", supervisor_id, call_id),
            lambda: self._force_hang_up(supervisor_id, call_id),
        )

    async def force_log_out(self, command_id: str, supervisor_id: str, agent_no: str) -> None:
        """Log the agent out, ending their part in a call first."""
        await self._command(
            command_id,
            ("force_log_out", supervisor_id, agent_no),
            lambda: self._force_log_out(supervisor_id, agent_no),
        )

    async def force_ready(self, command_id: str, supervisor_id: str, agent_no: str) -> None:
        await self._command(
            command_id,
            ("force_ready", supervisor_id, agent_no),
            lambda: self._force_ready(supervisor_id, agent_no),
        )

    async def force_not_ready(
        self, command_id: str, supervisor_id: str, agent_no: str, reason: str
    ) -> None:
        await self._command(
            command_id,
            ("force_not_ready", supervisor_id, agent_no, reason),
            lambda: self._force_not_ready(supervisor_id, agent_no, reason),
        )

    # --- implementations ------------------------------------------------------------

    async def _monitor(
        self, supervisor_id: str, call_id: str, phone: str, mode: SupervisorMode
    ) -> None:
        call = self._live_call(call_id)
        if call.state is not CallState.CONNECTED:
            raise CallNotConnected(call_id=call_id, state=call.state.value, action=mode.value)
        if call.consult is not None:
            raise ConsultInProgress(call_id=call_id, action=mode.value)
        monitor = call.monitors.get(supervisor_id)
        if monitor is not None:
            monitor.mode = mode
            leg = self._legs[monitor.leg]
            if leg.up and call.conference is not None:
                role = self._role(call, monitor)
                await self._must(self._switch.join(call.conference, leg.leg_id, role), mode.value)
                monitor.role = role
            log.info("call=%s supervisor %s now %s", call_id, supervisor_id, mode.value)
            self._touch(call)
            return
        phone = phone.strip()
        if not phone:
            raise InvalidPhone(agent_id=supervisor_id)
        leg = self._add_leg(call, self._new_leg_id(call, "s"), LegPurpose.SUPERVISOR, phone)
        call.monitors[supervisor_id] = Monitor(supervisor_id, leg.leg_id, mode)
        log.info("call=%s supervisor %s calls %s to %s", call_id, supervisor_id, phone, mode.value)
        self._touch(call)
        await self._originate(
            call, leg, caller_id=call.caller, ring_timeout=self._dial_ring_timeout
        )

    async def _supervisor_answered(self, call: Call, leg: Leg) -> None:
        monitor = next((m for m in call.monitors.values() if m.leg == leg.leg_id), None)
        if monitor is None or call.state is not CallState.CONNECTED or call.consult is not None:
            await self._drop(leg)
            return
        conference = await self._to_conference(call)
        if conference is None:
            await self._drop(leg)
            return
        role = self._role(call, monitor)
        if await self._try(self._switch.join(conference, leg.leg_id, role), "join"):
            monitor.role = role
        self._touch(call)

    async def _stop_monitoring(self, supervisor_id: str, call_id: str) -> None:
        call = self._live_call(call_id)
        monitor = call.monitors.get(supervisor_id)
        if monitor is None:
            raise NotMonitoring(supervisor_id=supervisor_id, call_id=call_id)
        await self._drop(self._legs[monitor.leg])

    async def _take_over(self, supervisor_id: str, call_id: str) -> None:
        call = self._live_call(call_id)
        monitor = call.monitors.get(supervisor_id)
        leg = self._legs[monitor.leg] if monitor is not None else None
        if leg is None or not leg.up or call.conference is None:
            raise NotMonitoring(supervisor_id=supervisor_id, call_id=call_id)
        await self._must(self._switch.join(call.conference, leg.leg_id, TalkListen()), "take-over")
        del call.monitors[supervisor_id]
        leg.purpose = LegPurpose.PARTY
        call.parties[leg.leg_id] = None
        call.taken_over_by = supervisor_id
        old = self._legs.get(call.agent_leg) if call.agent_leg is not None else None
        call.agent_leg = None
        call.agent_no = None
        if old is not None:
            call.parties.pop(old.leg_id, None)
            await self._release(old)
        log.info("call=%s taken over by %s", call_id, supervisor_id)
        self._touch(call, "taken-over")

    async def _force_hang_up(self, supervisor_id: str, call_id: str) -> None:
        call = self._live_call(call_id)
        log.info("call=%s force hang-up by %s", call_id, supervisor_id)
        await self._end_call(call, HangupCause.NORMAL, "force-hang-up")

    async def _force_log_out(self, supervisor_id: str, agent_no: str) -> None:
        session = self._session(agent_no, "log-out")
        agent = session.agent
        if agent.state in ON_CALL_STATES and agent.call_id is not None:
            call = self._calls.get(agent.call_id)
            if call is not None:
                for leg_id in reversed(call.legs):
                    leg = self._legs[leg_id]
                    if leg.agent_no == agent_no and not leg.ended:
                        await self._drop(
                            leg, HangupCause.NORMAL if leg.up else HangupCause.CANCELLED
                        )
        agent.handle(LogOut(), self._now())
        log.info("agent %s logged out by %s", agent_no, supervisor_id)

    async def _force_ready(self, supervisor_id: str, agent_no: str) -> None:
        self._session(agent_no, "go-ready").agent.handle(GoReady(), self._now())
        self._dirty_agents.add(agent_no)
        log.info("agent %s made ready by %s", agent_no, supervisor_id)

    async def _force_not_ready(self, supervisor_id: str, agent_no: str, reason: str) -> None:
        self._session(agent_no, "go-not-ready").agent.handle(GoNotReady(reason), self._now())
        self._dirty_agents.add(agent_no)
        log.info("agent %s made not ready (%s) by %s", agent_no, reason, supervisor_id)
