"""ACD: filters, preferred agents, every strategy, and the cross-queue matcher."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.acd import (
    DEFAULT_FILTERS,
    Assignment,
    RoutingPlan,
    Selection,
    SelectionReason,
    apply_assignment,
    eligible,
    next_assignments,
    plan_assignments,
    select_agents,
    serves,
)
from callcenter.domain.agent import (
    Agent,
    AgentState,
    CallAnswered,
    CallEnded,
    CallOffered,
    GoNotReady,
    GoReady,
    LogIn,
    Membership,
    OfferNotAnswered,
    OfferWithdrawn,
)
from callcenter.domain.errors import AgentNotReady
from callcenter.domain.queue import (
    CallQueue,
    PriorityKey,
    QueueConfig,
    Strategy,
    WaitingCall,
    longest_wait_first,
    vip_then_longest_wait,
)

SALES = frozenset({"sales"})
NOW = 1000.0


def ready(
    agent_id: str,
    *,
    idle: float = 0.0,
    groups: tuple[str, ...] = ("sales",),
    skills: dict[str, int] | None = None,
    order: int = 0,
    calls: int = 0,
    talk: float = 0.0,
    memberships: tuple[Membership, ...] | None = None,
) -> Agent:
    """A READY agent who became idle at ``idle``, with the given stats."""
    if memberships is None:
        memberships = tuple(Membership(g) for g in groups)
    agent = Agent(agent_id, memberships=memberships, skills=skills or {}, order=order)
    agent.handle(LogIn(), 0.0)
    agent.handle(GoReady(), idle)
    agent.stats.calls_answered = calls
    agent.stats.talk_seconds = talk
    agent.take_records()
    return agent


def talking(agent_id: str, call_id: str = "other", **kwargs: object) -> Agent:
    agent = ready(agent_id, **kwargs)  # type: ignore[arg-type]
    agent.handle(CallOffered(call_id), 1.0)
    agent.handle(CallAnswered(call_id), 2.0)
    return agent


def not_ready(agent_id: str) -> Agent:
    agent = ready(agent_id)
    agent.handle(GoNotReady("lunch"), 1.0)
    return agent


def config(**kwargs: object) -> QueueConfig:
    return QueueConfig("sales", SALES, **kwargs)  # type: ignore[arg-type]


def pick(
    cfg: QueueConfig,
    agents: list[Agent],
    call: WaitingCall | None = None,
    *,
    now: float = NOW,
    seed: int = 1,
    last_offered: str | None = None,
) -> Selection:
    return select_agents(
        cfg,
        call or WaitingCall("c1", NOW - 10),
        agents,
        now,
        random.Random(seed),
        last_offered=last_offered,
    )


# --- filters ---------------------------------------------------------------------------


def test_only_ready_agents_are_offered_calls() -> None:
    """Talking, not-ready and logged-out agents are passed over for a ready one."""
    agents = [talking("a", idle=1.0), not_ready("b"), Agent("c"), ready("d", idle=500.0)]
    assert pick(config(), agents).agent_ids == ("d",)


def test_agents_outside_the_queue_groups_are_not_offered() -> None:
    """A support agent does not get sales calls, even when idle longest."""
    agents = [ready("support", idle=1.0, groups=("support",)), ready("sales", idle=9.0)]
    assert pick(config(), agents).agent_ids == ("sales",)


def test_a_membership_counts_only_while_it_is_active() -> None:
    """A temporary helper joins sales from t=2000; before that they get no sales calls."""
    helper = ready("helper", idle=1.0, memberships=(Membership("sales", active_from=2000.0),))
    regular = ready("regular", idle=9.0)
    assert pick(config(), [helper, regular], now=NOW).agent_ids == ("regular",)
    assert pick(config(), [helper, regular], now=2000.0).agent_ids == ("helper",)


def test_the_required_skill_level_is_enforced() -> None:
    """The queue needs English at level 3: level 2 and no English are both passed over."""
    cfg = config(required_skill="english", min_skill_level=3)
    agents = [
        ready("none", idle=1.0),
        ready("weak", idle=2.0, skills={"english": 2}),
        ready("good", idle=3.0, skills={"english": 3}),
    ]
    assert pick(cfg, agents).agent_ids == ("good",)


def test_queues_can_add_their_own_filters() -> None:
    """An extra filter (here: only agents whose id starts with 9) joins the pipeline."""

    def nines_only(cfg: QueueConfig, agent: Agent, now: float) -> bool:
        return agent.agent_id.startswith("9")

    cfg = config(extra_filters=(nines_only,))
    agents = [ready("100", idle=1.0), ready("900", idle=5.0)]
    assert pick(cfg, agents).agent_ids == ("900",)
    assert serves(cfg, agents[1], NOW)
    assert not eligible(cfg, agents[0], NOW)
    assert len(DEFAULT_FILTERS) == 4


def test_nobody_eligible_means_no_selection() -> None:
    """No ready agent in the group: the call keeps waiting."""
    selection = pick(config(), [talking("a"), ready("b", groups=("support",))])
    assert selection == Selection()
    assert selection.agent_id is None
    assert selection.reason is SelectionReason.NO_AGENT


# --- strategies ------------------------------------------------------------------------


def test_longest_idle_agent_is_offered_the_call() -> None:
    """Two ready agents; the one idle longest gets the call."""
    agents = [ready("a", idle=300.0), ready("b", idle=100.0)]
    selection = pick(config(strategy=Strategy.LONGEST_IDLE), agents)
    assert selection.agent_id == "b"
    assert selection.reason is SelectionReason.STRATEGY


def test_fewest_calls_today_wins_with_longest_idle_as_tie_break() -> None:
    """The agent who answered fewest calls today is next; equal counts: longest idle."""
    cfg = config(strategy=Strategy.FEWEST_CALLS)
    agents = [ready("busy", idle=1.0, calls=9), ready("x", idle=50.0, calls=2)]
    agents.append(ready("y", idle=20.0, calls=2))
    assert pick(cfg, agents).agent_ids == ("y",)


def test_least_talk_time_today_wins() -> None:
    """The agent with the least talk time today gets the call, even if recently idle."""
    cfg = config(strategy=Strategy.LEAST_TALK_TIME)
    agents = [ready("chatty", idle=1.0, talk=3600.0), ready("quiet", idle=900.0, talk=60.0)]
    assert pick(cfg, agents).agent_ids == ("quiet",)


def test_sequential_always_offers_the_first_free_agent_in_order() -> None:
    """Hunt group: agent order 1 first whenever free, even if just offered a call."""
    cfg = config(strategy=Strategy.SEQUENTIAL)
    agents = [ready("third", order=3, idle=1.0), ready("first", order=1, idle=900.0)]
    agents.append(ready("second", order=2))
    assert pick(cfg, agents, last_offered="first").agent_ids == ("first",)
    agents[1].handle(CallOffered("c0"), NOW)
    assert pick(cfg, agents).agent_ids == ("second",)


def test_round_robin_continues_after_the_last_agent_offered() -> None:
    """Round robin remembers where it stopped and goes on with the next agent, wrapping."""
    cfg = config(strategy=Strategy.ROUND_ROBIN)
    agents = [ready(name, order=n) for n, name in enumerate(["a", "b", "c", "d"])]
    assert pick(cfg, agents).agent_ids == ("a",)
    assert pick(cfg, agents, last_offered="a").agent_ids == ("b",)
    assert pick(cfg, agents, last_offered="d").agent_ids == ("a",)
    agents[2].handle(CallOffered("c0"), NOW)
    assert pick(cfg, agents, last_offered="b").agent_ids == ("d",)


def test_round_robin_memory_survives_the_last_agent_leaving_the_candidates() -> None:
    """If the last agent offered is now busy, round robin still continues after them."""
    cfg = config(strategy=Strategy.ROUND_ROBIN)
    agents = [ready("a", order=1), talking("b", order=2), ready("c", order=3)]
    assert pick(cfg, agents, last_offered="b").agent_ids == ("c",)


def test_round_robin_through_the_queue_memory() -> None:
    """Applying assignments moves the queue's round-robin memory around the group."""
    queue = CallQueue(config(strategy=Strategy.ROUND_ROBIN))
    agents = {name: ready(name, order=n) for n, name in enumerate(["a", "b", "c"])}
    offered = []
    for n in range(5):
        queue.enqueue(WaitingCall(f"c{n}", float(n)), float(n))
        (assignment,) = next_assignments([queue], list(agents.values()), NOW, random.Random(0))
        apply_assignment(queue, agents, assignment, NOW)
        offered.append(assignment.agent_ids[0])
        agent = agents[assignment.agent_ids[0]]
        agent.handle(CallAnswered(assignment.call_id), NOW)
        queue.remove_answered(assignment.call_id, NOW)
        agent.handle(CallEnded(assignment.call_id, wrap_up_seconds=0.0), NOW)
    assert offered == ["a", "b", "c", "a", "b"]


