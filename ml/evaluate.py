"""Evaluate the trained XGBoost model on the test split and write evaluation.json.

SageMaker Processing script. Needs only numpy and xgboost, so it runs in the XGBoost 1.7-1
image, the same XGBoost that trained the model. Writes the SageMaker model-quality shape read
by the pipeline's condition step (Std:JsonGet regression_metrics.mse.value):
{"regression_metrics": {"mse": {"value", "standard_deviation"}, "mae": {"value"}, "r2": {"value"}}}
The report's name and the metrics' paths come from abalone_contract, generated from the pipeline
definition's names (in a zip archive on PYTHONPATH in the job).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import tempfile
import traceback
from typing import Optional, Sequence, Tuple

if __name__ == "__main__":
    # Run as a job: xgboost loads scikit-learn and pandas only for wrappers and input types this
    # script never uses; hiding them cuts start-up by ~0.6 s.
    sys.modules.update(dict.fromkeys(m for m in ("sklearn", "pandas") if m not in sys.modules))

import numpy as np
import xgboost as xgb

from abalone_contract import EVALUATION_METRIC_PATHS
from abalone_contract import EVALUATION_REPORT_FILE as REPORT_NAME

MODEL_NAME = "xgboost-model"
MODEL_ARCHIVE = "model.tar.gz"


class InputError(Exception):
    """A problem with the job's inputs."""


def load_booster(model_dir: str) -> xgb.Booster:
    """The booster from model.tar.gz (or a bare xgboost-model file) in model_dir.

    The 1.7-1 container saves with Booster.save_model in XGBoost's binary format, so the
    model is loaded with Booster.load_model; pickle.load would fail on it.
    """
    booster = xgb.Booster()
    bare = os.path.join(model_dir, MODEL_NAME)
    archive = os.path.join(model_dir, MODEL_ARCHIVE)
    if os.path.isfile(archive):
        with tarfile.open(archive) as tar, tempfile.TemporaryDirectory() as tmp:
            try:
                member = tar.getmember(MODEL_NAME)
            except KeyError:
                raise InputError(f"{archive} has no {MODEL_NAME} (members: {', '.join(tar.getnames())})") from None
            # Extract only the model file, never arbitrary member paths.
            path = os.path.join(tmp, MODEL_NAME)
            with tar.extractfile(member) as src, open(path, "wb") as dst:
                dst.write(src.read())
            booster.load_model(path)
    elif os.path.isfile(bare):
        booster.load_model(bare)
    else:
        raise InputError(f"no {MODEL_ARCHIVE} or {MODEL_NAME} in {model_dir}")
    return booster


def read_test(test_dir: str) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and features from every *.csv under test_dir (label first, no header)."""
    files = sorted(os.path.join(root, n) for root, _, names in os.walk(test_dir)
                   for n in names if n.lower().endswith(".csv"))
    if not files:
        raise InputError(f"no .csv files under {test_dir}")
    blocks = []
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if not text.strip():
            continue
        try:
            blocks.append(np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2))
        except ValueError as e:
            raise InputError(f"{path}: not a numeric, headerless CSV ({e})") from None
    if not blocks or len({b.shape[1] for b in blocks}) != 1:
        raise InputError(f"the test files under {test_dir} are empty or differ in column count")
    data = np.vstack(blocks)
    return data[:, 0], data[:, 1:]


def put(report: dict, path: str, value: float) -> None:
    """Sets report[a][b][c] = value for the path "a.b.c"."""
    *parents, leaf = path.split(".")
    node = report
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    errors = y_true - y_pred
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    if len(y_true) < 2 or total == 0:
        raise InputError("R² needs at least two test rows with different labels")
    values = {
        "mse": float(np.mean(errors ** 2)),
        "mae": float(np.mean(np.abs(errors))),
        "r2": 1.0 - float(np.sum(errors ** 2)) / total,
    }
    report: dict = {}
    for metric, path in EVALUATION_METRIC_PATHS.items():
        put(report, path, values[metric])
        if metric == "mse":
            # Beside MSE's value, the std of the errors (np.std(y_test - predictions)), as in the
            # SageMaker abalone pipeline example's evaluation script.
            put(report, path.rsplit(".", 1)[0] + ".standard_deviation", float(np.std(errors)))
    return report


def run(args: argparse.Namespace) -> dict:
    booster = load_booster(args.model_dir)
    y_true, features = read_test(args.test_dir)
    if booster.num_features() != features.shape[1]:
        raise InputError(f"the model expects {booster.num_features()} features, the test data has {features.shape[1]}")
    predictions = booster.predict(xgb.DMatrix(features)).astype(np.float64)
    if not np.all(np.isfinite(predictions)):
        raise InputError("the model produced non-finite predictions")
    report = regression_report(y_true, predictions)
    os.makedirs(args.output_dir, exist_ok=True)
    with open(os.path.join(args.output_dir, REPORT_NAME), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    return report


def fail(message: str, exit_message_file: str) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    if exit_message_file and os.path.isdir(os.path.dirname(exit_message_file)):
        try:
            with open(exit_message_file, "w", encoding="utf-8") as f:
                f.write(message[:1024])
        except OSError:
            pass
    sys.exit(1)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="/opt/ml/processing/model",
                        help="holds the training job's model.tar.gz (xgboost-model inside)")
    parser.add_argument("--test-dir", default="/opt/ml/processing/test", help="holds test.csv")
    parser.add_argument("--output-dir", default="/opt/ml/processing/evaluation", help="receives evaluation.json")
    parser.add_argument("--exit-message-file", default="/opt/ml/output/message",
                        help="on failure the reason is also written here (the job's ExitMessage), "
                             "if its folder exists")
    args = parser.parse_args(argv)
    try:
        report = run(args)
    except InputError as e:
        fail(str(e), args.exit_message_file)
    except Exception as e:  # noqa: BLE001 - any failure still has to end the job with a reason
        traceback.print_exc()
        fail(f"evaluation failed: {type(e).__name__}: {e}", args.exit_message_file)
    metrics = report["regression_metrics"]
    print(f"mse {metrics['mse']['value']:.4f} (std {metrics['mse']['standard_deviation']:.4f}), "
          f"mae {metrics['mae']['value']:.4f}, r2 {metrics['r2']['value']:.4f}")


if __name__ == "__main__":
    main()
