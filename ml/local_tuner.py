"""Proposes the hyperparameters of local mode's tuning trials, as SageMaker's tuning strategies do.

Local mode's pipeline runner starts it once per Tuning step and talks JSON lines over stdin/stdout:
  {"ask": N}                       -> {"trial": N, "hyperparameters": {"eta": "0.05", ...}}  (values are strings)
  {"tell": N, "value": X}          -> {"told": N}   the trial's objective
  {"tell": N, "failed": true}      -> {"told": N}   the trial failed or logged no objective
Strategies:
  Random    every value drawn independently within its range (numpy, seeded): uniform for Linear and Auto,
            log-uniform for Logarithmic, 1 - log-uniform(1 - x) for ReverseLogarithmic; integers inclusive.
  Bayesian  Optuna's TPE sampler (a sequential model-based, i.e. Bayesian, optimiser; seeded), with the
            same scalings; trials still running count as "constant liars" so parallel proposals spread out.
            SageMaker's own Bayesian strategy is a Gaussian-process model; Optuna 3.1 (Debian 12) has none.
Auto scaling is linear here: SageMaker picks a scale "when the appropriate choice is clear", which it does not
document further.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from typing import Dict, List

import numpy as np

STRATEGIES = ("Bayesian", "Random")
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")


class UserError(Exception):
    """A configuration the user can fix."""


def check_config(config: dict) -> dict:
    if config.get("strategy") not in STRATEGIES:
        raise UserError(f"strategy must be one of {', '.join(STRATEGIES)}, got {config.get('strategy')!r}")
    if not isinstance(config.get("seed"), int):
        raise UserError(f"seed must be an integer, got {config.get('seed')!r}")
    if config.get("objectiveType", "Minimize") not in ("Minimize", "Maximize"):
        raise UserError(f"objectiveType must be Minimize or Maximize, got {config.get('objectiveType')!r}")
    ranges = config.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise UserError("ranges must be a non-empty list")
    for r in ranges:
        name = r.get("name")
        lo, hi, scaling, kind = r.get("minValue"), r.get("maxValue"), r.get("scaling", "Auto"), r.get("kind")
        if kind not in ("Continuous", "Integer"):
            raise UserError(f"range {name}: kind must be Continuous or Integer, got {kind!r}")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)) or not lo < hi:
            raise UserError(f"range {name}: minValue {lo!r} must be a number below maxValue {hi!r}")
        if scaling not in SCALINGS:
            raise UserError(f"range {name}: scaling must be one of {', '.join(SCALINGS)}, got {scaling!r}")
        if scaling == "Logarithmic" and lo <= 0:
            raise UserError(f"range {name}: Logarithmic scaling needs minValue above 0")
        if scaling == "ReverseLogarithmic" and (kind == "Integer" or lo < 0 or hi >= 1):
            raise UserError(f"range {name}: ReverseLogarithmic scaling is for continuous ranges within [0, 1)")
        if kind == "Integer" and not (float(lo).is_integer() and float(hi).is_integer()):
            raise UserError(f"range {name}: integer bounds must be integers")
    return config


def as_text(kind: str, value: float) -> str:
    return str(int(value)) if kind == "Integer" else repr(float(value))


class RandomStrategy:
    def __init__(self, ranges: List[dict], seed: int) -> None:
        self.ranges = ranges
        self.rng = np.random.default_rng(seed)

    def ask(self, trial: int) -> Dict[str, str]:
        values = {}
        for r in self.ranges:
            lo, hi, scaling = float(r["minValue"]), float(r["maxValue"]), r.get("scaling", "Auto")
            if r["kind"] == "Integer":
                if scaling == "Logarithmic":
                    value = min(hi, math.floor(math.exp(self.rng.uniform(math.log(lo), math.log(hi + 1)))))
                else:
                    value = int(self.rng.integers(int(lo), int(hi) + 1))
            elif scaling == "Logarithmic":
                value = math.exp(self.rng.uniform(math.log(lo), math.log(hi)))
            elif scaling == "ReverseLogarithmic":
                value = 1 - math.exp(self.rng.uniform(math.log(1 - hi), math.log(1 - lo)))
            else:
                value = self.rng.uniform(lo, hi)
            values[r["name"]] = as_text(r["kind"], value)
        return values

    def tell(self, trial: int, value: float | None) -> None:
        """Random search learns nothing from results."""


class BayesianStrategy:
    def __init__(self, ranges: List[dict], seed: int, direction: str) -> None:
        try:
            import optuna
        except ImportError:
            raise UserError("local mode's Bayesian tuning needs Optuna (Debian: apt-get install python3-optuna); "
                            "or tune with the Random strategy") from None
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            # constant_liar is marked experimental in Optuna 3.1.
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        self.study = optuna.create_study(sampler=sampler, direction=direction.lower())
        self.ranges = ranges
        self.trials: Dict[int, object] = {}

    def ask(self, trial: int) -> Dict[str, str]:
        t = self.study.ask()
        self.trials[trial] = t
        values = {}
        for r in self.ranges:
            lo, hi, scaling, name = r["minValue"], r["maxValue"], r.get("scaling", "Auto"), r["name"]
            if r["kind"] == "Integer":
                value = t.suggest_int(name, int(lo), int(hi), log=scaling == "Logarithmic")
            elif scaling == "ReverseLogarithmic":
                value = 1 - t.suggest_float(name, 1 - hi, 1 - lo, log=True)
            else:
                value = t.suggest_float(name, lo, hi, log=scaling == "Logarithmic")
            values[name] = as_text(r["kind"], value)
        return values

    def tell(self, trial: int, value: float | None) -> None:
        import optuna
        t = self.trials.pop(trial)
        if value is None:
            self.study.tell(t, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(t, value)


def make_strategy(config: dict):
    if config["strategy"] == "Random":
        return RandomStrategy(config["ranges"], config["seed"])
    return BayesianStrategy(config["ranges"], config["seed"], config.get("objectiveType", "Minimize"))


def serve(strategy, lines, out) -> None:
    for line in lines:
        if not line.strip():
            continue
        message = json.loads(line)
        if "ask" in message:
            reply = {"trial": message["ask"], "hyperparameters": strategy.ask(message["ask"])}
        elif "tell" in message:
            value = None if message.get("failed") else float(message["value"])
            strategy.tell(message["tell"], value)
            reply = {"told": message["tell"]}
        else:
            raise UserError(f"unknown message {line.strip()}")
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True,
                        help='JSON: {"strategy", "seed", "objectiveType", "ranges": [{"name", "kind", "minValue", '
                             '"maxValue", "scaling"}]}')
    args = parser.parse_args(argv)
    try:
        strategy = make_strategy(check_config(json.loads(args.config)))
        serve(strategy, sys.stdin, sys.stdout)
    except (UserError, json.JSONDecodeError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