def test_random_uses_the_seeded_generator_and_only_eligible_agents() -> None:
    """Random routing is reproducible with the same seed and spreads calls around."""
    cfg = config(strategy=Strategy.RANDOM)
    agents = [ready(f"a{n}") for n in range(5)] + [not_ready("nr")]
    first = [pick(cfg, agents, seed=s).agent_ids for s in range(50)]
    again = [pick(cfg, list(reversed(agents)), seed=s).agent_ids for s in range(50)]
    assert first == again
    counts = Counter(ids[0] for ids in first)
    assert set(counts) == {f"a{n}" for n in range(5)}


def test_ring_all_rings_every_eligible_agent() -> None:
    """Ring all: every ready agent of the group rings; the first to answer wins."""
    cfg = config(strategy=Strategy.RING_ALL)
    agents = [ready("b", order=2), ready("a", order=1), talking("c"), not_ready("d")]
    selection = pick(cfg, agents)
    assert selection.agent_ids == ("a", "b")
    assert selection.agent_id == "a"


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_picks_among_eligible_agents_only(strategy: Strategy) -> None:
    """Whatever the strategy, a not-ready or out-of-group agent is never chosen."""
    agents = [ready("ok1", idle=5.0, order=2), ready("ok2", idle=6.0, order=1)]
    agents += [not_ready("nr"), ready("other", groups=("support",), idle=0.0)]
    chosen = pick(config(strategy=strategy), agents).agent_ids
    assert chosen
    assert set(chosen) <= {"ok1", "ok2"}


