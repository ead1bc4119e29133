import io
import json
import math

import pytest

import local_tuner as tuner
from conftest import run_script

RANGES = [
    {"name": "eta", "kind": "Continuous", "minValue": 0.01, "maxValue": 0.3, "scaling": "Logarithmic"},
    {"name": "max_depth", "kind": "Integer", "minValue": 2, "maxValue": 8, "scaling": "Linear"},
    {"name": "subsample", "kind": "Continuous", "minValue": 0.5, "maxValue": 1, "scaling": "Auto"},
    {"name": "colsample_bytree", "kind": "Continuous", "minValue": 0.5, "maxValue": 0.99,
     "scaling": "ReverseLogarithmic"},
]


def config(strategy, seed=1, ranges=RANGES):
    return {"strategy": strategy, "seed": seed, "objectiveType": "Minimize", "ranges": ranges}


def proposals(strategy, n, seed=1, objective=None):
    s = tuner.make_strategy(tuner.check_config(config(strategy, seed)))
    result = []
    for i in range(1, n + 1):
        hp = s.ask(i)
        result.append(hp)
        s.tell(i, objective(hp) if objective else 1.0)
    return result


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_values_are_strings_within_every_range(strategy):
    for hp in proposals(strategy, 30):
        assert set(hp) == {r["name"] for r in RANGES}
        assert all(isinstance(v, str) for v in hp.values())
        for r in RANGES:
            value = float(hp[r["name"]])
            assert r["minValue"] <= value <= r["maxValue"]
        assert float(hp["max_depth"]).is_integer()


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_seeded(strategy):
    assert proposals(strategy, 12, seed=7) == proposals(strategy, 12, seed=7)
    assert proposals(strategy, 12, seed=7) != proposals(strategy, 12, seed=8)


def test_random_follows_the_scaling():
    etas = [float(hp["eta"]) for hp in proposals("Random", 2000)]
    # Log-uniform on [0.01, 0.3]: half the draws fall below the geometric mean, far fewer below the midpoint.
    below_geometric_mean = sum(e < math.sqrt(0.01 * 0.3) for e in etas) / len(etas)
    assert 0.45 < below_geometric_mean < 0.55
    depths = [int(hp["max_depth"]) for hp in proposals("Random", 2000)]
    assert set(depths) == set(range(2, 9))
    subsamples = [float(hp["subsample"]) for hp in proposals("Random", 2000)]
    assert 0.45 < sum(s < 0.75 for s in subsamples) / len(subsamples) < 0.55
    reverse = [float(hp["colsample_bytree"]) for hp in proposals("Random", 2000)]
    # Reverse-log: dense near the top of the range.
    assert sum(r > 0.9 for r in reverse) / len(reverse) > 0.5


def test_bayesian_learns_from_the_objective():
    # A bowl around eta 0.05, depth 4: after the random start-up trials, TPE proposes closer to it than random search.
    def objective(hp):
        return (math.log(float(hp["eta"])) - math.log(0.05)) ** 2 + (int(hp["max_depth"]) - 4) ** 2 / 4
    bayesian = sorted(objective(hp) for hp in proposals("Bayesian", 40, objective=objective)[20:])
    random = sorted(objective(hp) for hp in proposals("Random", 40, objective=objective)[20:])
    assert sum(bayesian[:10]) < sum(random[:10])


def windowed_proposals(strategy, n, window, seed=1):
    """The runner's schedule: trial N is asked once trials 1..N-window are told, the later ones still running."""
    s = tuner.make_strategy(tuner.check_config(config(strategy, seed)))
    result = []
    for i in range(1, n + 1):
        if i - window >= 1:
            told = result[i - window - 1]
            s.tell(i - window, (math.log(float(told["eta"])) - math.log(0.05)) ** 2)
        result.append(s.ask(i))
    return result


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_same_schedule_same_proposals_with_trials_running(strategy):
    # Past TPE's random start-up trials, proposals depend on which trials are told and which still run.
    assert windowed_proposals(strategy, 16, window=2) == windowed_proposals(strategy, 16, window=2)
    if strategy == "Bayesian":
        assert windowed_proposals(strategy, 16, window=2)[12:] != windowed_proposals(strategy, 16, window=3)[12:]


def test_failed_trials_are_told_as_failures():
    s = tuner.make_strategy(tuner.check_config(config("Bayesian")))
    s.ask(1)
    s.tell(1, None)
    assert s.study.trials[0].state.name == "FAIL"


def test_json_lines_protocol():
    out = io.StringIO()
    lines = ['{"ask": 1}\n', '{"ask": 2}\n', '{"tell": 2, "value": 3.5}\n', '{"tell": 1, "failed": true}\n']
    tuner.serve(tuner.make_strategy(tuner.check_config(config("Random"))), lines, out)
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r.get("trial", r.get("told")) for r in replies] == [1, 2, 2, 1]
    assert set(replies[0]["hyperparameters"]) == {"eta", "max_depth", "subsample", "colsample_bytree"}


@pytest.mark.parametrize("change, expected", [
    ({"strategy": "Grid"}, "strategy must be one of Bayesian, Random"),
    ({"seed": "x"}, "seed must be an integer"),
    ({"ranges": []}, "ranges must be a non-empty list"),
    ({"ranges": [dict(RANGES[0], minValue=0.5)]}, "range eta: minValue 0.5 must be a number below maxValue 0.3"),
    ({"ranges": [dict(RANGES[0], minValue=0)]}, "range eta: Logarithmic scaling needs minValue above 0"),
    ({"ranges": [dict(RANGES[1], scaling="ReverseLogarithmic")]}, "ReverseLogarithmic scaling is for continuous"),
    ({"ranges": [dict(RANGES[1], scaling="Cubic")]}, "scaling must be one of"),
])
def test_bad_config_fails_naming_the_field(change, expected):
    with pytest.raises(tuner.UserError, match=expected):
        tuner.check_config(dict(config("Random"), **change))


def test_cli_reports_bad_config_and_exits_1():
    done = run_script("local_tuner.py", "--config", json.dumps(config("Grid")))
    assert done.returncode == 1
    assert "ERROR: strategy must be one of" in done.stderr
