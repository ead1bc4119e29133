"""Local stand-in for the SageMaker built-in XGBoost 1.7-1 training algorithm.

Follows the container's documented contract under --ml-root (default /opt/ml):
  input/config/hyperparameters.json   every value a string, as SageMaker writes them
  input/config/inputdataconfig.json   optional; when present, channels and ContentType are checked
  input/data/train/**, input/data/validation/**   text/csv, label in the first column, no header
  model/xgboost-model                  Booster.save_model in XGBoost's binary format (not pickle)
  output/failure                       the reason, when training fails (exit code 1)
Early stopping keeps the best iteration and, as in the container, only applies when a
validation channel, early_stopping_rounds and a metric (eval_metric or the tuning objective) are
all present.
Under a tuning job SageMaker adds `_tuning_objective_metric` (e.g. `validation:rmse`): as the
container does, its metric joins eval_metric and early stopping watches it.
Each round's evaluation goes to stdout in the container's format, `[<round>]<TAB>train-rmse:<v><TAB>
validation-rmse:<v>`: the log a tuning job reads its objective from. Every evaluated round is logged, the one
early stopping ends on included, so the same data and hyperparameters give the same log and objective.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import tarfile
from typing import Callable, Dict, List, Optional, Sequence, Tuple

if __name__ == "__main__":
    # Run as a job: xgboost loads scikit-learn and pandas only for wrappers and input types this
    # script never uses; hiding them cuts start-up by ~0.6 s.
    sys.modules.update(dict.fromkeys(m for m in ("sklearn", "pandas") if m not in sys.modules))

import numpy as np
import xgboost as xgb

MODEL_NAME = "xgboost-model"
CHANNELS = ("train", "validation")
CSV_CONTENT_TYPES = ("text/csv", "text/csv;label_size=1")


class UserError(Exception):
    """A failure the user can fix (bad hyperparameter, channel or data)."""


def interval(low: Optional[float] = None, high: Optional[float] = None,
             low_open: bool = False, high_open: bool = False) -> Tuple[Callable[[float], bool], str]:
    def contains(value: float) -> bool:
        return not ((low is not None and (value <= low if low_open else value < low))
                    or (high is not None and (value >= high if high_open else value > high)))
    text = ("(" if low_open or low is None else "[") + ("-inf" if low is None else str(low)) + ", " \
        + ("+inf" if high is None else str(high)) + (")" if high_open or high is None else "]")
    return contains, text


def choice(values: Sequence[str]) -> Tuple[Callable[[str], bool], str]:
    return (lambda value: value in values), str(list(values))


REGRESSION_OBJECTIVES = ["reg:squarederror", "reg:linear", "reg:logistic", "reg:absoluteerror",
                         "reg:pseudohubererror", "reg:squaredlogerror", "reg:gamma", "reg:tweedie",
                         "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
                         "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map",
                         "survival:aft", "survival:cox"]
EVAL_METRICS = ["rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc",
                "aucpr", "ndcg", "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance",
                "tweedie-nloglik", "aft-nloglik"]

# name: (type, validator) — the subset of the 1.7-1 container's hyperparameters this stand-in
# implements, with the container's ranges (algorithm_mode/hyperparameter_validation.py).
HYPERPARAMETERS: Dict[str, Tuple[type, Tuple[Callable, str]]] = {
    "num_round": (int, interval(1)),
    "early_stopping_rounds": (int, interval(1)),
    "booster": (str, choice(["gbtree", "gblinear", "dart"])),
    "verbosity": (int, interval(0, 3)),
    "nthread": (int, interval(1)),
    "eta": (float, interval(0, 1)),
    "gamma": (float, interval(0)),
    "max_depth": (int, interval(0)),
    "min_child_weight": (float, interval(0)),
    "max_delta_step": (float, interval(0)),
    "subsample": (float, interval(0, 1, low_open=True)),
    "colsample_bytree": (float, interval(0, 1, low_open=True)),
    "colsample_bylevel": (float, interval(0, 1, low_open=True)),
    "colsample_bynode": (float, interval(0, 1, low_open=True)),
    "lambda": (float, interval(0)),
    "alpha": (float, interval(0)),
    "tree_method": (str, choice(["auto", "exact", "approx", "hist"])),
    "grow_policy": (str, choice(["depthwise", "lossguide"])),
    "max_leaves": (int, interval(0)),
    "max_bin": (int, interval(0)),
    "scale_pos_weight": (float, interval(0, low_open=True)),
    "num_parallel_tree": (int, interval(1)),
    "objective": (str, choice(REGRESSION_OBJECTIVES)),
    "num_class": (int, interval(2)),
    "base_score": (float, interval(0)),
    "eval_metric": (list, choice(EVAL_METRICS)),
    "seed": (int, interval(-2 ** 31, 2 ** 31 - 1, low_open=True, high_open=True)),
    "_tuning_objective_metric": (str, (lambda value: value.startswith("validation:")
                                       and value.split(":", 1)[1] in EVAL_METRICS,
                                       "validation:<" + "|".join(EVAL_METRICS) + ">")),
}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


def validate_hyperparameters(raw: dict) -> dict:
    """Parse and range-check, with the container's messages; returns typed values."""
    if not isinstance(raw, dict):
        raise UserError("hyperparameters.json must hold a JSON object")
    config: dict = {}
    for key, value in raw.items():
        name = ALIASES.get(key, key)
        if name not in HYPERPARAMETERS:
            raise UserError(f"Extraneous hyperparameter found: {key}")
        if name in config:
            raise UserError(f"Hyperparameter {name} is given twice (as {name} and an alias)")
        if not isinstance(value, str):
            raise UserError(f"Hyperparameter {key}: value {value!r} must be a string, as SageMaker passes them")
        kind, (contains, allowed) = HYPERPARAMETERS[name]
        try:
            if kind is list:
                parsed = [v.strip() for v in value.split(",")]
            elif kind is int:
                parsed = int(value)
            elif kind is float:
                parsed = float(value)
                if not math.isfinite(parsed):
                    raise ValueError(value)
            else:
                parsed = value
        except ValueError:
            raise UserError(f"Hyperparameter {key}: could not parse value {value!r} as {kind.__name__}") from None
        if not all(contains(v) for v in (parsed if kind is list else [parsed])):
            raise UserError(f"Hyperparameter {key}: {value} is not in {allowed}")
        config[name] = parsed
    if "num_round" not in config:
        raise UserError("Missing required hyperparameter: num_round")
    objective = config.get("objective")
    if objective in ("multi:softmax", "multi:softprob") and "num_class" not in config:
        raise UserError("Require input for parameter 'num_class' for multi-classification")
    if "num_class" in config and objective not in ("multi:softmax", "multi:softprob"):
        raise UserError("Do not need to setup parameter 'num_class' for learning task other than "
                        "multi-classification.")
    return config