# --- ring-no-answer skip ---------------------------------------------------------------


def test_an_agent_who_missed_the_call_is_skipped_for_its_next_offer() -> None:
    """The longest-idle agent let the call ring out; the next offer goes to someone else."""
    queue = CallQueue(config(strategy=Strategy.LONGEST_IDLE))
    agents = {"slow": ready("slow", idle=1.0), "fast": ready("fast", idle=500.0)}
    queue.enqueue(WaitingCall("c1", 900.0), 900.0)
    (first,) = next_assignments([queue], list(agents.values()), NOW, random.Random(0))
    assert first.agent_ids == ("slow",)
    apply_assignment(queue, agents, first, NOW)
    agents["slow"].handle(OfferNotAnswered("c1"), NOW + 20)
    queue.offer_not_answered("c1", ["slow"])
    agents["slow"].stats.idle_since = 0.0  # still the longest idle on paper
    (second,) = next_assignments([queue], list(agents.values()), NOW + 20, random.Random(0))
    assert second.agent_ids == ("fast",)


def test_the_ring_timeout_ends_the_offer_and_moves_the_call_on() -> None:
    """Nobody answers within the queue's ring timeout: the queue ends the offer, the agent
    is told, and the next routing decision offers the call to someone else."""
    queue = CallQueue(config(ring_timeout=15.0))
    agents = {"a": ready("a", idle=1.0), "b": ready("b", idle=2.0)}
    queue.enqueue(WaitingCall("c1", NOW), NOW)
    (first,) = next_assignments([queue], list(agents.values()), NOW, random.Random(0))
    assert (first.agent_ids, first.ring_until) == (("a",), NOW + 15.0)
    apply_assignment(queue, agents, first, NOW)
    assert queue.get_timer() == NOW + 15.0
    assert queue.expire_offers(NOW + 14.9) == []
    (rang_out,) = queue.expire_offers(NOW + 15.0)
    for agent_id in rang_out.offered_to:
        agents[agent_id].handle(OfferNotAnswered(rang_out.call_id), NOW + 15.0)
    agents["a"].stats.idle_since = 0.0
    (second,) = next_assignments([queue], list(agents.values()), NOW + 15, random.Random(0))
    assert second.agent_ids == ("b",)


