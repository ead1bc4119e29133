"""Validate the raw abalone files, fit the feature preprocessor and split the data.

SageMaker Processing script (scikit-learn 1.2-1 container). Reads every *.csv / *.data file
under --input-dir, re-validates each row against the raw data contract, fits a
ColumnTransformer (one-hot sex + standardised measures) on the training split, and writes
label-first headerless CSVs plus the preprocessor model.tar.gz for the sklearn serving
container, and the training split's raw-feature profile that drift monitoring compares served
data with (profile/training-profile.json). Exits non-zero with a readable message on any problem.

The data contract comes from abalone_contract, generated from src/contracts/abalone-data.ts:
beside this script in ml/, and in a zip archive on PYTHONPATH in the job (the pipeline
definition's `shared` input).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import json
import math
import os
import re
import sys
import tarfile
import traceback
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from abalone_contract import (
    DATASET_SCALE_DIVISOR, MAX_DATASET_VALUE, MAX_RINGS, MEASURES, PREPROCESSOR_ARCHIVE, PROFILE_QUANTILE_BINS,
    PROFILE_SAMPLE_SIZE, RAW_COLUMNS, SERVING_CODE_DIR, SERVING_PROGRAM, SEX_CODES, SEX_COLUMN, SHARED_MODULES,
    TRAINING_PROFILE_DIR, TRAINING_PROFILE_FILE, TRAINING_PROFILE_VERSION,
)
from abalone_contract import LABEL_COLUMN as LABEL

COLUMNS = RAW_COLUMNS
FEATURES = COLUMNS[:-1]
# Fixed (sorted) category order so the feature layout never depends on which sexes a split holds.
SEX_CATEGORIES = sorted(SEX_CODES)
FEATURE_COLUMNS = tuple(f"{SEX_COLUMN}_{s}" for s in SEX_CATEGORIES) + MEASURES
# The raw held-out test split (HELD_OUT_TEST_SPLIT in src/contracts/acceptance-test.ts: its output folder and file).
HELD_OUT_DIR = "heldout"
HELD_OUT_FILE = "test.csv"

DATA_SUFFIXES = (".csv", ".data")
MAX_PROBLEMS = 20
CONTAINER_INFERENCE_SCRIPT = "/opt/ml/processing/input/inference/inference.py"
PREPROCESSOR_FILE = "model.joblib"
INTEGER = re.compile(r"[0-9]+")


class InputError(Exception):
    """A problem with the job's input that the user has to fix."""


def contract() -> dict:
    return {
        "columns": list(COLUMNS),
        "sexCodes": list(SEX_CODES),
        "maxDatasetValue": dict(MAX_DATASET_VALUE),
        "maxRings": MAX_RINGS,
        "label": LABEL,
        "featureColumns": list(FEATURE_COLUMNS),
    }


def find_data_files(input_dir: str) -> List[str]:
    """Every data file under input_dir, recursively (a ManifestFile input keeps key paths)."""
    if not os.path.isdir(input_dir):
        raise InputError(f"input directory {input_dir} does not exist")
    found = []
    for root, dirs, files in os.walk(input_dir):
        dirs.sort()
        for name in files:
            path = os.path.join(root, name)
            if name.lower().endswith(DATA_SUFFIXES):
                found.append(path)
            else:
                print(f"skipping {os.path.relpath(path, input_dir)}: not a .csv or .data file", file=sys.stderr)
    found.sort()
    if not found:
        raise InputError(f"no .csv or .data files found under {input_dir}")
    return found


