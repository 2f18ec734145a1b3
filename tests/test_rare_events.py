"""``paychaos estimate --method importance``: failure biasing of random faults (``sim.runners.rare``)
and its validation against an exact probability (``sim.validation.rare_events``)."""

from __future__ import annotations

import json
import math
import random

import pytest
from helpers import write_scenario

from sim.cli import main as cli_main
from sim.config.loader import load_scenario
from sim.runners import rare
from sim.runners.estimate import clopper_pearson_upper, estimate
from sim.validation import rare_events
from sim.validation.rows import CI

SMALL = {"rate": "10/s", "buyers": 100, "sellers": 10, "max_checkouts": 40}


def _tilt(rate: float, biased: float, window: float) -> rare.Tilt:
    return rare.Tilt(0, "psp_errors", rate, biased, window)


def test_weights_are_a_likelihood_ratio():
    """Under λ' the weights average to 1 (E'[L] = 1), and weighting the runs with an episode gives
    the true probability of one, 1 − exp(−λW): a wrong weight (a missing censored term, an
    inverted ratio) breaks one or the other by far more than the tolerance."""
    rate, window = 1e-4, 30.0
    tilt = _tilt(rate, 1.0 / window, window)
    rng = random.Random(7)
    draws = [rare.episodes(tilt, 0.0, 0.05, window, rng) for _ in range(40_000)]
    weights = [math.exp(log_w) for _eps, log_w in draws]
    assert abs(sum(weights) / len(weights) - 1.0) < 0.02
    with_episode = sum(w for (eps, _l), w in zip(draws, weights) if eps) / len(draws)
    exact = 1.0 - math.exp(-rate * window)
    assert abs(with_episode / exact - 1.0) < 0.05
    assert max(weights) <= tilt.max_weight * (1 + 1e-12)


def test_an_untilted_fault_weighs_one():
    tilt = _tilt(0.2, 0.2, 30.0)
    for seed in range(20):
        _eps, log_w = rare.episodes(tilt, 0.0, 1.0, 30.0, random.Random(seed))
        assert abs(log_w) < 1e-12


def test_episodes_become_explicit_faults_and_other_faults_keep_their_place(tmp_path):
    faults = [{"kind": "psp_reply_lost_after_commit", "mtbf": "1000h", "mttr": "1s"},
              {"kind": "psp_latency", "at": "5s", "for": "5s", "added": "1s"}]
    loaded = load_scenario(write_scenario(tmp_path, "async-kafka.yaml", duration="60s", faults=faults))
    tilts = rare.tilts_for(loaded.scenario)
    assert [(t.index, t.kind) for t in tilts] == [(0, "psp_reply_lost_after_commit")]
    assert math.isclose(tilts[0].biased_per_s, 1 / 60)
    assert math.isclose(rare.tilts_for(loaded.scenario, bias=10.0)[0].biased_per_s, 10 / 3.6e6)
    seen = set()
    for seed in range(30):
        biased, _log_w, count = rare.biased_scenario(loaded.scenario, tilts, seed)
        assert biased.faults[1] == loaded.scenario.faults[1]
        lost = [f for i, f in enumerate(biased.faults) if f.kind == "psp_reply_lost_after_commit"]
        assert all(f.mtbf_s is None for f in lost)
        live = [f for f in lost if f.at_s < 60.0]
        assert len(live) == count and all(0 < f.for_s and f.at_s + f.for_s <= 60.0 for f in live)
        seen.add(count)
    assert 0 in seen and max(seen) >= 2


def test_clopper_pearson_zero_events_is_the_rule_of_three():
    assert math.isclose(clopper_pearson_upper(0, 100), 1 - 0.05 ** (1 / 100), rel_tol=1e-9)
    assert 2.9 / 1000 < clopper_pearson_upper(0, 1000) < 3.0 / 1000
    assert clopper_pearson_upper(3, 10) > 0.3


@pytest.mark.slow
def test_importance_sampling_finds_the_exact_probability_far_below_plain_monte_carlo():
    """The validation case at CI size: the exact probability per payment (10⁻⁶, 10⁻⁹) lies in the
    importance-sampled interval, and the speed-up grows as 1/π (bounded relative error)."""
    rows = rare_events.validate(CI, 1)
    claims = [r for r in rows if r.agrees is not None]
    assert len(claims) == 2 and all(r.agrees for r in claims), [(r.case, r.simulated) for r in claims]
    for row, target in zip(claims, rare_events.TARGETS):
        assert row.simulated.mean > 0 and row.simulated.high < 10 * target
    speedups = [r.simulated.mean for r in rows if r.agrees is None]
    assert speedups[0] > 100 and speedups[1] / speedups[0] > 100


def test_effective_runs_warn_of_degenerate_weights():
    """Kish's effective sample size: equal weights keep every run; one dominant weight leaves one."""
    even = [rare.WeightedRun(2.0, 10, 1) for _ in range(8)]
    skewed = [rare.WeightedRun(1e6, 10, 1)] + [rare.WeightedRun(1e-6, 10, 1) for _ in range(7)]
    assert math.isclose(rare.effective_runs(even), 8.0) and rare.effective_runs(skewed) < 1.01


def test_correct_design_gets_an_honest_upper_bound(tmp_path, capsys):
    faults = [{"kind": "psp_reply_lost_after_commit", "probability": 1.0, "mtbf": "1000h", "mttr": "2s"}]
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="5m", workload=SMALL, faults=faults)
    out = tmp_path / "estimate.json"
    assert cli_main(["estimate", str(path), "--replications", "20", "--method", "importance", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    double = data["double_charge"]
    assert data["method"] == "importance" and double["events"] == 0
    tilt_max = math.exp((1 / 20 - 1 / 3.6e6) * 20)
    bound = clopper_pearson_upper(0, 20) * tilt_max
    assert double["ci95"][0] == 0.0 and bound * 0.99 <= double["ci95"][1] < 1.0
    assert "P(double charge) <" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    ([], "needs a random fault"),
    (["--bias", "0.5"], "must be a finite number >= 1"),
    (["--bias", "nan"], "must be a finite number >= 1"),
])
def test_importance_refuses_what_it_cannot_do(tmp_path, capsys, extra, message):
    path = write_scenario(tmp_path, "async-kafka.yaml", duration="20s", drain="1m", workload=SMALL,
                          faults=[] if not extra else [{"kind": "psp_errors", "mtbf": "1h", "mttr": "1s"}])
    assert cli_main(["estimate", str(path), "--replications", "2", "--method", "importance", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