def test_the_skip_lasts_for_one_offer_only() -> None:
    """Once offered to someone else, the agent who missed may be offered the call again."""
    cfg = config()
    call = WaitingCall("c1", 0.0, skip_agent_ids=frozenset({"a"}))
    agents = [ready("a", idle=1.0), ready("b", idle=2.0)]
    assert pick(cfg, agents, call).agent_ids == ("b",)
    # Alone, the agent who missed is offered the call again rather than leaving it waiting.
    assert pick(cfg, [agents[0]], call).agent_ids == ("a",)
    queue = CallQueue(cfg)
    queue.enqueue(call, 0.0)
    queue.mark_offered("c1", ["b"], 1.0)
    queue.offer_not_answered("c1")
    assert pick(cfg, agents, queue.get("c1")).agent_ids == ("a",)


def test_missing_offers_in_a_row_takes_the_agent_out_of_routing() -> None:
    """After N ring-no-answers the agent is NOT_READY and no longer offered calls."""
    cfg = config()
    lazy = Agent("lazy", memberships=(Membership("sales"),), max_missed_offers=2)
    lazy.handle(LogIn(), 0.0)
    lazy.handle(GoReady(), 0.0)
    for n in range(2):
        assert pick(cfg, [lazy]).agent_ids == ("lazy",)
        lazy.handle(CallOffered(f"c{n}"), NOW)
        lazy.handle(OfferNotAnswered(f"c{n}"), NOW + 20)
    assert lazy.state is AgentState.NOT_READY
    assert pick(cfg, [lazy]).agent_ids == ()


# --- preferred agents ------------------------------------------------------------------


def sticky(**kwargs: object) -> QueueConfig:
    return config(sticky_agent=True, sticky_wait=30.0, **kwargs)


def owner(**kwargs: object) -> QueueConfig:
    return config(owner_agent=True, owner_wait=60.0, **kwargs)


def test_a_returning_customer_gets_their_previous_agent() -> None:
    """后续呼叫: the last agent is free, so they get the call over the longest idle."""
    call = WaitingCall("c1", NOW, last_agent_id="last")
    agents = [ready("idle-longest", idle=1.0), ready("last", idle=900.0)]
    selection = pick(sticky(), agents, call)
    assert selection.agent_ids == ("last",)
    assert selection.reason is SelectionReason.STICKY_AGENT


def test_the_call_waits_for_a_busy_previous_agent_for_a_while() -> None:
    """The last agent is talking: the call waits up to sticky_wait for them."""
    call = WaitingCall("c1", NOW, last_agent_id="last")
    agents = [ready("other", idle=1.0), talking("last")]
    selection = pick(sticky(), agents, call, now=NOW + 10)
    assert selection.agent_ids == ()
    assert selection.reason is SelectionReason.WAIT_FOR_PREFERRED
    assert selection.wait_until == NOW + 30
    assert selection.preferred_agent_id == "last"


def test_after_the_sticky_wait_the_call_falls_back_to_the_strategy() -> None:
    """Past sticky_wait the call goes to whoever the strategy picks."""
    call = WaitingCall("c1", NOW, last_agent_id="last")
    agents = [ready("other", idle=1.0), talking("last")]
    selection = pick(sticky(), agents, call, now=NOW + 30)
    assert selection.agent_ids == ("other",)
    assert selection.reason is SelectionReason.STRATEGY


@pytest.mark.parametrize("gone", ["not-ready", "logged-out", "unknown", "other-group"])
def test_no_wait_for_a_previous_agent_who_cannot_take_calls(gone: str) -> None:
    """Waiting is pointless if the last agent is on a break, gone, or not in the queue."""
    agents = [ready("other", idle=1.0)]
    if gone == "not-ready":
        agents.append(not_ready("last"))
    elif gone == "logged-out":
        agents.append(Agent("last", memberships=(Membership("sales"),)))
    elif gone == "other-group":
        agents.append(talking("last", groups=("support",)))
    call = WaitingCall("c1", NOW, last_agent_id="last")
    assert pick(sticky(), agents, call).agent_ids == ("other",)


def test_a_previous_agent_who_missed_this_call_is_not_waited_for() -> None:
    """If the sticky agent let this call ring out, it falls back at once."""
    call = WaitingCall("c1", NOW, last_agent_id="last", skip_agent_ids=frozenset({"last"}))
    agents = [ready("other", idle=900.0), ready("last", idle=1.0)]
    assert pick(sticky(), agents, call).agent_ids == ("other",)


