"""Call queues: priority order, position and estimates, overflow and the 呼损 log."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.domain.errors import (
    CallAlreadyOffered,
    CallAlreadyQueued,
    CallNotOffered,
    CallNotQueued,
    InvalidQueueConfig,
)
from callcenter.domain.queue import (
    AbandonReason,
    CallQueue,
    Enqueued,
    Overflowed,
    OverflowKind,
    OverflowTarget,
    PriorityKey,
    QueueConfig,
    WaitingCall,
    by_rules,
    explicit_then_longest_wait,
    long_distance,
    long_distance_first,
    longest_wait_first,
    vip_and_tier,
    vip_then_longest_wait,
)

SALES = frozenset({"sales"})
TO_SUPPORT = OverflowTarget(OverflowKind.QUEUE, "support")
TO_MOBILE = OverflowTarget(OverflowKind.NUMBER, "13800138000")


def make_queue(**kwargs: object) -> CallQueue:
    return CallQueue(QueueConfig("sales", SALES, **kwargs))  # type: ignore[arg-type]


def order(queue: CallQueue) -> list[str]:
    return [c.call_id for c in queue.ordered()]


def test_by_default_the_longest_waiting_caller_is_first() -> None:
    """MPWC: calls are served in the order they entered, whatever they are."""
    queue = make_queue()
    queue.enqueue(WaitingCall("late", 20.0, vip=True), 20.0)
    queue.enqueue(WaitingCall("early", 10.0), 20.0)
    queue.enqueue(WaitingCall("middle", 15.0, priority=9), 20.0)
    assert queue.config.priority is longest_wait_first
    assert order(queue) == ["early", "middle", "late"]


def test_equal_entry_times_are_served_in_arrival_order() -> None:
    """Two calls entering in the same instant keep their arrival order."""
    queue = make_queue()
    for name in ("a", "b", "c"):
        queue.enqueue(WaitingCall(name, 5.0), 5.0)
    assert order(queue) == ["a", "b", "c"]


def test_vips_and_higher_tiers_go_first_then_the_longest_wait() -> None:
    """VIP beats tier, tier beats waiting time, waiting time breaks the remaining ties."""
    queue = make_queue(priority=vip_then_longest_wait)
    queue.enqueue(WaitingCall("plain-early", 1.0), 9.0)
    queue.enqueue(WaitingCall("gold", 5.0, tier=2), 9.0)
    queue.enqueue(WaitingCall("silver", 2.0, tier=1), 9.0)
    queue.enqueue(WaitingCall("vip-late", 8.0, vip=True), 9.0)
    queue.enqueue(WaitingCall("vip-early", 6.0, vip=True), 9.0)
    queue.enqueue(WaitingCall("plain-late", 3.0), 9.0)
    assert order(queue) == ["vip-early", "vip-late", "gold", "silver", "plain-early", "plain-late"]


def test_long_distance_callers_go_first() -> None:
    """Long-distance callers pay more per minute, so they are answered first."""
    queue = make_queue(priority=long_distance_first)
    queue.enqueue(WaitingCall("local", 1.0), 9.0)
    queue.enqueue(WaitingCall("far-late", 7.0, long_distance=True), 9.0)
    queue.enqueue(WaitingCall("far-early", 4.0, long_distance=True), 9.0)
    assert order(queue) == ["far-early", "far-late", "local"]


def test_an_explicit_priority_goes_first() -> None:
    """A call given a higher explicit priority (e.g. by the IVR) jumps the line."""
    queue = make_queue(priority=explicit_then_longest_wait)
    queue.enqueue(WaitingCall("normal", 1.0), 9.0)
    queue.enqueue(WaitingCall("urgent", 8.0, priority=5), 9.0)
    queue.enqueue(WaitingCall("raised", 3.0, priority=1), 9.0)
    assert order(queue) == ["urgent", "raised", "normal"]


def test_rules_compose_in_order_of_importance() -> None:
    """Rules combine: here long distance first, then VIP, then the longest wait."""
    queue = make_queue(priority=by_rules(long_distance, vip_and_tier))
    queue.enqueue(WaitingCall("vip-local", 1.0, vip=True), 9.0)
    queue.enqueue(WaitingCall("far", 2.0, long_distance=True), 9.0)
    queue.enqueue(WaitingCall("far-vip", 3.0, long_distance=True, vip=True), 9.0)
    assert order(queue) == ["far-vip", "far", "vip-local"]


def test_the_priority_function_is_pluggable() -> None:
    """Any function from a call to a sort key can order the queue (here: newest first)."""

    def newest_first(call: WaitingCall) -> PriorityKey:
        return (-call.entered_at,)

    queue = make_queue(priority=newest_first)
    queue.enqueue(WaitingCall("old", 1.0), 9.0)
    queue.enqueue(WaitingCall("new", 2.0), 9.0)
    assert order(queue) == ["new", "old"]


def test_position_is_announced_on_entry_and_moves_up() -> None:
    """The announcement says "you are number N"; N drops as calls ahead are answered."""
    queue = make_queue()
    assert queue.enqueue(WaitingCall("a", 1.0), 1.0) == Enqueued("a", 1)
    assert queue.enqueue(WaitingCall("b", 2.0), 2.0) == Enqueued("b", 2)
    assert queue.enqueue(WaitingCall("c", 3.0), 3.0) == Enqueued("c", 3)
    queue.remove_answered("a", 10.0)
    assert queue.position("c") == 2


def test_calls_already_ringing_an_agent_do_not_count_as_ahead() -> None:
    """A call being offered to an agent is about to leave, so it is not counted ahead."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 1.0), 1.0)
    queue.enqueue(WaitingCall("b", 2.0), 2.0)
    queue.mark_offered("a", ["1001"], 3.0)
    assert queue.position("b") == 1
    assert [c.call_id for c in queue.waiting_for_agent()] == ["b"]


