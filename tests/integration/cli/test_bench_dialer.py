"""`callcenter bench dialer` on a short model: every policy, the documented JSON keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcenter.bench.dialer import POLICIES, TrafficModel, load_model
from callcenter.bench.harness import cli_env, run_cli

KEYS = {
    "talk_utilisation",
    "occupancy",
    "abandon_mean",
    "abandon_max",
    "abandon_worst_window",
    "connects_per_agent_hour",
    "dials_per_agent_hour",
    "given_up_per_agent_hour",
}

SHORT = """\
agents: 3
human_answer: 0.3
machine_share: 0.1
answer_delay: {mean: 10, sd: 3, min: 2, max: 25}
no_answer_timeout: 25
fast_failure_share: 0.2
talk: {mean: 40, cv: 0.5}
wrap_up: 5
shift_hours: 0.03
login: {pattern: staggered, spread_minutes: 1}
"""


def test_the_bench_compares_every_policy_on_a_model_file(tmp_path: Path) -> None:
    """Two minutes of a three-agent floor, one seed: JSON with the model and the four
    policies, each with its fractions and rates."""
    model = tmp_path / "short.yaml"
    model.write_text(SHORT, encoding="utf-8")
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    result = run_cli(env, "bench", "dialer", "--model", str(model), "--seeds", "1", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["model"]["agents"] == 3
    assert figures["model"]["seeds"] == [1]
    assert set(figures["policies"]) == set(POLICIES)
    for name, policy in figures["policies"].items():
        assert set(policy) >= KEYS, name
        assert 0.0 <= policy["talk_utilisation"] <= policy["occupancy"] <= 1.0
        assert 0.0 <= policy["abandon_mean"] <= policy["abandon_max"] <= 1.0
        assert policy["dials_per_agent_hour"] >= policy["connects_per_agent_hour"] > 0
    assert figures["policies"]["progressive"]["abandon_max"] == 0.0
    assert figures["policies"]["progressive"]["given_up_per_agent_hour"] == 0.0


def test_policies_picks_some_policies_and_refuses_unknown_names(tmp_path: Path) -> None:
    """``--policies`` runs the ones named (in the usual order); a name that is not a
    policy is refused in zh and en, with nothing run."""
    model = tmp_path / "short.yaml"
    model.write_text(SHORT.replace("shift_hours: 0.03", "shift_hours: 0.01"), encoding="utf-8")
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    args = ("bench", "dialer", "--model", str(model), "--seeds", "1", "--json")
    result = run_cli(env, *args, "--policies", "progressive,predictive_give_up")
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)["policies"]) == ["predictive_give_up", "progressive"]
    refused = run_cli(env, *args, "--policies", "predictive,fastest")
    assert refused.returncode != 0
    assert "--policies" in refused.stderr and "策略" in refused.stderr
    assert refused.stdout == ""


def test_the_readable_table_names_every_policy(tmp_path: Path) -> None:
    model = tmp_path / "short.yaml"
    model.write_text(SHORT.replace("shift_hours: 0.03", "shift_hours: 0.01"), encoding="utf-8")
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'cc.db'}")
    result = run_cli(env, "bench", "dialer", "--model", str(model), "--seeds", "3")
    assert result.returncode == 0, result.stderr
    for name in POLICIES:
        assert name in result.stdout


def test_the_reference_models_ship_with_the_package() -> None:
    """agents-20 is the issue's reference model; 5 and 100 agents are its variants."""
    assert load_model("agents-20") == TrafficModel(name="agents-20")
    assert load_model("agents-5").agents == 5
    assert load_model("agents-100").agents == 100


def test_a_model_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents: 4\ntalk_time: 30\n", encoding="utf-8")
    with pytest.raises(ValueError, match="talk_time"):
        load_model(str(bad))
