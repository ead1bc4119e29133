"""MSE of the seed hyperparameters over several split seeds, next to the AWS sample's figure.

Runs the real scripts (ml/preprocess.py -> ml/local_xgboost_train.py -> ml/evaluate.py) as
separate processes in temporary folders laid out like the containers' /opt/ml paths, once per
split seed, on the full UCI dataset. Exits 1 when the mean misses the target or a seed fails
the quality gate.

    /usr/bin/python3 bench/ml/mse_over_seeds.py [--seeds 10] [--data PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ML = os.path.join(REPO, "ml")
HYPERPARAMETERS = {"max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7",
                   "num_round": "50", "objective": "reg:squarederror", "eval_metric": "rmse",
                   "early_stopping_rounds": "10"}
REFERENCE_MEAN_MSE = 4.51  # the AWS abalone sample, mean over random splits
TARGET_MEAN_MSE = 4.6
GATE_MSE = 6.0


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(python: str, script: str, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([python, os.path.join(ML, script), *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{script} failed:\n{done.stderr}")
    return time.perf_counter() - start


def one_run(python: str, data: str, seed: int, work: str) -> Dict[str, float]:
    raw = os.path.join(work, "processing", "input", "data")
    os.makedirs(raw)
    shutil.copy(data, raw)
    processing = os.path.join(work, "processing")
    ml_root = os.path.join(work, "training")
    os.makedirs(os.path.join(ml_root, "input", "config"))
    with open(os.path.join(ml_root, "input", "config", "hyperparameters.json"), "w") as f:
        json.dump(HYPERPARAMETERS, f)
    with open(os.path.join(ml_root, "input", "config", "inputdataconfig.json"), "w") as f:
        json.dump({c: {"ContentType": "text/csv"} for c in ("train", "validation")}, f)

    times = {"preprocess": run(python, "preprocess.py", "--input-dir", raw, "--output-dir", processing,
                               "--seed", str(seed))}
    for channel in ("train", "validation"):
        shutil.copytree(os.path.join(processing, channel), os.path.join(ml_root, "input", "data", channel))
    model_dir = os.path.join(work, "evaluation-input", "model")
    times["train"] = run(python, "local_xgboost_train.py", "--ml-root", ml_root,
                         "--model-archive", os.path.join(model_dir, "model.tar.gz"))
    evaluation = os.path.join(work, "evaluation")
    times["evaluate"] = run(python, "evaluate.py", "--model-dir", model_dir,
                            "--test-dir", os.path.join(processing, "test"), "--output-dir", evaluation)
    with open(os.path.join(evaluation, "evaluation.json")) as f:
        metrics = json.load(f)["regression_metrics"]
    return {"mse": metrics["mse"]["value"], "mae": metrics["mae"]["value"], "r2": metrics["r2"]["value"], **times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="split seeds 1..N")
    parser.add_argument("--data", default=os.environ.get("ABALONE_DATA",
                                                         os.path.join(REPO, "..", "shared", "data", "abalone.data")))
    parser.add_argument("--python", default=sys.executable, help="interpreter with the container versions")
    args = parser.parse_args()
    if not os.path.isfile(args.data):
        sys.exit(f"dataset not found at {args.data} (set ABALONE_DATA or pass --data)")

    results: List[Dict[str, float]] = []
    print(f"{'seed':>4}  {'MSE':>7}  {'MAE':>6}  {'R2':>6}  gate<={GATE_MSE}  wall s (pre+train+eval)")
    for seed in range(1, args.seeds + 1):
        cpu_before = child_cpu()
        with tempfile.TemporaryDirectory() as work:
            r = one_run(args.python, args.data, seed, work)
        r["cpu"] = child_cpu() - cpu_before
        r["wall"] = r["preprocess"] + r["train"] + r["evaluate"]
        results.append(r)
        gate = "pass" if r["mse"] <= GATE_MSE else "FAIL"
        print(f"{seed:>4}  {r['mse']:7.3f}  {r['mae']:6.3f}  {r['r2']:6.3f}  {gate:>9}"
              f"  {r['wall']:.2f} ({r['preprocess']:.2f}+{r['train']:.2f}+{r['evaluate']:.2f})")

    mses = [r["mse"] for r in results]
    mean = statistics.mean(mses)
    spread = statistics.stdev(mses) if len(mses) > 1 else 0.0
    walls = sorted(r["wall"] for r in results)
    passed = sum(m <= GATE_MSE for m in mses)
    verdict = "met" if mean <= TARGET_MEAN_MSE else "MISSED"
    print(f"\nmean MSE {mean:.3f} (sd {spread:.3f}, min {min(mses):.3f}, max {max(mses):.3f}) over {len(mses)} "
          f"seeds; AWS sample {REFERENCE_MEAN_MSE}; target <= {TARGET_MEAN_MSE}: {verdict}")
    print(f"mean MAE {statistics.mean(r['mae'] for r in results):.3f}, "
          f"mean R2 {statistics.mean(r['r2'] for r in results):.3f}")
    print(f"quality gate (MSE <= {GATE_MSE}) passed on {passed}/{len(mses)} seeds")
    print(f"one preprocess+train+evaluate run (3 Python processes): wall median {statistics.median(walls):.2f} s, "
          f"min {walls[0]:.2f} s, max {walls[-1]:.2f} s; CPU (user+sys) median "
          f"{statistics.median(r['cpu'] for r in results):.2f} s")
    sys.exit(0 if passed == len(mses) and mean <= TARGET_MEAN_MSE else 1)


if __name__ == "__main__":
    main()
