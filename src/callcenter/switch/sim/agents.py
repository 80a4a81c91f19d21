"""Bot agents' phones: registered phones that ring, answer and end calls by themselves.

Theory of operation
-------------------
:class:`AgentPhones` is a Directory of the SimSwitch for destinations ``agent:NUMBER``.
Each registered number has a :class:`BotProfile`. When the switch originates to a
registered phone that is free, the phone rings at once and, if the profile ``answers``,
picks up after ``answer_delay`` (the switch's ring timeout may come first). Once
connected to someone it hangs up after ``talk_time``, or never when ``talk_time`` is
None (the usual case: the customer or the core ends the call). A phone holds one call at
a time: a second call while it is in use fails with ``busy`` (486). An unregistered
number fails with ``failed`` / 480 Temporarily Unavailable, as a registrar without a
binding would answer.

Draws come from a ``random.Random`` seeded with ``(seed, number, call index)``, so a
phone's n-th call behaves the same in every run with the same seed. Wrap-up time is the
agent's state in the core, not the phone's, so it is not modelled here.

``place_call`` makes the agent dial out by hand: the switch sees an inbound leg offered
from ``agent:NUMBER``; once connected the bot talks for its ``talk_time``.

A *virtual phone* (:meth:`AgentPhones.virtual`) stands in for a person at a browser
without a SIP phone: with :data:`MANUAL_ANSWER` it rings until :meth:`AgentPhones.pick_up`
(the desktop's Answer button, through the CTI core) or the ring timeout; with
auto-answer it behaves as a bot that never hangs up (a supervisor's monitoring phone).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from callcenter.clock import Clock, TimerHandle
from callcenter.switch.ports import HangupCause, LegId
from callcenter.switch.sim.customers import Distribution, Uniform

if TYPE_CHECKING:
    from callcenter.switch.sim.network import Line, Remote

__all__ = [
    "AGENT_SCHEME",
    "AUTO_ANSWER",
    "MANUAL_ANSWER",
    "VIRTUAL_PREFIX",
    "AgentPhones",
    "BotPhone",
    "BotProfile",
    "PhoneCall",
]

log = logging.getLogger(__name__)

AGENT_SCHEME: Final = "agent:"
DEFAULT_ANSWER_DELAY: Final = Uniform(1.0, 3.0)
VIRTUAL_PREFIX: Final = "browser-"


@dataclass(frozen=True)
class BotProfile:
    answer_delay: Distribution = DEFAULT_ANSWER_DELAY
    talk_time: Distribution | None = None
    answers: bool = True


MANUAL_ANSWER: Final = BotProfile(answers=False)
"""A virtual phone that rings until someone picks it up (:meth:`AgentPhones.pick_up`)."""
AUTO_ANSWER: Final = BotProfile(answer_delay=Uniform(0.2, 0.5))
"""A virtual phone that answers by itself and stays on the line."""


@dataclass
class BotPhone:
    """A registered phone and what happened to it (for benchmarks and tests)."""

    number: str
    profile: BotProfile
    current: LegId | None = None
    calls_offered: int = 0
    calls_answered: int = 0
    history: list[LegId] = field(default_factory=list)
    call: PhoneCall | None = None


class AgentPhones:
    """The bot agents' phones; a Directory of the SimSwitch."""

    def __init__(self, seed: int = 0, default: BotProfile | None = None) -> None:
        self.seed = seed
        self.default = default if default is not None else BotProfile()
        self._phones: dict[str, BotPhone] = {}

    def register(self, number: str, profile: BotProfile | None = None) -> BotPhone:
        phone = BotPhone(number, profile if profile is not None else self.default)
        self._phones[number] = phone
        log.debug("phone %s registered", number)
        return phone

    def unregister(self, number: str) -> None:
        self._phones.pop(number, None)

    def phone(self, number: str) -> BotPhone:
        return self._phones[number]

    @staticmethod
    def dest(number: str) -> str:
        """The destination to originate to for agent ``number``."""
        return AGENT_SCHEME + number

    def dial(self, dest: str, line: Line, clock: Clock) -> Remote | None:
        if not dest.startswith(AGENT_SCHEME):
            return None
        number = dest.removeprefix(AGENT_SCHEME)
        phone = self._phones.get(number)
        if phone is None:
            return _Unavailable(clock, line, HangupCause.FAILED, 480)
        if phone.current is not None:
            return _Unavailable(clock, line, HangupCause.BUSY, 486)
        rng = random.Random(f"{self.seed}/{number}/{phone.calls_offered}")
        phone.calls_offered += 1
        phone.current = line.leg
        phone.history.append(line.leg)
        phone.call = PhoneCall(clock, line, phone, rng)
        return phone.call

    def place_call(self, exchange: _Exchange, number: str, dialled: str) -> LegId:
        """Agent ``number`` dials ``dialled`` from the phone (a manual call): the switch
        sees an inbound leg offered from ``agent:NUMBER``."""
        phone = self._phones[number]
        if phone.current is not None:
            raise RuntimeError(f"phone {number} is already in a call")
        rng = random.Random(f"{self.seed}/{number}/{phone.calls_offered}")
        phone.calls_offered += 1

        def make_remote(line: Line) -> Remote:
            phone.current = line.leg
            phone.history.append(line.leg)
            phone.call = PhoneCall(exchange.clock, line, phone, rng)
            return phone.call

        return exchange.offer_call(self.dest(number), dialled, None, make_remote)

    def virtual(self, owner: str, *, auto_answer: bool = False) -> str:
        """The destination of ``owner``'s virtual phone, registered on first use.

        Owners are people (agent numbers); their virtual phones are numbered apart from
        the bots' (``browser-NUMBER``, ``browser-NUMBER-auto``). Asking again keeps the
        phone, and any call on it, as it is.
        """
        number = VIRTUAL_PREFIX + owner + ("-auto" if auto_answer else "")
        if number not in self._phones:
            self.register(number, AUTO_ANSWER if auto_answer else MANUAL_ANSWER)
        return self.dest(number)

    def pick_up(self, leg: LegId) -> bool:
        """Answer the virtual phone ringing with ``leg``; False if none rings with it (a
        bot's phone, like a SIP phone, is picked up on the handset, not from here)."""
        for phone in self._phones.values():
            virtual = phone.number.startswith(VIRTUAL_PREFIX)
            if virtual and phone.current == leg and phone.call is not None:
                return phone.call.pick_up()
        return False