def test_sticky_routing_is_off_unless_configured() -> None:
    """Without sticky_agent the previous agent gets no special treatment."""
    call = WaitingCall("c1", NOW, last_agent_id="last")
    agents = [ready("other", idle=1.0), ready("last", idle=900.0)]
    assert pick(config(), agents, call).agent_ids == ("other",)


def test_the_customer_owner_gets_the_call() -> None:
    """客户归属: the owning agent is free and gets the call."""
    call = WaitingCall("c1", NOW, owner_agent_id="owner")
    agents = [ready("other", idle=1.0), ready("owner", idle=900.0)]
    selection = pick(owner(), agents, call)
    assert selection.agent_ids == ("owner",)
    assert selection.reason is SelectionReason.OWNER_AGENT


def test_the_call_waits_for_a_busy_owner_then_falls_back() -> None:
    """The owner is in wrap-up: wait up to owner_wait, then anyone."""
    owner_agent = talking("owner")
    owner_agent.handle(CallEnded("other"), NOW)
    call = WaitingCall("c1", NOW, owner_agent_id="owner")
    agents = [ready("other", idle=1.0), owner_agent]
    waiting = pick(owner(), agents, call, now=NOW + 59)
    assert waiting.reason is SelectionReason.WAIT_FOR_PREFERRED
    assert waiting.wait_until == NOW + 60
    assert pick(owner(), agents, call, now=NOW + 60).agent_ids == ("other",)


def test_the_previous_agent_comes_before_the_owner() -> None:
    """Both free: the customer's last agent wins over their owner."""
    cfg = config(sticky_agent=True, owner_agent=True)
    call = WaitingCall("c1", NOW, last_agent_id="last", owner_agent_id="owner")
    agents = [ready("owner"), ready("last")]
    assert pick(cfg, agents, call).agent_ids == ("last",)


def test_the_owner_is_tried_when_the_previous_agent_wait_is_over() -> None:
    """Sticky wait expired (last agent still busy): the free owner is next, then anyone."""
    cfg = config(sticky_agent=True, sticky_wait=10.0, owner_agent=True, owner_wait=100.0)
    call = WaitingCall("c1", NOW, last_agent_id="last", owner_agent_id="owner")
    agents = [ready("other", idle=1.0), talking("last"), ready("owner", idle=500.0)]
    selection = pick(cfg, agents, call, now=NOW + 20)
    assert (selection.agent_ids, selection.reason) == (("owner",), SelectionReason.OWNER_AGENT)


# --- the matcher -----------------------------------------------------------------------


def make_queue(queue_id: str = "sales", **kwargs: object) -> CallQueue:
    return CallQueue(QueueConfig(queue_id, frozenset({queue_id}), **kwargs))  # type: ignore[arg-type]


def test_the_highest_priority_call_gets_the_only_free_agent() -> None:
    """One agent, two calls: with VIP-first priority the VIP is served, then nothing."""
    queue = make_queue(priority=vip_then_longest_wait)
    queue.enqueue(WaitingCall("plain", 1.0), 1.0)
    queue.enqueue(WaitingCall("vip", 5.0, vip=True), 5.0)
    result = next_assignments([queue], [ready("a")], NOW, random.Random(0))
    assert result == [Assignment("sales", "vip", ("a",), SelectionReason.STRATEGY, NOW + 20.0)]


def test_an_agent_in_two_queues_is_given_to_one_call_only() -> None:
    """A bilingual agent serves sales and support; only the longer-waiting call gets them."""
    sales, support = make_queue("sales"), make_queue("support")
    sales.enqueue(WaitingCall("s1", 20.0), 20.0)
    support.enqueue(WaitingCall("p1", 10.0), 10.0)
    agent = ready("both", groups=("sales", "support"))
    result = next_assignments([sales, support], [agent], NOW, random.Random(0))
    assert [(a.queue_id, a.call_id, a.agent_ids) for a in result] == [("support", "p1", ("both",))]


def test_heavier_queues_are_served_first() -> None:
    """A VIP queue with a higher weight gets the shared agent even if its call is newer."""
    vip_queue = make_queue("vip", weight=10)
    normal = make_queue("normal")
    normal.enqueue(WaitingCall("n1", 1.0), 1.0)
    vip_queue.enqueue(WaitingCall("v1", 900.0), 900.0)
    agent = ready("a", groups=("vip", "normal"))
    (result,) = next_assignments([normal, vip_queue], [agent], NOW, random.Random(0))
    assert result.call_id == "v1"