def channel_paths(ml_root: str) -> Dict[str, str]:
    """Channel name -> folder, checked against inputdataconfig.json when SageMaker wrote one."""
    data_root = os.path.join(ml_root, "input", "data")
    config_path = os.path.join(ml_root, "input", "config", "inputdataconfig.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            declared = json.load(f)
        for name, channel in declared.items():
            if name not in CHANNELS:
                raise UserError(f"Extraneous channel found: {name} (this algorithm reads {', '.join(CHANNELS)})")
            content_type = (channel.get("ContentType") or "").replace(" ", "").lower()
            if not content_type:
                raise UserError(f"Channel {name} has no ContentType: the container would read it as text/libsvm; "
                                "set ContentType text/csv")
            if content_type not in CSV_CONTENT_TYPES:
                raise UserError(f"Channel {name}: content type {channel.get('ContentType')!r} is not supported "
                                "by the local stand-in (text/csv only)")
        names = list(declared)
    else:
        names = [n for n in CHANNELS if os.path.isdir(os.path.join(data_root, n))]
    if "train" not in names:
        raise UserError(f"Missing required channel: train (expected {os.path.join(data_root, 'train')})")
    return {n: os.path.join(data_root, n) for n in names}


def read_channel(name: str, path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and features of every non-hidden file under path, recursively, in sorted order."""
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files += [os.path.join(root, n) for n in names if not n.startswith(".")]
    rows: List[List[float]] = []
    width = None
    for file in sorted(files):
        rel = os.path.relpath(file, path)
        with open(file, "rb") as f:
            try:
                lines = f.read().decode("utf-8").splitlines()
            except UnicodeDecodeError:
                raise UserError(f"{name} channel, {rel}: not UTF-8 text") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fields = line.split(",")
            try:
                values = [float(v) for v in fields]
            except ValueError:
                bad = next(v for v in fields if not is_float(v))
                raise UserError(f"{name} channel, {rel}: line {number}: {bad.strip()!r} is not a number "
                                "(text/csv needs numbers only, label first, no header)") from None
            if not all(math.isfinite(v) for v in values):
                raise UserError(f"{name} channel, {rel}: line {number}: values must be finite numbers")
            if width is None:
                width = len(values)
            if len(values) != width or width < 2:
                raise UserError(f"{name} channel, {rel}: line {number}: found {len(values)} columns, expected "
                                f"{width if width >= 2 else 'a label and at least one feature'}")
            rows.append(values)
    if not rows:
        raise UserError(f"No data in {name} channel path {path}")
    data = np.asarray(rows, dtype=np.float64)
    return data[:, 0], data[:, 1:]


def is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


class RoundLog(xgb.callback.TrainingCallback):
    """Logs each round's evaluation, then lets early stopping (if any) decide.

    XGBoost 1.7 keeps callbacks in a set, so with its own printer beside EarlyStopping their order follows object
    addresses and changes from run to run: when early stopping ran first it ended training before the printer saw
    the last round, and the objective read from the log (its last value) moved between identical runs. One
    callback that logs first keeps the order fixed.
    """

    def __init__(self, early_stopping: Optional[xgb.callback.EarlyStopping] = None) -> None:
        super().__init__()
        self.early_stopping = early_stopping

    def before_training(self, model):
        return self.early_stopping.before_training(model) if self.early_stopping else model

    def after_training(self, model):
        return self.early_stopping.after_training(model) if self.early_stopping else model

    def after_iteration(self, model, epoch: int, evals_log) -> bool:
        # The format of XGBoost's EvaluationMonitor, which the container's log has.
        print(f"[{epoch}]" + "".join(f"\t{data}-{metric}:{log[-1]:.5f}" for data, metrics in evals_log.items()
                                     for metric, log in metrics.items()), flush=True)
        return bool(self.early_stopping and self.early_stopping.after_iteration(model, epoch, evals_log))


def train(ml_root: str) -> xgb.Booster:
    path = os.path.join(ml_root, "input", "config", "hyperparameters.json")
    try:
        with open(path, encoding="utf-8") as f:
            config = validate_hyperparameters(json.load(f))
    except FileNotFoundError:
        raise UserError(f"missing {path}") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not valid JSON: {e}") from None
    channels = channel_paths(ml_root)
    y_train, x_train = read_channel("train", channels["train"])
    dtrain = xgb.DMatrix(x_train, label=y_train)
    evals = [(dtrain, "train")]
    if "validation" in channels:
        y_val, x_val = read_channel("validation", channels["validation"])
        if x_val.shape[1] != x_train.shape[1]:
            raise UserError(f"validation data has {x_val.shape[1]} features, train data has {x_train.shape[1]}")
        evals.append((xgb.DMatrix(x_val, label=y_val), "validation"))

    # The container uses every core. On data this small one thread builds the identical model
    # and avoids OpenMP spin-waits that slow training tenfold when the machine is busy.
    config.setdefault("nthread", 1)
    objective_metric = config.pop("_tuning_objective_metric", None)
    if objective_metric:
        metric = objective_metric.split(":", 1)[1]
        config["eval_metric"] = [m for m in config.get("eval_metric", []) if m != metric] + [metric]
    num_round = config.pop("num_round")
    early_stopping_rounds = config.pop("early_stopping_rounds", None)
    early_stopping = None
    if early_stopping_rounds and len(evals) == 2 and config.get("eval_metric"):
        early_stopping = xgb.callback.EarlyStopping(rounds=early_stopping_rounds, data_name="validation",
                                                    metric_name=config["eval_metric"][-1], save_best=True)
    elif early_stopping_rounds:
        print("early_stopping_rounds ignored: it needs a validation channel and eval_metric", file=sys.stderr)
    print(f"Train matrix has {dtrain.num_row()} rows and {dtrain.num_col()} columns")
    booster = xgb.train(config, dtrain, num_boost_round=num_round, evals=evals, callbacks=[RoundLog(early_stopping)],
                        verbose_eval=False)
    model_dir = os.path.join(ml_root, "model")
    os.makedirs(model_dir, exist_ok=True)
    booster.save_model(os.path.join(model_dir, MODEL_NAME))
    return booster


def write_model_archive(model_dir: str, archive: str) -> None:
    """Pack model/ into model.tar.gz the way SageMaker uploads a training job's model."""
    os.makedirs(os.path.dirname(os.path.abspath(archive)), exist_ok=True)
    with open(archive, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(model_dir)):
            info = tar.gettarinfo(os.path.join(model_dir, name), arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(os.path.join(model_dir, name), "rb") as f:
                tar.addfile(info, f)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ml-root", default="/opt/ml", help="the container's /opt/ml folder")
    parser.add_argument("--model-archive", default=None,
                        help="also pack model/ into this model.tar.gz, as SageMaker does after training")
    args = parser.parse_args(argv)
    try:
        booster = train(args.ml_root)
        if args.model_archive:
            write_model_archive(os.path.join(args.ml_root, "model"), args.model_archive)
    except Exception as e:  # noqa: BLE001 - every failure must reach output/failure
        message = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
        print(f"ERROR: {message}", file=sys.stderr)
        os.makedirs(os.path.join(args.ml_root, "output"), exist_ok=True)
        with open(os.path.join(args.ml_root, "output", "failure"), "w", encoding="utf-8") as f:
            f.write(message)
        sys.exit(1)
    print(f"saved {os.path.join(args.ml_root, 'model', MODEL_NAME)} ({booster.num_boosted_rounds()} rounds)")


if __name__ == "__main__":
    main()