def check_row(fields: Sequence[str]) -> List[Tuple[Optional[str], str]]:
    """(column, reason) for each contract violation of one raw row; column None for the whole row."""
    if len(fields) != len(COLUMNS):
        return [(None, f"expected {len(COLUMNS)} columns ({','.join(COLUMNS)}), found {len(fields)}")]
    problems: List[Tuple[Optional[str], str]] = []
    if fields[0] not in SEX_CODES:
        problems.append((SEX_COLUMN, f"{fields[0]!r} is not one of {'/'.join(SEX_CODES)}"))
    for column, text in zip(MEASURES, fields[1:-1]):
        try:
            value = float(text)
        except ValueError:
            problems.append((column, f"{text!r} is not a number"))
            continue
        if not math.isfinite(value):
            problems.append((column, f"{text!r} is not a finite number"))
        elif value < 0:
            problems.append((column, f"{text} is negative"))
        elif value > MAX_DATASET_VALUE[column]:
            problems.append((column, f"{text} is above the maximum {MAX_DATASET_VALUE[column]} "
                                     f"(the dataset scale is mm and g divided by {DATASET_SCALE_DIVISOR})"))
    rings = fields[-1]
    if not INTEGER.fullmatch(rings) or not 1 <= int(rings) <= MAX_RINGS:
        problems.append((LABEL, f"{rings!r} is not an integer from 1 to {MAX_RINGS}"))
    return problems


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def parse_file(path: str, name: str) -> Iterator[Tuple[str, object]]:
    """Yields ("row", fields) for valid rows and ("problem", message) for contract violations."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        yield "problem", f"{name}: line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x})"
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    first = True
    for fields in reader:
        fields = [f.strip() for f in fields]
        if not any(fields):
            continue
        line = reader.line_num
        if first:
            first = False
            if [f.lower() for f in fields] == list(COLUMNS):
                continue
            if not any(is_number(f) for f in fields):
                yield "problem", (f"{name}: line {line}: header {','.join(fields)!r} does not match "
                                  f"the contract's columns {','.join(COLUMNS)!r}")
                continue
        problems = check_row(fields)
        if not problems:
            yield "row", fields
        for column, reason in problems:
            where = f"line {line}" if column is None else f"line {line}, column {column}"
            yield "problem", f"{name}: {where}: {reason}"


def read_rows(files: Sequence[str], input_dir: str) -> List[List[str]]:
    """All rows of all files; raises InputError listing up to MAX_PROBLEMS problems."""
    rows: List[List[str]] = []
    problems: List[str] = []
    for path in files:
        name = os.path.relpath(path, input_dir)
        before = len(rows)
        for kind, item in parse_file(path, name):
            if kind == "row":
                rows.append(item)
            else:
                problems.append(item)
                if len(problems) == MAX_PROBLEMS:
                    break
        if len(problems) == MAX_PROBLEMS:
            break
        print(f"read {name}: {len(rows) - before} rows")
    if problems:
        count = f"the first {MAX_PROBLEMS}" if len(problems) == MAX_PROBLEMS else str(len(problems))
        raise InputError(f"{count} problem(s) in the input data (fix them and run again):\n  " + "\n  ".join(problems))
    if not rows:
        raise InputError(f"the input files under {input_dir} contain no data rows")
    return rows


def to_frame(rows: List[List[str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame[list(MEASURES)] = frame[list(MEASURES)].astype(np.float64)
    frame[LABEL] = frame[LABEL].astype(np.int64)
    return frame


def split_indices(n: int, seed: int, train_ratio: float, validation_ratio: float) -> Dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    train_end = int(n * train_ratio)
    validation_end = int(n * (train_ratio + validation_ratio))
    splits = {"train": order[:train_end], "validation": order[train_end:validation_end],
              "test": order[validation_end:]}
    empty = [name for name, idx in splits.items() if len(idx) == 0]
    if empty:
        raise InputError(f"{n} data rows are too few for the ratios: the {', '.join(empty)} split would be empty")
    return splits


def build_preprocessor() -> ColumnTransformer:
    return ColumnTransformer([
        (SEX_COLUMN, OneHotEncoder(categories=[SEX_CATEGORIES], handle_unknown="ignore", sparse_output=False),
         [SEX_COLUMN]),
        ("measures", StandardScaler(), list(MEASURES)),
    ])


def write_csv(path: str, labels: np.ndarray, features: np.ndarray) -> None:
    # repr() gives the shortest text that reads back to the same float, so outputs are exact
    # and byte-for-byte reproducible.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        for label, row in zip(labels.tolist(), features.tolist()):
            f.write(",".join([str(label)] + [repr(v) for v in row]) + "\n")


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def shared_module_files() -> Dict[str, bytes]:
    """The shared modules (the handler imports them), by file name, read through the loader that
    finds them here: in the zip archive on PYTHONPATH in the job, beside this script in ml/."""
    files = {}
    for name in SHARED_MODULES:
        spec = importlib.util.find_spec(name[:-len(".py")])
        if spec is None or spec.origin is None:
            raise InputError(f"the shared module {name} is not on the path (the job's shared input on PYTHONPATH)")
        files[name] = spec.loader.get_data(spec.origin)
    return files


def write_model_archive(path: str, preprocessor: ColumnTransformer, inference_script: str) -> None:
    """model.tar.gz for the sklearn serving container: the preprocessor at the root, and under
    code/ (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) the handler (SAGEMAKER_PROGRAM) with the
    modules it imports. The container copies that folder and imports the handler with the folder
    on the path, so its siblings import too (aws/sagemaker-containers _modules.import_module and
    _server.start; sagemaker-scikit-learn-container serving.import_module)."""
    buffer = io.BytesIO()
    joblib.dump(preprocessor, buffer)
    with open(inference_script, "rb") as f:
        script = f.read()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # mtime=0 everywhere keeps the archive identical for identical inputs.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, PREPROCESSOR_FILE, buffer.getvalue())
        add_bytes(tar, f"{SERVING_CODE_DIR}/{SERVING_PROGRAM}", script)
        for name, data in shared_module_files().items():
            add_bytes(tar, f"{SERVING_CODE_DIR}/{name}", data)


def bin_index(edges: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Bin of each value: bin i holds edges[i] <= v < edges[i+1], the outer bins open-ended (the monitoring job
    judges served values with the same rule)."""
    return np.searchsorted(np.asarray(edges[1:-1], dtype=np.float64), values, side="right")


