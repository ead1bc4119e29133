"""Held-out MSE of the tuned pipeline next to the untuned one over the same split seeds, and local tuning's wall time.

Runs local mode's whole pipeline (`cdk-mlops-abalone local run --json`, the real scripts and the local tuner) twice
per split seed, on the full UCI dataset: once with the hand-picked hyperparameters, once with `--tune` (the
default ranges, 20 trials, 2 at a time, Bayesian: Optuna's TPE). Prints a row per seed and the means. Exits 1 when
the tuned mean misses 0.98 x the untuned mean, the gate fails on any seed, or the median tuning wall time is over
60 s. The machine's other load inflates wall times: the CPU time of the trials is printed beside them.

    /usr/bin/python3 bench/ml/tuning_over_seeds.py [--seeds 10] [--data PATH] [--strategy Bayesian|Random]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET_RATIO = 0.98
TARGET_TUNING_SECONDS = 60.0
GATE_MSE = 6.0


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def local_run(home: str, data: str, seed: int, python: str, extra) -> dict:
    command = ["npx", "ts-node", "--transpile-only", os.path.join(REPO, "src", "local", "cli.ts"), "local", "run",
               "--home", home, "--data", data, "--seed", str(seed), "--python", python, "--json", *extra]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.exit(f"local run failed (exit {done.returncode}):\n{done.stderr}")
    if done.returncode != 0 or report["metrics"] is None:
        sys.exit(f"local run failed: {report.get('failureReason')}\n{done.stderr}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="split seeds 1..N")
    parser.add_argument("--data", default=os.environ.get("ABALONE_DATA",
                                                         os.path.join(REPO, "..", "shared", "data", "abalone.data")))
    parser.add_argument("--python", default=sys.executable, help="interpreter with the container versions")
    parser.add_argument("--strategy", default="Bayesian", choices=["Bayesian", "Random"])
    args = parser.parse_args()
    if not os.path.isfile(args.data):
        sys.exit(f"dataset not found at {args.data} (set ABALONE_DATA or pass --data)")

    rows = []
    print(f"{'seed':>4}  {'untuned MSE':>11}  {'tuned MSE':>9}  {'ratio':>6}  gate  {'tuning wall s':>13}  "
          f"{'run CPU s':>12}  best trial")
    with tempfile.TemporaryDirectory() as home:
        for seed in range(1, args.seeds + 1):
            untuned = local_run(home, args.data, seed, args.python, [])
            cpu_before = child_cpu()
            tuned = local_run(home, args.data, seed, args.python, ["--tune", "--tuning-strategy", args.strategy])
            cpu = child_cpu() - cpu_before
            step = next(s for s in tuned["steps"] if s["name"] == "TuneModel")
            completed = [t for t in tuned["trials"] if t["status"] == "Completed"]
            best = min(completed, key=lambda t: t["objective"])
            row = {"untuned": untuned["metrics"]["mse"], "tuned": tuned["metrics"]["mse"],
                   "gate": untuned["gate"]["passed"] and tuned["gate"]["passed"], "wall": step["durationMs"] / 1000,
                   "trials_cpu": cpu, "trials": len(tuned["trials"]), "failed": len(tuned["trials"]) - len(completed)}
            rows.append(row)
            values = " ".join(f"{k}={float(v):.3g}" for k, v in best["hyperparameters"].items())
            print(f"{seed:>4}  {row['untuned']:11.3f}  {row['tuned']:9.3f}  {row['tuned'] / row['untuned']:6.3f}  "
                  f"{'pass' if row['gate'] else 'FAIL'}  {row['wall']:13.1f}  {cpu:12.1f}  {values}", flush=True)

    untuned = statistics.mean(r["untuned"] for r in rows)
    tuned = statistics.mean(r["tuned"] for r in rows)
    ratio = tuned / untuned
    walls = sorted(r["wall"] for r in rows)
    passed = sum(r["gate"] for r in rows)
    print(f"\nmean held-out MSE: untuned {untuned:.3f}, tuned {tuned:.3f} = {ratio:.3f} x untuned "
          f"(target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'}); tuned better on "
          f"{sum(r['tuned'] < r['untuned'] for r in rows)}/{len(rows)} seeds")
    print(f"quality gate (MSE <= {GATE_MSE}) passed on {passed}/{len(rows)} seeds, tuned and untuned")
    print(f"local tuning ({rows[0]['trials']} trials, {args.strategy}, 2 at a time) wall: median "
          f"{statistics.median(walls):.1f} s, min {walls[0]:.1f} s, max {walls[-1]:.1f} s (target <= "
          f"{TARGET_TUNING_SECONDS:.0f} s); the whole tuned run's CPU (user+sys, all processes) median "
          f"{statistics.median(r['trials_cpu'] for r in rows):.1f} s; failed trials {sum(r['failed'] for r in rows)}")
    ok = ratio <= TARGET_RATIO and passed == len(rows) and statistics.median(walls) <= TARGET_TUNING_SECONDS
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