def test_every_free_agent_is_put_to_work() -> None:
    """Three free agents, five calls in two queues: three assignments, no agent twice."""
    sales, support = make_queue("sales"), make_queue("support")
    for n in range(3):
        sales.enqueue(WaitingCall(f"s{n}", float(n)), float(n))
        support.enqueue(WaitingCall(f"p{n}", n + 0.5), n + 0.5)
    agents = [ready("x", groups=("sales",)), ready("y", groups=("support",))]
    agents.append(ready("z", groups=("sales", "support")))
    result = next_assignments([sales, support], agents, NOW, random.Random(0))
    assert [a.call_id for a in result] == ["s0", "p0", "s1"]
    assert sorted(a.agent_ids[0] for a in result) == ["x", "y", "z"]


def test_ring_all_reserves_every_free_agent_for_one_call() -> None:
    """Ring all: the first call rings everyone, the second call waits."""
    queue = make_queue(strategy=Strategy.RING_ALL)
    queue.enqueue(WaitingCall("c1", 1.0), 1.0)
    queue.enqueue(WaitingCall("c2", 2.0), 2.0)
    agents = [ready("a", groups=("sales",)), ready("b", groups=("sales",))]
    result = next_assignments([queue], agents, NOW, random.Random(0))
    assert result == [Assignment("sales", "c1", ("a", "b"), SelectionReason.STRATEGY, NOW + 20.0)]


def test_calls_already_ringing_are_not_assigned_again() -> None:
    """A call offered to an agent is left alone until that offer ends."""
    queue = make_queue()
    queue.enqueue(WaitingCall("c1", 1.0), 1.0)
    queue.mark_offered("c1", ["gone"], 2.0)
    assert next_assignments([queue], [ready("a")], NOW, random.Random(0)) == []


def test_a_call_waiting_for_its_agent_does_not_block_the_next_call() -> None:
    """The first call holds out for its busy previous agent; the second call is served."""
    queue = make_queue(sticky_agent=True, sticky_wait=60.0)
    queue.enqueue(WaitingCall("c1", NOW - 5, last_agent_id="last"), NOW - 5)
    queue.enqueue(WaitingCall("c2", NOW - 1), NOW - 1)
    agents = [talking("last"), ready("free")]
    plan = plan_assignments([queue], agents, NOW, random.Random(0))
    assert [(a.call_id, a.agent_ids) for a in plan.assignments] == [("c2", ("free",))]
    assert [(w.call_id, w.agent_id, w.until) for w in plan.waits] == [("c1", "last", NOW + 55)]
    assert plan.get_timer() == NOW + 55
    assert RoutingPlan().get_timer() is None


def test_two_calls_for_the_same_previous_agent() -> None:
    """Both callers last spoke to the same free agent: first gets them, second waits."""
    queue = make_queue(sticky_agent=True, sticky_wait=60.0)
    queue.enqueue(WaitingCall("c1", NOW - 5, last_agent_id="last"), NOW - 5)
    queue.enqueue(WaitingCall("c2", NOW - 1, last_agent_id="last"), NOW - 1)
    agents = [ready("last"), talking("busy")]
    plan = plan_assignments([queue], agents, NOW, random.Random(0))
    assert [(a.call_id, a.agent_ids) for a in plan.assignments] == [("c1", ("last",))]
    assert [w.call_id for w in plan.waits] == []  # nobody free left: routing stops early


def test_applying_an_assignment_reserves_agents_and_marks_the_call() -> None:
    """Applying an assignment rings the agents and puts the call under offer."""
    queue = make_queue()
    queue.enqueue(WaitingCall("c1", 1.0), 1.0)
    agents = {"a": ready("a")}
    (assignment,) = next_assignments([queue], list(agents.values()), NOW, random.Random(0))
    apply_assignment(queue, agents, assignment, NOW)
    assert agents["a"].state is AgentState.RESERVED
    assert agents["a"].call_id == "c1"
    assert queue.get("c1").offered_to == ("a",)