def test_estimated_wait_uses_position_handle_time_and_agents() -> None:
    """Third in line, 2 agents, 3 minutes per call: about 4.5 minutes."""
    queue = make_queue()
    for n in range(3):
        queue.enqueue(WaitingCall(f"c{n}", float(n)), float(n))
    assert queue.estimated_wait("c2", agents_serving=2, average_handle_seconds=180.0) == 270.0
    assert queue.estimated_wait("c2", agents_serving=0, average_handle_seconds=180.0) is None


def test_a_full_queue_refuses_the_call_to_its_full_target() -> None:
    """Past the maximum length a new call is refused, logged, and sent to the full target."""
    queue = make_queue(max_length=2, overflow=TO_SUPPORT, full_target=TO_MOBILE)
    queue.enqueue(WaitingCall("a", 1.0), 1.0)
    queue.enqueue(WaitingCall("b", 2.0), 2.0)
    result = queue.enqueue(WaitingCall("c", 3.0, customer_id="cust-9"), 3.0)
    assert isinstance(result, Overflowed)
    assert result.target == TO_MOBILE
    assert result.record.reason is AbandonReason.QUEUE_FULL
    assert result.record.waited == 0.0
    assert result.record.customer_id == "cust-9"
    assert "c" not in queue
    assert len(queue) == 2
    assert queue.take_abandoned() == [result.record]


def test_a_full_queue_without_full_target_uses_the_overflow_target() -> None:
    """With only one overflow target configured, a full queue sends calls there too."""
    queue = make_queue(max_length=0, overflow=TO_SUPPORT)
    result = queue.enqueue(WaitingCall("a", 1.0), 1.0)
    assert isinstance(result, Overflowed)
    assert result.target == TO_SUPPORT


