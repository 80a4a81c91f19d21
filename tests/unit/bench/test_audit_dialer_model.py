"""An integrator writes a traffic model for `callcenter bench dialer` by hand.

Every key is optional, so a nested mapping given in part takes the rest from the
defaults; a model that cannot run or means nothing is refused in Chinese and English,
naming the key, before a single call is dialled; the command says so without a
traceback, and its help lists the keys.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
from pathlib import Path

import pytest

from callcenter import cli
from callcenter.bench.dialer import (
    BadModel,
    Shift,
    TrafficModel,
    load_model,
    make_pacer,
    parse_seeds,
    run_shift,
)
from callcenter.switch.sim.customers import LogNormal


def model_file(tmp_path: Path, text: str, name: str = "mine.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_nested_key_given_in_part_takes_the_rest_from_the_defaults(tmp_path: Path) -> None:
    model = load_model(model_file(tmp_path, "agents: 2\ntalk: {mean: 60}\nlogin: {}\n"))
    assert model.talk == {"mean": 60, "cv": 0.8}
    assert model.login == {"pattern": "all", "spread_minutes": 0}
    talk = model.customers().talk_time
    assert isinstance(talk, LogNormal)
    assert talk.median == pytest.approx(60 / math.sqrt(1.64))
    assert talk.sigma == pytest.approx(math.sqrt(math.log1p(0.64)))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("talk: {mean: 60, sd: 9}\n", "sd"),
        ("login: {pattern: staggered, spred_minutes: 5}\n", "spred_minutes"),
        ("login: {pattern: stagered, spread_minutes: 5}\n", "login.pattern"),
        ("login: {pattern: staggered, spread_minutes: -1}\n", "login.spread_minutes"),
        ("answer_delay: {min: 20, max: 10}\n", "answer_delay.max"),
        ("answer_delay: 15\n", "answer_delay"),
        ("shift_hours: -1\n", "shift_hours"),
        ("shift_hours: 0\n", "shift_hours"),
        ("wrap_up: -5\n", "wrap_up"),
        ("talk: {cv: -0.1}\n", "talk.cv"),
        ("talk: {mean: 0}\n", "talk.mean"),
        ("no_answer_timeout: 0\n", "no_answer_timeout"),
        ("fast_failure_share: 1.5\n", "fast_failure_share"),
        ("human_answer: 0\n", "human_answer"),
        ("human_answer: 0.8\nmachine_share: 0.3\n", "human_answer + machine_share"),
        ("agents: two\n", "agents"),
        ("agents: 2.5\n", "agents"),
        ("agents: 0\n", "agents"),
        ("wrap_up: ten\n", "wrap_up"),
        ("wrap_up: .nan\n", "wrap_up"),
    ],
)
def test_a_model_that_cannot_run_is_refused_naming_its_key(
    tmp_path: Path, text: str, key: str
) -> None:
    with pytest.raises(BadModel) as refused:
        load_model(model_file(tmp_path, text))
    assert key in refused.value.message("en")
    assert key in refused.value.message("zh-CN")
    assert refused.value.message("zh-CN") != refused.value.message("en")


def test_the_edges_a_user_may_well_write_are_accepted(tmp_path: Path) -> None:
    """Every call answered by a person, one agent, a constant talk time, answer delays
    without spread, agents logging in over the first minute."""
    model = load_model(
        model_file(
            tmp_path,
            "agents: 1\nhuman_answer: 1\nmachine_share: 0\ntalk: {cv: 0}\n"
            "answer_delay: {sd: 0}\nwrap_up: 0\nshift_hours: 0.05\n"
            "login: {pattern: staggered, spread_minutes: 1}\n",
        )
    )
    assert model.customers().talk_time.sample(random.Random(1)) == pytest.approx(90.0)
    assert model.login_offsets() == [0.0]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("nowhere/missing.yaml", "missing.yaml"),
        ("agents-7", "agents-7"),
    ],
)
def test_a_model_that_is_neither_a_file_nor_shipped_is_refused(spec: str, words: str) -> None:
    with pytest.raises(BadModel, match=words):
        load_model(spec)


def test_a_file_that_is_not_yaml_or_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadModel, match="line 3"):
        load_model(model_file(tmp_path, "agents: 3\nwrap_up: [\n"))
    with pytest.raises(BadModel, match="mapping"):
        load_model(model_file(tmp_path, "- agents\n- 3\n"))
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("agents: 3 # café\n".encode("latin-1"))
    with pytest.raises(BadModel, match="cannot read"):
        load_model(str(latin))


def test_a_model_file_may_have_any_name(tmp_path: Path) -> None:
    assert load_model(model_file(tmp_path, "agents: 4\n", name="floor.txt")).agents == 4


@pytest.mark.parametrize("text", ["1,x", ",", "", "1,1", "1.5"])
def test_seeds_that_are_not_distinct_whole_numbers_are_refused(text: str) -> None:
    with pytest.raises(BadModel, match="--seeds"):
        parse_seeds(text)


def test_seeds_are_read_with_spaces_and_a_trailing_comma() -> None:
    assert parse_seeds("3, 1,2,") == [3, 1, 2]


def test_the_command_refuses_bad_input_in_both_languages_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = model_file(tmp_path, "agents: 2\ntalk: {mean: 60, sd: 9}\n")
    assert cli.main(["bench", "dialer", "--model", model, "--seeds", "1"]) == 1
    err = capsys.readouterr().err
    assert "压测输入有误" in err
    assert "bad benchmark input" in err
    assert "Traceback" not in err
    assert cli.main(["bench", "dialer", "--model", "agents-20", "--seeds", "1,x"]) == 1
    assert "--seeds" in capsys.readouterr().err


def test_the_help_lists_every_model_key(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["bench", "dialer", "--help"])
    out = capsys.readouterr().out
    for key in TrafficModel.__dataclass_fields__.keys() - {"name"}:
        assert key in out, key
    assert "staggered" in out


def test_a_shift_shorter_than_an_hour_is_its_own_worst_window() -> None:
    """Before: no whole hour fitted in a 12-minute shift, so the worst window read 0%
    beside an abandonment of 40%."""
    start = 1000.0
    shift = Shift(agent_seconds=1440.0, answers=[(1100.0, False), (1300.0, True)], live=2)
    shift.abandoned = 1
    assert shift.worst_hour(start, start + 720.0) == 0.5
    hour = Shift(agent_seconds=7200.0, answers=[(1100.0, True), (5000.0, False)])
    assert hour.worst_hour(start, start + 3600.0) == 1.0


STAGGERED = TrafficModel(
    name="staggered",
    agents=2,
    human_answer=1.0,
    machine_share=0.0,
    answer_delay={"mean": 5.0, "sd": 0.0, "min": 5.0, "max": 5.0},
    talk={"mean": 20.0, "cv": 0.0},
    wrap_up=0.0,
    shift_hours=0.1,
    login={"pattern": "staggered", "spread_minutes": 10},
)


async def test_the_first_agents_of_a_staggered_login_take_calls_at_once() -> None:
    """Six minutes, every call a 20-second conversation after 5 s: agent 1000 logs in at
    0:00 and agent 1001 at 5:00. Before, the dialer started only when the last agent
    was in, so agent 1000 sat five minutes unused (6 connects, 21% talk)."""
    async with asyncio.timeout(20):
        shift = await run_shift(STAGGERED, 1, make_pacer("progressive"))
    assert shift.agent_seconds == 360.0 + 60.0
    assert shift.connects >= 12
    assert shift.talk / shift.agent_seconds > 0.6


async def test_an_agent_due_after_the_shift_never_logs_in() -> None:
    """The second agent is due at 7:00 of a six-minute shift: the shift is agent 1000's
    alone (before, it counted minus one minute of agent time and dialled nothing)."""
    late = dataclasses.replace(STAGGERED, login={"pattern": "staggered", "spread_minutes": 14})
    async with asyncio.timeout(20):
        shift = await run_shift(late, 1, make_pacer("progressive"))
    assert shift.agent_seconds == 360.0
    assert shift.connects >= 10