def test_applying_an_assignment_is_all_or_nothing() -> None:
    """If one ring-all agent went not-ready meanwhile, nothing is reserved."""
    queue = make_queue(strategy=Strategy.RING_ALL)
    queue.enqueue(WaitingCall("c1", 1.0), 1.0)
    agents = {"a": ready("a"), "b": ready("b")}
    (assignment,) = next_assignments([queue], list(agents.values()), NOW, random.Random(0))
    agents["b"].handle(GoNotReady("lunch"), NOW)
    with pytest.raises(AgentNotReady):
        apply_assignment(queue, agents, assignment, NOW)
    assert agents["a"].state is AgentState.READY
    assert queue.get("c1").offered_to == ()


def test_routing_work_grows_with_free_agents_not_with_calls() -> None:
    """500 agents, 10 queues, 200 waiting calls each: filters run once per queue and
    free agent, and no call's priority is recomputed while routing."""
    filter_calls = 0
    priority_calls = 0

    def counting_filter(cfg: QueueConfig, agent: Agent, now: float) -> bool:
        nonlocal filter_calls
        filter_calls += 1
        return True

    def counting_priority(call: WaitingCall) -> PriorityKey:
        nonlocal priority_calls
        priority_calls += 1
        return longest_wait_first(call)

    queues = [
        make_queue(
            f"q{n}",
            strategy=list(Strategy)[n % len(Strategy)],
            priority=counting_priority,
            extra_filters=(counting_filter,),
        )
        for n in range(10)
    ]
    rng = random.Random(7)
    for n, queue in enumerate(queues):
        for k in range(200):
            entered = rng.uniform(0, NOW)
            queue.enqueue(WaitingCall(f"q{n}-c{k}", entered), entered)
    agents = []
    for n in range(500):
        groups = tuple(f"q{g}" for g in rng.sample(range(10), 3))
        agent = ready(f"a{n:03}", idle=rng.uniform(0, NOW), groups=groups)
        if n % 10:  # nine in ten agents are on a call
            agent.handle(CallOffered(f"busy-{n}"), NOW)
        agents.append(agent)
    assert priority_calls == 2000
    plan = plan_assignments(queues, agents, NOW, rng)
    free = [a for a in agents if a.state is AgentState.READY]
    assert 0 < len(plan.assignments) <= len(free)
    assert priority_calls == 2000
    assert filter_calls <= len(queues) * len(free)
    for agent in agents:
        agent.stats.idle_since = rng.uniform(0, NOW)
        if agent.state is AgentState.RESERVED:
            agent.handle(OfferNotAnswered(agent.call_id or ""), NOW)
    plan = plan_assignments(queues, agents, NOW, rng)
    assigned = [i for a in plan.assignments for i in a.agent_ids]
    assert len(assigned) == len(set(assigned)) <= 500


# --- properties ------------------------------------------------------------------------

GROUPS = ("q0", "q1", "q2")