def test_a_call_overflows_after_the_maximum_wait() -> None:
    """After max wait the call leaves for the overflow queue and is logged as 呼损."""
    queue = make_queue(max_wait=60.0, overflow=TO_SUPPORT)
    queue.enqueue(WaitingCall("a", 10.0), 10.0)
    queue.enqueue(WaitingCall("b", 30.0), 30.0)
    assert queue.get_timer() == 70.0
    assert queue.expire(69.9) == []
    gone = queue.expire(70.0)
    assert [o.call.call_id for o in gone] == ["a"]
    record = gone[0].record
    assert (record.entered_at, record.left_at, record.waited) == (10.0, 70.0, 60.0)
    assert record.reason is AbandonReason.MAX_WAIT_OVERFLOW
    assert record.overflow == TO_SUPPORT
    assert queue.get_timer() == 90.0
    assert order(queue) == ["b"]


def test_overflow_can_go_to_an_external_number() -> None:
    """The overflow target may be an outside number (e.g. a supervisor's mobile)."""
    queue = make_queue(max_wait=30.0, overflow=TO_MOBILE)
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    (gone,) = queue.expire(100.0)
    assert gone.target == OverflowTarget(OverflowKind.NUMBER, "13800138000")


def test_a_queue_without_max_wait_never_overflows() -> None:
    """No maximum wait: no timer and nothing expires."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    assert queue.get_timer() is None
    assert queue.expire(1e9) == []


def test_a_call_ringing_an_agent_is_not_overflowed() -> None:
    """While an agent's phone rings the call stays; it can overflow after the offer ends."""
    queue = make_queue(max_wait=30.0, overflow=TO_SUPPORT)
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    queue.mark_offered("a", ["1001"], 25.0)
    assert queue.get_timer() == 45.0  # the ring timeout, not the maximum wait
    assert queue.expire(40.0) == []
    queue.offer_not_answered("a")
    assert [o.call.call_id for o in queue.expire(45.0)] == ["a"]


def test_a_caller_who_hangs_up_is_logged_as_abandoned() -> None:
    """The caller gave up after 42 seconds: one 呼损 record, reason caller-hung-up."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 8.0, customer_id="cust-1"), 8.0)
    record = queue.abandon("a", 50.0)
    assert record.reason is AbandonReason.CALLER_HUNG_UP
    assert record.waited == 42.0
    assert record.overflow is None
    assert len(queue) == 0
    assert queue.take_abandoned() == [record]
    assert queue.take_abandoned() == []


def test_calls_refused_for_no_agents_or_after_hours_are_logged() -> None:
    """No agents logged in overflows like a full queue; after hours has no target."""
    queue = make_queue(overflow=TO_SUPPORT)
    no_agents = queue.refuse(WaitingCall("a", 1.0), 1.0, AbandonReason.NO_AGENTS)
    closed = queue.refuse(WaitingCall("b", 2.0), 2.0, AbandonReason.AFTER_HOURS)
    assert no_agents.target == TO_SUPPORT
    assert closed.target is None
    assert [r.reason.value for r in queue.take_abandoned()] == ["no-agents", "after-hours"]


def test_answered_calls_leave_and_feed_the_average_wait() -> None:
    """Answering removes the call and counts its wait for the queue's statistics."""
    queue = make_queue()
    assert queue.average_answered_wait() is None
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    queue.enqueue(WaitingCall("b", 0.0), 0.0)
    queue.remove_answered("a", 10.0)
    queue.remove_answered("b", 30.0)
    assert queue.answered == 2
    assert queue.average_answered_wait() == 20.0
    assert queue.take_abandoned() == []