def training_profile(train: pd.DataFrame, seed: int) -> dict:
    """The reference distribution of the training split's raw features (the TrainingProfile document of
    src/contracts/monitoring.ts): per measure the quantile bin edges, each bin's share and a seeded sample for the
    KS test; per category its share."""
    rng = np.random.default_rng(seed)
    size = min(PROFILE_SAMPLE_SIZE, len(train))
    # One row sample for every measure, sorted so the document does not depend on the draw's order.
    rows = np.sort(rng.choice(len(train), size=size, replace=False))
    numeric = {}
    for column in MEASURES:
        values = train[column].to_numpy(dtype=np.float64)
        # Tied quantiles (few distinct values) would make empty bins: keep each edge once.
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, PROFILE_QUANTILE_BINS + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0], edges[0]])
        counts = np.bincount(bin_index(edges, values), minlength=len(edges) - 1)
        numeric[column] = {
            "binEdges": edges.tolist(),
            "proportions": (counts / len(values)).tolist(),
            "sample": values[rows].tolist(),
        }
    shares = train[SEX_COLUMN].value_counts(normalize=True)
    categorical = {SEX_COLUMN: {"frequencies": {code: float(shares.get(code, 0.0)) for code in SEX_CODES}}}
    return {"version": TRAINING_PROFILE_VERSION, "recordCount": int(len(train)), "numeric": numeric,
            "categorical": categorical}


