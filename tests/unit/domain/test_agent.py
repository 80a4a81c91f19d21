"""The agent state machine: transitions, records, wrap-up, pending not-ready, misses."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.agent import (
    AGENT_TRANSITIONS,
    NO_ANSWER,
    Agent,
    AgentState,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    GoNotReady,
    GoReady,
    LogIn,
    LogOut,
    Membership,
    OfferNotAnswered,
    OfferWithdrawn,
    StateRecord,
    Trigger,
    WrapUpExpired,
)
from callcenter.domain.errors import (
    AgentAlreadyLoggedIn,
    AgentBusy,
    AgentCallMismatch,
    AgentNotLoggedIn,
    AgentNotOnCall,
    AgentNotReady,
    AgentStateError,
    DomainError,
    InvalidAgentConfig,
    InvalidNotReadyReason,
)

S = AgentState


def ready_agent(agent_id: str = "1001", now: float = 0.0, **kwargs: object) -> Agent:
    agent = Agent(agent_id, **kwargs)  # type: ignore[arg-type]
    agent.handle(LogIn(), now)
    agent.handle(GoReady(), now)
    agent.take_records()
    return agent


def state_of(agent: Agent) -> AgentState:
    """The agent's state, read through a call so mypy does not narrow it between steps."""
    return agent.state


def agent_in(state: AgentState) -> Agent:
    """An agent brought to ``state`` through legal steps, on call "c1" where relevant."""
    agent = Agent("1001")
    if state is S.LOGGED_OUT:
        return agent
    agent.handle(LogIn(), 0.0)
    if state is S.NOT_READY:
        return agent
    agent.handle(GoReady(), 1.0)
    if state is S.READY:
        return agent
    agent.handle(CallOffered("c1", "sales"), 2.0)
    if state is S.RESERVED:
        return agent
    agent.handle(CallAnswered("c1"), 3.0)
    if state is S.TALKING:
        return agent
    if state is S.ON_HOLD:
        agent.handle(CallHeld("c1"), 4.0)
        return agent
    agent.handle(CallEnded("c1"), 5.0)
    assert state is S.WRAP_UP
    return agent