def test_a_missed_offer_puts_the_call_back_skipping_those_agents_once() -> None:
    """Nobody answered: the call is back in line and the missing agents are noted."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    queue.mark_offered("a", ["1001"], 1.0)
    assert queue.last_offered_agent_id == "1001"
    queue.offer_not_answered("a")
    call = queue.get("a")
    assert call.offered_to == ()
    assert call.skip_agent_ids == {"1001"}
    queue.mark_offered("a", ["1002"], 2.0)
    assert queue.get("a").skip_agent_ids == frozenset()


def test_offers_ringing_past_the_ring_timeout_are_ended() -> None:
    """The ring timeout is the queue's: expire_offers puts the call back in line and
    returns it with the agents who did not answer, to be skipped next time."""
    queue = make_queue(ring_timeout=20.0)
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    queue.enqueue(WaitingCall("b", 0.0), 0.0)
    queue.mark_offered("a", ["1001", "1002"], 10.0)
    queue.mark_offered("b", ["1003"], 15.0)
    assert queue.get("a").offered_until == 30.0
    assert queue.get_timer() == 30.0
    (expired,) = queue.expire_offers(30.0)
    assert (expired.call_id, expired.offered_to) == ("a", ("1001", "1002"))
    assert queue.get("a").offered_to == ()
    assert queue.get("a").offered_until is None
    assert queue.get("a").skip_agent_ids == {"1001", "1002"}
    assert queue.get("b").offered_to == ("1003",)
    assert queue.get_timer() == 35.0


def test_a_withdrawn_offer_skips_nobody() -> None:
    """An offer that ended through no fault of the agent does not mark anyone to skip."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    queue.mark_offered("a", ["1001", "1002"], 1.0)
    queue.offer_withdrawn("a")
    assert queue.get("a").skip_agent_ids == frozenset()


def test_offer_bookkeeping_errors() -> None:
    """Offering twice, or ending an offer that was not made, are refused."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    with pytest.raises(CallNotOffered):
        queue.offer_not_answered("a")
    with pytest.raises(CallNotOffered):
        queue.mark_offered("a", [], 1.0)
    queue.mark_offered("a", ["1001"], 1.0)
    with pytest.raises(CallAlreadyOffered) as caught:
        queue.mark_offered("a", ["1002"], 1.0)
    assert caught.value.status == 409
    assert queue.get("a").offered_to == ("1001",)


def test_unknown_and_duplicate_calls_are_refused() -> None:
    """A call cannot wait twice in a queue, and unknown calls are a 404."""
    queue = make_queue()
    queue.enqueue(WaitingCall("a", 0.0), 0.0)
    with pytest.raises(CallAlreadyQueued):
        queue.enqueue(WaitingCall("a", 5.0), 5.0)
    with pytest.raises(CallNotQueued) as caught:
        queue.abandon("zzz", 1.0)
    assert caught.value.status == 404
    assert caught.value.details == {"queue_id": "sales", "call_id": "zzz"}
    with pytest.raises(CallNotQueued):
        queue.remove_answered("zzz", 1.0)
    assert order(queue) == ["a"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"groups": frozenset()},
        {"max_wait": 0.0},
        {"max_length": -1},
        {"ring_timeout": 0.0},
        {"sticky_wait": -1.0},
        {"owner_wait": -5.0},
        {"min_skill_level": -1},
    ],
)
def test_invalid_queue_settings_are_refused(kwargs: dict[str, object]) -> None:
    """Nonsense settings are a 422 with the queue id and the problem."""
    settings_ = {"queue_id": "sales", "groups": SALES, **kwargs}
    with pytest.raises(InvalidQueueConfig) as caught:
        QueueConfig(**settings_)  # type: ignore[arg-type]
    assert caught.value.status == 422
    assert caught.value.details["queue_id"] == "sales"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.booleans(), st.integers(0, 3)),
        min_size=1,
        max_size=30,
    )
)
def test_positions_follow_the_priority_order(calls: list[tuple[int, bool, int]]) -> None:
    """Whatever arrives, positions are 1..n in priority order, and VIPs come first."""
    queue = make_queue(priority=vip_then_longest_wait)
    for n, (entered, vip, tier) in enumerate(calls):
        queue.enqueue(WaitingCall(f"c{n}", float(entered), vip=vip, tier=tier), 60.0)
    ordered = queue.ordered()
    assert [queue.position(c.call_id) for c in ordered] == list(range(1, len(calls) + 1))
    keys = [(not c.vip, -c.tier, c.entered_at, c.seq) for c in ordered]
    assert keys == sorted(keys)