def write_raw_rows(path: str, rows: List[List[str]]) -> None:
    """The held-out test split as the raw data contract has it (the fields as read, no header): the acceptance test
    replays it through the prediction API in human units."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        for fields in rows:
            f.write(",".join(fields) + "\n")


def write_profile(path: str, profile: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(profile, f, indent=1)
        f.write("\n")


def resolve_inference_script(given: Optional[str]) -> str:
    if given is not None:
        candidates = [given]
    else:
        beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), SERVING_PROGRAM)
        candidates = [CONTAINER_INFERENCE_SCRIPT, beside]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise InputError(f"inference script not found (looked for {' and '.join(candidates)})")


def run(args: argparse.Namespace) -> Dict[str, int]:
    if not 0 < args.train_ratio < 1 or not 0 < args.validation_ratio < 1 \
            or args.train_ratio + args.validation_ratio >= 1:
        raise InputError("--train-ratio and --validation-ratio must each be in (0, 1) and sum to less than 1 "
                         f"(got {args.train_ratio} and {args.validation_ratio})")
    inference_script = resolve_inference_script(args.inference_script)
    files = find_data_files(args.input_dir)
    rows = read_rows(files, args.input_dir)
    frame = to_frame(rows)
    splits = split_indices(len(frame), args.seed, args.train_ratio, args.validation_ratio)

    # Fit on the training split only, so validation and test stay unseen.
    preprocessor = build_preprocessor().fit(frame.iloc[splits["train"]][list(FEATURES)])
    for name, idx in splits.items():
        part = frame.iloc[idx]
        write_csv(os.path.join(args.output_dir, name, f"{name}.csv"),
                  part[LABEL].to_numpy(), preprocessor.transform(part[list(FEATURES)]))
    write_model_archive(os.path.join(args.output_dir, "model", PREPROCESSOR_ARCHIVE), preprocessor, inference_script)
    write_raw_rows(os.path.join(args.output_dir, HELD_OUT_DIR, HELD_OUT_FILE), [rows[i] for i in splits["test"]])
    write_profile(os.path.join(args.output_dir, TRAINING_PROFILE_DIR, TRAINING_PROFILE_FILE),
                  training_profile(frame.iloc[splits["train"]], args.seed))
    return {"files": len(files), "rows": len(frame), **{name: len(idx) for name, idx in splits.items()}}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input-dir", default="/opt/ml/processing/input/data",
                        help="folder searched recursively for *.csv and *.data raw files")
    parser.add_argument("--output-dir", default="/opt/ml/processing",
                        help="writes train/train.csv, validation/validation.csv, test/test.csv, "
                             f"model/{PREPROCESSOR_ARCHIVE}, {TRAINING_PROFILE_DIR}/{TRAINING_PROFILE_FILE}, "
                             f"{HELD_OUT_DIR}/{HELD_OUT_FILE}")
    parser.add_argument("--seed", type=int, default=42, help="seed of the random split")
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15, help="the test split takes the rest")
    parser.add_argument("--inference-script", default=None,
                        help=f"handler packed into {PREPROCESSOR_ARCHIVE} (default: {CONTAINER_INFERENCE_SCRIPT}, "
                             f"else {SERVING_PROGRAM} beside this script)")
    parser.add_argument("--exit-message-file", default="/opt/ml/output/message",
                        help="on failure the reason is also written here (the job's ExitMessage), "
                             "if its folder exists")
    parser.add_argument("--print-contract", action="store_true", help="print the data contract as JSON and exit")
    return parser.parse_args(argv)


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
    args = parse_args(argv)
    if args.print_contract:
        print(json.dumps(contract()))
        return
    try:
        summary = run(args)
    except InputError as e:
        fail(str(e), args.exit_message_file)
    except Exception as e:  # noqa: BLE001 - any other failure still has to end the job with a reason
        traceback.print_exc()
        fail(f"preprocessing failed: {type(e).__name__}: {e}", args.exit_message_file)
    print(f"validated {summary['rows']} rows from {summary['files']} file(s); "
          f"train {summary['train']}, validation {summary['validation']}, test {summary['test']} (seed {args.seed})")


if __name__ == "__main__":
    main()