@settings(max_examples=200, deadline=None)
@given(
    agents=st.lists(
        st.tuples(
            st.sets(st.sampled_from(GROUPS), min_size=1),
            st.booleans(),  # ready?
            st.floats(0, 100),  # idle since
        ),
        max_size=12,
    ),
    calls=st.lists(
        st.tuples(st.sampled_from(range(3)), st.floats(0, 100), st.booleans()), max_size=15
    ),
    strategies=st.lists(st.sampled_from(list(Strategy)), min_size=3, max_size=3),
    seed=st.integers(0, 1000),
)
def test_the_matcher_never_double_books_and_leaves_no_agent_idle_needlessly(
    agents: list[tuple[set[str], bool, float]],
    calls: list[tuple[int, float, bool]],
    strategies: list[Strategy],
    seed: int,
) -> None:
    """Random agents and calls: no agent or call is used twice, every assigned agent is
    ready and serves the queue, and a queue with an unserved call has no free agent left."""
    pool = []
    for n, (groups, is_ready, idle) in enumerate(agents):
        agent = ready(f"a{n}", idle=idle, groups=tuple(sorted(groups)))
        if not is_ready:
            agent.handle(GoNotReady("away"), 0.0)
        pool.append(agent)
    queues = [
        make_queue(g, strategy=strategies[i], priority=vip_then_longest_wait)
        for i, g in enumerate(GROUPS)
    ]
    for n, (q, entered, vip) in enumerate(calls):
        queues[q].enqueue(WaitingCall(f"c{n}", entered, vip=vip), entered)
    plan = plan_assignments(queues, pool, NOW, random.Random(seed))
    by_id = {a.agent_id: a for a in pool}
    booked = [i for a in plan.assignments for i in a.agent_ids]
    assert len(booked) == len(set(booked))
    assert len({a.call_id for a in plan.assignments}) == len(plan.assignments)
    cfgs = {q.queue_id: q.config for q in queues}
    for assignment in plan.assignments:
        for agent_id in assignment.agent_ids:
            assert eligible(cfgs[assignment.queue_id], by_id[agent_id], NOW)
    assigned_calls = {a.call_id for a in plan.assignments}
    for queue in queues:
        unserved = [c for c in queue.ordered() if c.call_id not in assigned_calls]
        if unserved:
            idle_left = [
                a for a in pool if eligible(queue.config, a, NOW) and a.agent_id not in booked
            ]
            assert idle_left == []
        served = [c.call_id for c in queue.ordered() if c.call_id in assigned_calls]
        assert served == [c.call_id for c in queue.ordered()][: len(served)]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_simulated_shift_keeps_agents_and_queues_in_step(seed: int) -> None:
    """A random hour of calls, answers, ring-outs, hang-ups and breaks, driven through the
    real routing: a ringing agent always belongs to exactly one offered call, and every
    offered call rings only RESERVED agents holding that call."""
    rng = random.Random(seed)
    queues = [
        make_queue("q0", strategy=rng.choice(list(Strategy)), max_wait=90.0, ring_timeout=10.0),
        make_queue("q1", strategy=rng.choice(list(Strategy)), sticky_agent=True, sticky_wait=20.0),
    ]
    by_queue = {q.queue_id: q for q in queues}
    agents = {
        f"a{n}": ready(f"a{n}", groups=tuple(rng.sample(["q0", "q1"], rng.randint(1, 2))))
        for n in range(6)
    }
    now, calls = 0.0, 0
    for _ in range(80):
        now += rng.uniform(0.0, 6.0)
        roll = rng.random()
        ringing = [(q, c) for q in queues for c in q.ordered() if c.offered_to]
        if roll < 0.3:
            calls += 1
            queue = rng.choice(queues)
            last = rng.choice([None, *agents])
            queue.enqueue(WaitingCall(f"c{calls}", now, last_agent_id=last), now)
        elif roll < 0.5 and ringing:
            queue, call = rng.choice(ringing)
            winner = rng.choice(call.offered_to)
            queue.remove_answered(call.call_id, now)
            for agent_id in call.offered_to:
                event = CallAnswered if agent_id == winner else OfferWithdrawn
                agents[agent_id].handle(event(call.call_id), now)
        elif roll < 0.6 and ringing:
            queue, call = rng.choice(ringing)
            queue.abandon(call.call_id, now)
            for agent_id in call.offered_to:
                agents[agent_id].handle(OfferWithdrawn(call.call_id), now)
        elif roll < 0.8:
            agent = rng.choice(list(agents.values()))
            if agent.state is AgentState.TALKING and agent.call_id is not None:
                agent.handle(CallEnded(agent.call_id, wrap_up_seconds=rng.choice([0.0, 5.0])), now)
            elif agent.state is AgentState.NOT_READY:
                agent.handle(GoReady(), now)
            elif agent.state is AgentState.READY:
                agent.handle(GoNotReady("break"), now)
        for agent in agents.values():
            agent.handle_timer(now)
        for queue in queues:
            for call in queue.expire_offers(now):
                for agent_id in call.offered_to:
                    agents[agent_id].handle(OfferNotAnswered(call.call_id), now)
            queue.expire(now)
        plan = plan_assignments(queues, list(agents.values()), now, rng)
        for assignment in plan.assignments:
            apply_assignment(by_queue[assignment.queue_id], agents, assignment, now)
        ringing_agents = [
            (agent_id, c.call_id) for q in queues for c in q.ordered() for agent_id in c.offered_to
        ]
        assert len({a for a, _ in ringing_agents}) == len(ringing_agents)
        for agent_id, call_id in ringing_agents:
            assert agents[agent_id].state is AgentState.RESERVED
            assert agents[agent_id].call_id == call_id
        reserved = {a.agent_id for a in agents.values() if a.state is AgentState.RESERVED}
        assert reserved == {a for a, _ in ringing_agents}