class _Exchange(Protocol):
    @property
    def clock(self) -> Clock: ...

    def offer_call(
        self,
        caller: str,
        dialled: str,
        trunk: str | None,
        make_remote: Callable[[Line], Remote],
    ) -> LegId: ...


class PhoneCall:
    """One call on a bot phone; a Remote of the SimSwitch."""

    def __init__(self, clock: Clock, line: Line, phone: BotPhone, rng: random.Random) -> None:
        self._clock = clock
        self._line = line
        self._phone = phone
        profile = phone.profile
        self._answer_delay = profile.answer_delay.sample(rng)
        self._talk_time = profile.talk_time.sample(rng) if profile.talk_time else None
        self._timers: list[TimerHandle] = []
        self._talked = False
        self._ended = False
        self._picked_up = False
        self._rung = False  # an outgoing call of the phone's own never rings it

    def _after(self, delay: float, callback: Callable[[], object]) -> None:
        if not self._ended:
            self._timers.append(self._clock.call_at(self._clock.now() + delay, callback))

    def _pick_up(self) -> None:
        if self._picked_up or self._ended:
            return
        self._picked_up = True
        self._phone.calls_answered += 1
        self._line.answer(None)

    def pick_up(self) -> bool:
        """Someone picks the handset up: answer now if still ringing."""
        if not self._rung or self._picked_up or self._ended:
            return False
        self._pick_up()
        return True

    def dialled(self, ring_timeout: float, amd: bool) -> None:
        self._rung = True
        self._after(0.0, self._line.ring)
        if self._phone.profile.answers:
            self._after(self._answer_delay, self._pick_up)

    def offered(self) -> None:
        pass

    def answered(self) -> None:
        pass

    def connected(self) -> None:
        if not self._talked and self._talk_time is not None:
            self._talked = True
            self._after(self._talk_time, self._line.hang_up)

    def disconnected(self) -> None:
        pass

    def collecting(self, max_digits: int, timeout: float, terminator: str) -> None:
        pass

    def dtmf(self, digits: str) -> None:
        pass

    def ended(self) -> None:
        self._ended = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._phone.current == self._line.leg:
            self._phone.current = None
            self._phone.call = None


class _Unavailable:
    """A destination that fails at once with ``cause``."""

    def __init__(self, clock: Clock, line: Line, cause: HangupCause, sip_status: int) -> None:
        self._clock = clock
        self._line = line
        self._cause = cause
        self._sip_status = sip_status

    def dialled(self, ring_timeout: float, amd: bool) -> None:
        self._clock.call_at(
            self._clock.now(), lambda: self._line.fail(self._cause, self._sip_status)
        )

    def offered(self) -> None:
        pass

    def answered(self) -> None:
        pass

    def connected(self) -> None:
        pass

    def disconnected(self) -> None:
        pass

    def collecting(self, max_digits: int, timeout: float, terminator: str) -> None:
        pass

    def dtmf(self, digits: str) -> None:
        pass

    def ended(self) -> None:
        pass