def test_login_starts_not_ready_and_is_recorded() -> None:
    """An agent who logs in is NOT_READY (reason "login") until they say they are ready."""
    agent = Agent("1001")
    agent.handle(LogIn(), 10.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "login"
    assert agent.take_records() == [
        StateRecord(10.0, "1001", S.LOGGED_OUT, S.NOT_READY, "login", None)
    ]
    assert agent.take_records() == []


def test_going_ready_starts_the_idle_clock() -> None:
    """Going ready (示闲) records when the agent became idle, for longest-idle routing."""
    agent = Agent("1001")
    agent.handle(LogIn(), 0.0)
    agent.handle(GoReady(), 42.0)
    assert state_of(agent) is S.READY
    assert agent.stats.idle_since == 42.0
    assert agent.not_ready_reason is None


def test_not_ready_carries_its_reason_code_and_can_change_it() -> None:
    """示忙 with a reason (lunch), then a different reason (training): both recorded."""
    agent = ready_agent()
    agent.handle(GoNotReady("lunch"), 5.0)
    agent.handle(GoNotReady("training"), 6.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "training"
    assert [(r.from_state, r.to_state, r.reason) for r in agent.take_records()] == [
        (S.READY, S.NOT_READY, "lunch"),
        (S.NOT_READY, S.NOT_READY, "training"),
    ]


def test_a_whole_call_is_recorded_and_counted() -> None:
    """Offer, answer, hold, resume, hang up, wrap up: every step in the audit log."""
    agent = ready_agent(wrap_up_seconds=15.0)
    agent.handle(CallOffered("c1", "sales"), 100.0)
    agent.handle(CallAnswered("c1"), 104.0)
    agent.handle(CallHeld("c1"), 110.0)
    agent.handle(CallResumed("c1"), 120.0)
    agent.handle(CallEnded("c1"), 164.0)
    assert state_of(agent) is S.WRAP_UP
    assert agent.call_id == "c1"
    assert agent.get_timer() == 179.0
    agent.handle_timer(179.0)
    assert state_of(agent) is S.READY
    assert agent.call_id is None
    assert agent.stats.calls_answered == 1
    assert agent.stats.talk_seconds == 60.0
    assert agent.stats.idle_since == 179.0
    assert [(r.at, r.from_state, r.to_state, r.reason, r.call_id) for r in agent.records] == [
        (100.0, S.READY, S.RESERVED, "call-offered", "c1"),
        (104.0, S.RESERVED, S.TALKING, "call-answered", "c1"),
        (110.0, S.TALKING, S.ON_HOLD, "call-held", "c1"),
        (120.0, S.ON_HOLD, S.TALKING, "call-resumed", "c1"),
        (164.0, S.TALKING, S.WRAP_UP, "call-ended", "c1"),
        (179.0, S.WRAP_UP, S.READY, "wrap-up-expired", "c1"),
    ]


def test_wrap_up_does_not_end_before_its_time_limit() -> None:
    """The wrap-up timer fires only at its deadline; before that the agent stays 话后."""
    agent = agent_in(S.WRAP_UP)
    deadline = agent.get_timer()
    assert deadline == 5.0 + agent.wrap_up_seconds
    before = copy.deepcopy(agent)
    agent.handle_timer(deadline - 0.001)
    assert agent == before
    agent.handle_timer(deadline + 3.0)
    assert state_of(agent) is S.READY
    assert agent.get_timer() is None


def test_the_queue_can_set_the_wrap_up_time_of_a_call() -> None:
    """CallEnded may carry the queue's wrap-up limit, which wins over the agent default."""
    agent = agent_in(S.TALKING)
    agent.handle(CallEnded("c1", wrap_up_seconds=120.0), 50.0)
    assert agent.get_timer() == 170.0


def test_zero_wrap_up_returns_the_agent_to_ready_at_once() -> None:
    """With no wrap-up time the agent goes through WRAP_UP straight back to READY."""
    agent = agent_in(S.TALKING)
    agent.take_records()
    agent.handle(CallEnded("c1", wrap_up_seconds=0.0), 50.0)
    assert state_of(agent) is S.READY
    assert [r.to_state for r in agent.take_records()] == [S.WRAP_UP, S.READY]


def test_ready_during_wrap_up_ends_it_early() -> None:
    """An agent who finishes notes early presses ready and is available again."""
    agent = agent_in(S.WRAP_UP)
    agent.handle(GoReady(), 7.0)
    assert state_of(agent) is S.READY
    assert agent.stats.idle_since == 7.0
    assert agent.get_timer() is None


def test_not_ready_during_wrap_up_is_applied_at_once_and_wins_over_the_timer() -> None:
    """Choosing not-ready in wrap-up stops the automatic return to READY."""
    agent = agent_in(S.WRAP_UP)
    agent.handle(GoNotReady("meeting"), 7.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.get_timer() is None
    agent.handle_timer(1000.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "meeting"


def test_pending_not_ready_while_talking_is_applied_after_wrap_up() -> None:
    """Asking for a break mid-call keeps the call; after wrap-up the agent is NOT_READY."""
    agent = agent_in(S.TALKING)
    agent.take_records()
    agent.handle(GoNotReady("break"), 10.0)
    assert state_of(agent) is S.TALKING
    assert agent.pending_not_ready == "break"
    assert agent.take_records() == []
    agent.handle(CallEnded("c1", wrap_up_seconds=30.0), 20.0)
    assert state_of(agent) is S.WRAP_UP
    agent.handle_timer(50.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "break"
    assert agent.pending_not_ready is None
    assert agent.take_records()[-1] == StateRecord(
        50.0, "1001", S.WRAP_UP, S.NOT_READY, "break", "c1"
    )


def test_pending_not_ready_on_hold_is_applied_after_the_call() -> None:
    """A pending not-ready asked for while the caller is on hold also waits for the call."""
    agent = agent_in(S.ON_HOLD)
    agent.handle(GoNotReady("break"), 10.0)
    agent.handle(CallEnded("c1", wrap_up_seconds=0.0), 20.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "break"


def test_ready_while_talking_cancels_a_pending_not_ready() -> None:
    """An agent who changes their mind mid-call goes back to READY after wrap-up."""
    agent = agent_in(S.TALKING)
    agent.handle(GoNotReady("break"), 10.0)
    agent.handle(GoReady(), 11.0)
    assert agent.pending_not_ready is None
    agent.handle(CallEnded("c1", wrap_up_seconds=0.0), 20.0)
    assert state_of(agent) is S.READY


def test_choosing_not_ready_in_wrap_up_replaces_a_pending_not_ready() -> None:
    """A break asked for mid-call is used up once the agent picks another reason in 话后;
    it does not come back after the next call."""
    agent = agent_in(S.TALKING)
    agent.handle(GoNotReady("break"), 10.0)
    agent.handle(CallEnded("c1", wrap_up_seconds=60.0), 20.0)
    agent.handle(GoNotReady("lunch"), 21.0)
    assert agent.pending_not_ready is None
    agent.handle(GoReady(), 22.0)
    agent.handle(CallOffered("c2"), 23.0)
    agent.handle(CallAnswered("c2"), 24.0)
    agent.handle(CallEnded("c2", wrap_up_seconds=0.0), 25.0)
    assert state_of(agent) is S.READY


def test_pending_not_ready_while_ringing_is_applied_when_the_offer_ends() -> None:
    """Asking for not-ready while the phone rings is honoured once the offer ends."""
    agent = agent_in(S.RESERVED)
    agent.handle(GoNotReady("toilet"), 3.0)
    assert state_of(agent) is S.RESERVED
    agent.handle(OfferWithdrawn("c1"), 4.0)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == "toilet"


def test_a_missed_offer_returns_the_agent_to_ready_and_counts_the_miss() -> None:
    """Ring-no-answer: back to READY at the end of the idle line, one miss counted."""
    agent = ready_agent(now=1.0)
    agent.handle(CallOffered("c1"), 10.0)
    agent.handle(OfferNotAnswered("c1"), 30.0)
    assert state_of(agent) is S.READY
    assert agent.stats.missed_in_a_row == 1
    assert agent.stats.idle_since == 30.0
    assert agent.call_id is None


def test_n_missed_offers_in_a_row_force_the_agent_not_ready() -> None:
    """After three ring-no-answers in a row the agent is made NOT_READY ("no-answer")."""
    agent = ready_agent(max_missed_offers=3)
    for n in range(3):
        agent.handle(CallOffered(f"c{n}"), 10.0 * n)
        agent.handle(OfferNotAnswered(f"c{n}"), 10.0 * n + 5)
    assert state_of(agent) is S.NOT_READY
    assert agent.not_ready_reason == NO_ANSWER == "no-answer"
    assert agent.stats.missed_in_a_row == 0
    assert agent.records[-1].reason == "no-answer"
    assert agent.records[-1].call_id == "c2"


def test_an_answered_call_resets_the_missed_offer_count() -> None:
    """Misses must be in a row: answering a call starts the count again."""
    agent = ready_agent(max_missed_offers=2)
    agent.handle(CallOffered("c1"), 1.0)
    agent.handle(OfferNotAnswered("c1"), 2.0)
    agent.handle(CallOffered("c2"), 3.0)
    agent.handle(CallAnswered("c2"), 4.0)
    assert agent.stats.missed_in_a_row == 0
    agent.handle(CallEnded("c2", wrap_up_seconds=0.0), 5.0)
    agent.handle(CallOffered("c3"), 6.0)
    agent.handle(OfferNotAnswered("c3"), 7.0)
    assert state_of(agent) is S.READY


def test_a_withdrawn_offer_is_not_a_miss_and_keeps_the_idle_place() -> None:
    """The caller hung up while ringing: no miss, and the agent keeps their idle time."""
    agent = ready_agent(now=5.0)
    agent.handle(CallOffered("c1"), 10.0)
    agent.handle(OfferWithdrawn("c1"), 12.0)
    assert state_of(agent) is S.READY
    assert agent.stats.missed_in_a_row == 0
    assert agent.stats.idle_since == 5.0


def test_logout_from_ready_not_ready_and_wrap_up() -> None:
    """An agent may log out when not on a call."""
    for state in (S.READY, S.NOT_READY, S.WRAP_UP):
        agent = agent_in(state)
        agent.handle(LogOut(), 9.0)
        assert state_of(agent) is S.LOGGED_OUT
        assert agent.call_id is None


def test_relogin_clears_the_missed_offer_count() -> None:
    """A new session starts with no misses counted."""
    agent = ready_agent(max_missed_offers=3)
    agent.handle(CallOffered("c1"), 1.0)
    agent.handle(OfferNotAnswered("c1"), 2.0)
    agent.handle(LogOut(), 3.0)
    agent.handle(LogIn(), 4.0)
    assert agent.stats.missed_in_a_row == 0


def test_a_new_day_resets_the_daily_counters() -> None:
    """Calls answered and talk time are "today"; the application resets them at midnight."""
    agent = agent_in(S.WRAP_UP)
    assert agent.stats.calls_answered == 1
    agent.start_new_day()
    assert agent.stats.calls_answered == 0
    assert agent.stats.talk_seconds == 0.0


def test_memberships_are_active_only_in_their_window() -> None:
    """A temporary group membership counts only between its start and end."""
    agent = Agent("1001", memberships=(Membership("sales", 100.0, 200.0),))
    groups = frozenset({"sales"})
    assert not agent.in_group(groups, 99.0)
    assert agent.in_group(groups, 100.0)
    assert not agent.in_group(groups, 200.0)
    assert not agent.in_group(frozenset({"support"}), 150.0)


def test_invalid_agent_settings_are_refused() -> None:
    """Zero allowed misses or negative wrap-up make no sense and are rejected."""
    with pytest.raises(InvalidAgentConfig):
        Agent("1001", max_missed_offers=0)
    with pytest.raises(InvalidAgentConfig):
        Agent("1001", wrap_up_seconds=-1.0)


# --- illegal transitions ---------------------------------------------------------------

SAMPLE_TRIGGERS: list[Trigger] = [
    LogIn(),
    LogOut(),
    GoReady(),
    GoNotReady("lunch"),
    CallOffered("c2"),
    CallAnswered("c1"),
    OfferNotAnswered("c1"),
    OfferWithdrawn("c1"),
    CallHeld("c1"),
    CallResumed("c1"),
    CallEnded("c1"),
    WrapUpExpired(),
]

ILLEGAL = [
    (state, trigger)
    for state in AgentState
    for trigger in SAMPLE_TRIGGERS
    if type(trigger) not in AGENT_TRANSITIONS[state]
]


def test_the_transition_table_covers_every_state() -> None:
    """Every state has a row, and every state can be reached and left."""
    assert set(AGENT_TRANSITIONS) == set(AgentState)
    assert all(AGENT_TRANSITIONS[s] for s in AgentState)
    assert len(ILLEGAL) > 40


@pytest.mark.parametrize(("state", "trigger"), ILLEGAL, ids=lambda v: repr(v))
def test_an_illegal_transition_raises_and_changes_nothing(
    state: AgentState, trigger: Trigger
) -> None:
    """Anything the table does not allow raises a domain error and leaves the agent as is."""
    agent = agent_in(state)
    before = copy.deepcopy(agent)
    with pytest.raises(AgentStateError) as caught:
        agent.handle(trigger, 99.0)
    assert agent == before
    assert caught.value.status == 409
    assert caught.value.details["agent_id"] == "1001"
    assert caught.value.details["state"] == state.value


@pytest.mark.parametrize(
    ("state", "trigger", "error"),
    [
        (S.READY, LogIn(), AgentAlreadyLoggedIn),
        (S.LOGGED_OUT, GoReady(), AgentNotLoggedIn),
        (S.LOGGED_OUT, CallOffered("c1"), AgentNotLoggedIn),
        (S.NOT_READY, CallOffered("c2"), AgentNotReady),
        (S.TALKING, CallOffered("c2"), AgentNotReady),
        (S.TALKING, LogOut(), AgentBusy),
        (S.RESERVED, LogOut(), AgentBusy),
        (S.READY, CallAnswered("c1"), AgentNotOnCall),
        (S.NOT_READY, CallEnded("c1"), AgentNotOnCall),
        (S.WRAP_UP, CallHeld("c1"), AgentNotOnCall),
        (S.READY, GoReady(), AgentStateError),
    ],
    ids=lambda v: repr(v),
)
def test_each_illegal_transition_has_a_specific_error(
    state: AgentState, trigger: Trigger, error: type[DomainError]
) -> None:
    """The web layer shows a precise reason: not logged in, not ready, busy, no call..."""
    agent = agent_in(state)
    with pytest.raises(DomainError) as caught:
        agent.handle(trigger, 99.0)
    assert type(caught.value) is error


def test_an_event_for_another_call_is_refused() -> None:
    """A stale event about a different call must not move the agent."""
    agent = agent_in(S.TALKING)
    before = copy.deepcopy(agent)
    with pytest.raises(AgentCallMismatch) as caught:
        agent.handle(CallEnded("other"), 9.0)
    assert agent == before
    assert caught.value.code == "agent-call-mismatch"
    assert caught.value.details["current_call_id"] == "c1"


def test_not_ready_needs_a_reason_code() -> None:
    """An empty reason code is invalid input (422) and changes nothing."""
    agent = ready_agent()
    before = copy.deepcopy(agent)
    with pytest.raises(InvalidNotReadyReason) as caught:
        agent.handle(GoNotReady("  "), 1.0)
    assert agent == before
    assert caught.value.status == 422


# --- properties ------------------------------------------------------------------------

trigger_strategy = st.sampled_from(
    [
        LogIn(),
        LogOut(),
        GoReady(),
        GoNotReady("lunch"),
        GoNotReady("break"),
        CallOffered("c1"),
        CallAnswered("c1"),
        OfferNotAnswered("c1"),
        OfferWithdrawn("c1"),
        CallHeld("c1"),
        CallResumed("c1"),
        CallEnded("c1"),
        CallEnded("c1", wrap_up_seconds=0.0),
        CallEnded("c2"),
        WrapUpExpired(),
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(trigger_strategy, st.floats(0, 100)), max_size=40))
def test_any_sequence_keeps_the_agent_consistent(steps: list[tuple[Trigger, float]]) -> None:
    """Random commands and events: legal ones follow the table, illegal ones change nothing,
    and the audit log is an unbroken chain of states."""
    agent = Agent("1001", max_missed_offers=2)
    now = 0.0
    for trigger, delta in steps:
        now += delta
        agent.handle_timer(now)
        before = copy.deepcopy(agent)
        try:
            agent.handle(trigger, now)
        except DomainError:
            assert agent == before
            continue
        assert type(trigger) in AGENT_TRANSITIONS[before.state]
        assert (agent.call_id is not None) == (
            agent.state in (S.RESERVED, S.TALKING, S.ON_HOLD, S.WRAP_UP)
        )
        assert (agent.not_ready_reason is not None) == (agent.state is S.NOT_READY)
        if agent.pending_not_ready is not None:
            assert agent.state in (S.RESERVED, S.TALKING, S.ON_HOLD, S.WRAP_UP)
        assert agent.stats.talk_seconds >= 0
    state = AgentState.LOGGED_OUT
    for record in agent.records:
        assert record.from_state is state
        state = record.to_state
    assert state is agent.state
