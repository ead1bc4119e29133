"""Judge one window of endpoint captures for data drift against the model's training profile.

SageMaker Processing script (scikit-learn 1.2-1 container: numpy, scipy, pandas), the monitoring pipeline's
MonitorDrift step. Reads every *.jsonl capture file under --captures-dir (any depth), the training profile
preprocess.py wrote for the deployed model (--profile: the file, or the folder it was downloaded to), and writes
the drift report (the DriftReport document of src/contracts/monitoring.ts) to --output-dir/drift-report.json.

Per raw feature:
- numeric (the seven measures): PSI over the profile's quantile bins, the outer bins open-ended so served values
  outside the training range still count, and the two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp)
  against the profile's sample. Drifted when PSI > --psi-threshold or the KS p-value < --ks-p-value-threshold.
- categorical (sex): PSI over the categories, categories the training data lacks included. Drifted when
  PSI > --psi-threshold.

PSI = sum over bins of (served share - training share) * ln(served share / training share). A bin that is empty
on either side would make it infinite, so shares below EMPTY_BIN_SHARE are raised to it: one empty bin then adds
at most about share * ln(share / EMPTY_BIN_SHARE) (0.1 * ln(1000) = 0.69 for a decile), which still reads as
drift, without one stray value making the distance meaningless.

The window is `drift` when the share of drifted features is above --drifted-share-threshold, `ok` otherwise, and
`insufficient_data` (features not judged) with fewer than --min-records rows: small windows give noisy distances.

Capture lines (SageMaker Data Capture JSON Lines: captureData.endpointInput with encoding CSV or BASE64) hold
headerless CSV rows of the raw features in the raw columns' order without the label; a batch request is one line
with many rows. A line or row that cannot be read is counted in the report under its reason and skipped: it
never fails the job. The job fails (exit 1, reason in the job's ExitMessage) only for a missing or malformed
profile or bad arguments.

`monitor_drift.py quality ...` is the monitoring pipeline's MonitorModelQuality step: live model quality. It joins the
rows of a day's captures (the model's answer per row: one rings value per line of captureData.endpointOutput,
eventMetadata.inferenceId naming the invocation) with the ground truth under --ground-truth-dir (GroundTruthRecord
objects: one per .json file, or one per line) by (inferenceId, row), computes MSE, MAE and R2 with scikit-learn over
the labelled rows and compares the MSE with the registered test MSE (--registered-metrics: evaluate.py's
evaluation.json, the file or its folder). Two labels for the same row: the later collectedAt wins (equal times: the
one read last; files are read in path order). Status: insufficient_labels below --min-labels labelled rows, degraded
when live MSE > registered MSE * (1 + --mse-tolerance), ok otherwise. Labels with no capture row are counted as
unmatched; unreadable capture lines and labels are counted under their reason and skipped. Writes the
ModelQualityReport document to --output-dir/model-quality-report.json.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import math
import os
import sys
import traceback
from collections import Counter
from datetime import datetime, timezone
from typing import Callable, Dict, List, NoReturn, Optional, Sequence, Tuple

import numpy as np
from scipy.special import rel_entr
from scipy.stats import ks_2samp

from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from abalone_contract import (
    CSV_CONTENT_TYPE, DEFAULT_DRIFTED_SHARE_THRESHOLD, DEFAULT_KS_P_VALUE_THRESHOLD, DEFAULT_MIN_LABELS,
    DEFAULT_MIN_RECORDS, DEFAULT_MSE_TOLERANCE, DEFAULT_PSI_THRESHOLD, DRIFT_REPORT_FILE, DRIFT_STATUS,
    EVALUATION_METRIC_PATHS, EVALUATION_REPORT_FILE, MEASURES, MODEL_QUALITY_PATHS, MODEL_QUALITY_REPORT_FILE,
    MODEL_QUALITY_STATUS, MONITORING_PATHS, RAW_COLUMNS, SEX_COLUMN, TRAINING_PROFILE_FILE, TRAINING_PROFILE_VERSION,
)
from abalone_contract import LABEL_COLUMN as LABEL

# The features a request carries: the raw columns without the label.
FEATURES = tuple(c for c in RAW_COLUMNS if c != LABEL)
SEX_INDEX = FEATURES.index(SEX_COLUMN)
MEASURE_INDEX = tuple(FEATURES.index(m) for m in MEASURES)
CAPTURE_SUFFIX = ".jsonl"
# Smallest share a bin counts with in PSI (see the module docstring).
EMPTY_BIN_SHARE = 1e-4


class InputError(Exception):
    """A problem with the job's input or arguments that the user has to fix."""


# --- profile -----------------------------------------------------------------------------------

def find_json_document(path: str, file_name: str, what: str) -> str:
    """`path` itself, or the one JSON file (preferably `file_name`) in the folder an S3 input downloaded it to."""
    if os.path.isfile(path):
        return path
    if not os.path.isdir(path):
        raise InputError(f"{what} {path} does not exist")
    named = os.path.join(path, file_name)
    if os.path.isfile(named):
        return named
    found = sorted(os.path.join(root, name) for root, _, files in os.walk(path) for name in files if name.endswith(".json"))
    if len(found) != 1:
        raise InputError(f"expected one {what} (.json) under {path}, found {len(found)}")
    return found[0]


def find_profile(path: str) -> str:
    """The profile file: `path` itself, or the one JSON file in the folder an S3 input downloaded it to."""
    return find_json_document(path, TRAINING_PROFILE_FILE, "training profile")


def read_profile(path: str) -> dict:
    file = find_profile(path)
    try:
        with open(file, encoding="utf-8") as f:
            profile = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read the training profile {file}: {e}") from e
    if not isinstance(profile, dict) or profile.get("version") != TRAINING_PROFILE_VERSION:
        raise InputError(f"{file} is not a version {TRAINING_PROFILE_VERSION} training profile")
    problems = []
    for measure in MEASURES:
        entry = profile.get("numeric", {}).get(measure)
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), list) for k in ("binEdges", "proportions", "sample")):
            problems.append(f"numeric.{measure} lacks binEdges, proportions or sample")
        elif len(entry["binEdges"]) != len(entry["proportions"]) + 1 or not entry["sample"]:
            problems.append(f"numeric.{measure}: {len(entry['binEdges'])} edges for {len(entry['proportions'])} bins, "
                            f"{len(entry['sample'])} sample values")
    if not isinstance(profile.get("categorical", {}).get(SEX_COLUMN, {}).get("frequencies"), dict):
        problems.append(f"categorical.{SEX_COLUMN}.frequencies is missing")
    if problems:
        raise InputError(f"{file} is not a valid training profile: " + "; ".join(problems))
    return profile


# --- captures ----------------------------------------------------------------------------------

def capture_files(captures_dir: str) -> List[str]:
    if not os.path.isdir(captures_dir):
        return []
    found = []
    for root, dirs, files in os.walk(captures_dir):
        dirs.sort()
        found.extend(os.path.join(root, name) for name in files if name.endswith(CAPTURE_SUFFIX))
    return sorted(found)


def parse_capture(line: str) -> Tuple[Optional[dict], Optional[str]]:
    """(record, None) of one capture line, or (None, reason)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None, "not a JSON object"
    if not isinstance(record, dict):
        return None, "not a JSON object"
    return record, None


def capture_text(record: dict, field: str = "endpointInput") -> Tuple[Optional[str], Optional[str]]:
    """(CSV text, None) of a capture record's request (or, with field="endpointOutput", its answer), or (None, reason)."""
    payload = (record.get("captureData") or {}).get(field) if isinstance(record.get("captureData"), dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), str):
        return None, f"no captureData.{field}.data"
    request = field == "endpointInput"
    prefix = "" if request else "answer: "
    encoding = payload.get("encoding")
    content_type = str(payload.get("observedContentType", "")).split(";")[0].strip().lower()
    if encoding == "JSON" or content_type.endswith("json"):
        return None, f"JSON {'request' if request else 'answer'} (this library sends text/csv)"
    if encoding == "CSV":
        return payload["data"], None
    if encoding == "BASE64":
        if content_type and content_type != CSV_CONTENT_TYPE:
            return None, f"{prefix}content type {content_type} (this library sends {CSV_CONTENT_TYPE})"
        try:
            return base64.b64decode(payload["data"], validate=True).decode("utf-8"), None
        except (binascii.Error, ValueError):
            return None, f"{prefix}invalid base64 or not UTF-8 text"
    return None, f"{prefix}unknown encoding {encoding!r}"


def endpoint_input_text(line: str) -> Tuple[Optional[str], Optional[str]]:
    """(CSV text, None) of one capture line's request, or (None, reason) when it cannot be read."""
    record, reason = parse_capture(line)
    return (None, reason) if record is None else capture_text(record)


def parse_row(text: str) -> Tuple[Optional[Tuple[str, List[float]]], Optional[str]]:
    """(sex, measures) of one headerless CSV row, or (None, reason)."""
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != len(FEATURES):
        return None, f"row with {len(fields)} fields (expected {len(FEATURES)}: {','.join(FEATURES)})"
    try:
        values = [float(fields[i]) for i in MEASURE_INDEX]
    except ValueError:
        return None, "a measure is not a number"
    if not all(math.isfinite(v) for v in values):
        return None, "a measure is not a finite number"
    return (fields[SEX_INDEX], values), None


def read_captures(captures_dir: str) -> Tuple[List[str], np.ndarray, Counter, int]:
    """Sexes and measures of every readable row, the skip reasons counted, and the number of capture files."""
    sexes: List[str] = []
    measures: List[List[float]] = []
    skipped: Counter = Counter()
    files = capture_files(captures_dir)
    for path in files:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                text, reason = endpoint_input_text(line)
                if text is None:
                    skipped[reason] += 1
                    continue
                rows = [r for r in text.splitlines() if r.strip()]
                if not rows:
                    skipped["empty request"] += 1
                for row in rows:
                    parsed, reason = parse_row(row)
                    if parsed is None:
                        skipped[reason] += 1
                    else:
                        sexes.append(parsed[0])
                        measures.append(parsed[1])
    array = np.asarray(measures, dtype=np.float64).reshape(-1, len(MEASURES))
    return sexes, array, skipped, len(files)


# --- statistics --------------------------------------------------------------------------------

def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins (symmetric KL divergence)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), EMPTY_BIN_SHARE)
    a = np.maximum(np.asarray(actual, dtype=np.float64), EMPTY_BIN_SHARE)
    # rel_entr(a, e) + rel_entr(e, a) = (a - e) * ln(a / e)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def bin_shares(edges: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Share of values per bin; bin i holds edges[i] <= v < edges[i+1], the outer bins open-ended (as in
    preprocess.py's profile)."""
    index = np.searchsorted(np.asarray(edges[1:-1], dtype=np.float64), values, side="right")
    return np.bincount(index, minlength=len(edges) - 1) / len(values)


def numeric_summary(values: np.ndarray) -> Dict[str, float]:
    p25, median, p75 = np.quantile(values, [0.25, 0.5, 0.75])
    return {"mean": float(np.mean(values)), "p25": float(p25), "median": float(median), "p75": float(p75)}


def judge_numeric(profile: dict, values: np.ndarray, psi_threshold: float, ks_threshold: float) -> dict:
    baseline = np.asarray(profile["sample"], dtype=np.float64)
    distance = psi(profile["proportions"], bin_shares(profile["binEdges"], values))
    ks = ks_2samp(baseline, values)
    driven = [name for name, hit in (("psi", distance > psi_threshold), ("ks", ks.pvalue < ks_threshold)) if hit]
    return {"kind": "numeric", "psi": distance, "ks": float(ks.statistic), "ksPValue": float(ks.pvalue),
            "drifted": bool(driven), "driftedBy": driven,
            "baseline": numeric_summary(baseline), "served": numeric_summary(values)}


def judge_categorical(frequencies: Dict[str, float], served: Sequence[str], psi_threshold: float) -> dict:
    counts = Counter(served)
    # Categories the training data lacks count against it (at EMPTY_BIN_SHARE there).
    categories = list(frequencies) + sorted(c for c in counts if c not in frequencies)
    expected = np.array([frequencies.get(c, 0.0) for c in categories])
    actual = np.array([counts.get(c, 0) for c in categories]) / len(served)
    distance = psi(expected, actual)
    drifted = distance > psi_threshold
    return {"kind": "categorical", "psi": distance, "drifted": bool(drifted), "driftedBy": ["psi"] if drifted else [],
            "baseline": {"frequencies": {c: float(frequencies.get(c, 0.0)) for c in categories}},
            "served": {"frequencies": {c: float(v) for c, v in zip(categories, actual)}}}


def build_report(profile: dict, sexes: List[str], measures: np.ndarray, skipped: Counter, files: int,
                 args: argparse.Namespace) -> dict:
    thresholds = {"psi": args.psi_threshold, "ksPValue": args.ks_p_value_threshold,
                  "driftedShare": args.drifted_share_threshold, "minRecords": args.min_records}
    report = {
        "status": DRIFT_STATUS["insufficientData"],
        "endpointName": args.endpoint_name,
        "modelPackageArn": args.model_package_arn,
        "windowStart": args.window_start,
        "recordCount": len(sexes),
        "skippedRecords": int(sum(skipped.values())),
        "skippedReasons": dict(sorted(skipped.items())),
        "profileRecordCount": int(profile.get("recordCount", 0)),
        "thresholds": thresholds,
        "features": {},
        "driftedShare": 0.0,
        "driftedFeatures": [],
    }
    if len(sexes) < args.min_records:
        report["message"] = (f"{len(sexes)} record(s) in {files} capture file(s), fewer than the {args.min_records} "
                             "needed to judge drift: not judged")
    else:
        features = {}
        for feature in FEATURES:
            if feature == SEX_COLUMN:
                features[feature] = judge_categorical(profile["categorical"][SEX_COLUMN]["frequencies"], sexes,
                                                      args.psi_threshold)
            else:
                features[feature] = judge_numeric(profile["numeric"][feature], measures[:, MEASURES.index(feature)],
                                                  args.psi_threshold, args.ks_p_value_threshold)
        drifted = [f for f in FEATURES if features[f]["drifted"]]
        share = len(drifted) / len(FEATURES)
        report.update({
            "status": DRIFT_STATUS["drift"] if share > args.drifted_share_threshold else DRIFT_STATUS["ok"],
            "features": features,
            "driftedShare": share,
            "driftedFeatures": drifted,
        })
    report["generatedAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return report


# --- model quality ---------------------------------------------------------------------------

GROUND_TRUTH_SUFFIXES = (".json", ".jsonl")
GROUND_TRUTH_FIELDS = ("inferenceId", "row", "actualRings")


def read_predictions(captures_dir: str) -> Tuple[Dict[Tuple[str, int], float], Counter]:
    """The model's answer per (inferenceId, row) of every readable capture line, and the skip reasons counted."""
    predictions: Dict[Tuple[str, int], float] = {}
    skipped: Counter = Counter()
    for path in capture_files(captures_dir):
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    continue
                record, reason = parse_capture(line)
                if record is None:
                    skipped[reason] += 1
                    continue
                metadata = record.get("eventMetadata")
                inference_id = metadata.get("inferenceId") if isinstance(metadata, dict) else None
                if not isinstance(inference_id, str) or not inference_id:
                    skipped["no eventMetadata.inferenceId"] += 1
                    continue
                answer, reason = capture_text(record, "endpointOutput")
                request, request_reason = capture_text(record)
                if answer is None or request is None:
                    skipped[reason or request_reason] += 1
                    continue
                # One number per row, on its own line (a single comma-separated line is accepted too), as the
                # prediction API reads the model's answer.
                cells = [c.strip() for c in answer.replace(",", "\n").splitlines() if c.strip()]
                rows = sum(1 for r in request.splitlines() if r.strip())
                try:
                    values = [float(c) for c in cells]
                except ValueError:
                    skipped["answer value is not a number"] += 1
                    continue
                if len(values) != rows or not all(math.isfinite(v) for v in values):
                    skipped["answer does not hold one finite number per request row"] += 1
                    continue
                for row, value in enumerate(values):
                    predictions[(inference_id, row)] = value
    return predictions, skipped


def ground_truth_files(ground_truth_dir: str) -> List[str]:
    if not os.path.isdir(ground_truth_dir):
        return []
    return sorted(os.path.join(root, name) for root, _, files in os.walk(ground_truth_dir)
                  for name in files if name.endswith(GROUND_TRUTH_SUFFIXES))


def ground_truth_documents(path: str) -> Tuple[List[object], Counter]:
    """The JSON values of one ground-truth file: one object (any layout) or one per line."""
    skipped: Counter = Counter()
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        return [json.loads(text)], skipped
    except ValueError:
        pass
    documents = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except ValueError:
            skipped["ground truth: not JSON"] += 1
    return documents, skipped


def check_label(document: object) -> Tuple[Optional[Tuple[Tuple[str, int], float, str]], Optional[str]]:
    """((inferenceId, row), actualRings, collectedAt) of one ground-truth record, or (None, reason)."""
    if not isinstance(document, dict):
        return None, "ground truth: not a JSON object"
    missing = [name for name in GROUND_TRUTH_FIELDS if name not in document]
    if missing:
        return None, f"ground truth: no {', '.join(missing)}"
    inference_id, row, actual = document["inferenceId"], document["row"], document["actualRings"]
    if not isinstance(inference_id, str) or not inference_id:
        return None, "ground truth: inferenceId is not a non-empty string"
    if isinstance(row, bool) or not isinstance(row, int) or row < 0:
        return None, "ground truth: row is not a whole number from 0"
    if isinstance(actual, bool) or not isinstance(actual, (int, float)) or not math.isfinite(actual):
        return None, "ground truth: actualRings is not a number"
    collected = document.get("collectedAt")
    return ((inference_id, row), float(actual), collected if isinstance(collected, str) else ""), None


def read_labels(ground_truth_dir: str) -> Tuple[Dict[Tuple[str, int], float], Counter, int]:
    """The actual rings per (inferenceId, row), the later collectedAt winning; skip reasons; files read."""
    labels: Dict[Tuple[str, int], Tuple[float, str]] = {}
    skipped: Counter = Counter()
    files = ground_truth_files(ground_truth_dir)
    for path in files:
        documents, unreadable = ground_truth_documents(path)
        skipped.update(unreadable)
        for document in documents:
            for item in (document if isinstance(document, list) else [document]):
                label, reason = check_label(item)
                if label is None:
                    skipped[reason] += 1
                    continue
                key, actual, collected = label
                # ISO 8601 UTC times compare as text; equal or missing times: the one read last wins.
                if key not in labels or collected >= labels[key][1]:
                    labels[key] = (actual, collected)
    return {key: value for key, (value, _) in labels.items()}, skipped, len(files)


def read_registered_metrics(path: str) -> Dict[str, float]:
    """MSE, MAE and R2 of the registered evaluation report (evaluate.py's evaluation.json)."""
    file = find_json_document(path, EVALUATION_REPORT_FILE, "registered evaluation report")
    try:
        with open(file, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read the registered evaluation report {file}: {e}") from e
    metrics = {}
    for name, dotted in EVALUATION_METRIC_PATHS.items():
        value = report
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{file} is not an evaluation report: {dotted} is missing or not a number")
        metrics[name] = float(value)
    if metrics["mse"] <= 0:
        raise InputError(f"{file}: registered MSE {metrics['mse']} must be above 0 to compare against")
    return metrics


def build_quality_report(predictions: Dict[Tuple[str, int], float], labels: Dict[Tuple[str, int], float],
                         registered: Dict[str, float], skipped: Counter, args: argparse.Namespace) -> dict:
    matched = sorted(key for key in labels if key in predictions)
    report = {
        "status": MODEL_QUALITY_STATUS["insufficientLabels"],
        "endpointName": args.endpoint_name,
        "modelPackageArn": args.model_package_arn,
        "windowStart": args.window_start,
        "predictionCount": len(predictions),
        "labelledCount": len(matched),
        "unmatchedLabels": len(labels) - len(matched),
        "skippedRecords": int(sum(skipped.values())),
        "skippedReasons": dict(sorted(skipped.items())),
        "registered": registered,
        "thresholds": {"mseTolerance": args.mse_tolerance, "minLabels": args.min_labels},
    }
    if len(matched) < args.min_labels:
        report["message"] = (f"{len(matched)} labelled prediction(s) of {len(predictions)}, fewer than the "
                             f"{args.min_labels} needed to judge model quality: not judged")
    else:
        actual = np.array([labels[k] for k in matched])
        predicted = np.array([predictions[k] for k in matched])
        live = {"mse": float(mean_squared_error(actual, predicted)),
                "mae": float(mean_absolute_error(actual, predicted)),
                "r2": float(r2_score(actual, predicted))}
        ratio = live["mse"] / registered["mse"]
        degraded = ratio > 1 + args.mse_tolerance
        report.update({"status": MODEL_QUALITY_STATUS["degraded" if degraded else "ok"], "live": live,
                       "mseRatio": ratio})
        if degraded:
            report["message"] = (f"live MSE {live['mse']:.3f} is {ratio:.2f} x the registered {registered['mse']:.3f}, "
                                 f"above 1 + {args.mse_tolerance}")
    report["generatedAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return report


def parse_quality_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="monitor_drift.py quality",
                                     description="Live model quality: captures joined with their ground truth")
    add_job_args(parser, MODEL_QUALITY_PATHS["captures"], MODEL_QUALITY_PATHS["report"], MODEL_QUALITY_REPORT_FILE)
    parser.add_argument("--ground-truth-dir", default=MODEL_QUALITY_PATHS["groundTruth"],
                        help="folder searched recursively for ground-truth *.json / *.jsonl files")
    parser.add_argument("--registered-metrics", default=MODEL_QUALITY_PATHS["registeredMetrics"],
                        help=f"the registered evaluation report, or the folder holding it ({EVALUATION_REPORT_FILE})")
    parser.add_argument("--mse-tolerance", type=float, default=DEFAULT_MSE_TOLERANCE)
    parser.add_argument("--min-labels", type=int, default=DEFAULT_MIN_LABELS)
    return parser.parse_args(argv)


def run_quality(args: argparse.Namespace) -> dict:
    problems = []
    if not (math.isfinite(args.mse_tolerance) and args.mse_tolerance > 0):
        problems.append(f"--mse-tolerance must be above 0 (got {args.mse_tolerance})")
    if args.min_labels < 2:
        problems.append(f"--min-labels must be at least 2, as R2 needs two labels (got {args.min_labels})")
    if problems:
        raise InputError("; ".join(problems))
    registered = read_registered_metrics(args.registered_metrics)
    predictions, skipped = read_predictions(args.captures_dir)
    labels, label_skips, _ = read_labels(args.ground_truth_dir)
    skipped.update(label_skips)
    report = build_quality_report(predictions, labels, registered, skipped, args)
    write_report(args.output_dir, MODEL_QUALITY_REPORT_FILE, report)
    return report


def quality_main(argv: Sequence[str]) -> None:
    args = parse_quality_args(argv)
    report = run_job(run_quality, args, "model-quality monitoring")
    live = report.get("live")
    judged = f"MSE {live['mse']:.3f} (x{report['mseRatio']:.2f}), MAE {live['mae']:.3f}, R2 {live['r2']:.3f}" if live \
        else report.get("message", "")
    print(f"{report['status']}: {report['labelledCount']} labelled of {report['predictionCount']} predictions, "
          f"{report['unmatchedLabels']} unmatched labels, {report['skippedRecords']} skipped; {judged}")


# --- command line ------------------------------------------------------------------------------

def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_job_args(parser, MONITORING_PATHS["captures"], MONITORING_PATHS["report"], DRIFT_REPORT_FILE)
    parser.add_argument("--profile", default=MONITORING_PATHS["profile"],
                        help=f"the training profile, or the folder holding it ({TRAINING_PROFILE_FILE})")
    parser.add_argument("--psi-threshold", type=float, default=DEFAULT_PSI_THRESHOLD)
    parser.add_argument("--ks-p-value-threshold", type=float, default=DEFAULT_KS_P_VALUE_THRESHOLD)
    parser.add_argument("--drifted-share-threshold", type=float, default=DEFAULT_DRIFTED_SHARE_THRESHOLD)
    parser.add_argument("--min-records", type=int, default=DEFAULT_MIN_RECORDS)
    return parser.parse_args(argv)


def add_job_args(parser: argparse.ArgumentParser, captures_dir: str, output_dir: str, report_file: str) -> None:
    """The arguments both modes take: where the captures are, where the report goes, what the report names."""
    parser.add_argument("--captures-dir", default=captures_dir,
                        help="folder searched recursively for *.jsonl capture files")
    parser.add_argument("--output-dir", default=output_dir, help=f"writes {report_file} here")
    parser.add_argument("--endpoint-name", default="")
    parser.add_argument("--model-package-arn", default="")
    parser.add_argument("--window-start", default="", help="ISO 8601 start of the window, for the report")
    parser.add_argument("--exit-message-file", default="/opt/ml/output/message",
                        help="on failure the reason is also written here (the job's ExitMessage), if its folder exists")


def check_args(args: argparse.Namespace) -> None:
    problems = []
    if not (math.isfinite(args.psi_threshold) and args.psi_threshold > 0):
        problems.append(f"--psi-threshold must be above 0 (got {args.psi_threshold})")
    if not 0 < args.ks_p_value_threshold < 1:
        problems.append(f"--ks-p-value-threshold must be between 0 and 1 (got {args.ks_p_value_threshold})")
    if not 0 <= args.drifted_share_threshold < 1:
        problems.append(f"--drifted-share-threshold must be from 0 up to 1 (got {args.drifted_share_threshold})")
    if args.min_records < 1:
        problems.append(f"--min-records must be at least 1 (got {args.min_records})")
    if problems:
        raise InputError("; ".join(problems))


def fail(message: str, exit_message_file: str) -> NoReturn:
    print(f"ERROR: {message}", file=sys.stderr)
    if exit_message_file and os.path.isdir(os.path.dirname(exit_message_file)):
        try:
            with open(exit_message_file, "w", encoding="utf-8") as f:
                f.write(message[:1024])
        except OSError:
            pass
    sys.exit(1)


def write_report(output_dir: str, file_name: str, report: dict) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, file_name), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
        f.write("\n")


def run_job(job: Callable[[argparse.Namespace], dict], args: argparse.Namespace, what: str) -> dict:
    """job(args)'s report; on failure the job ends with the reason (stderr and the ExitMessage file), exit code 1."""
    try:
        return job(args)
    except InputError as e:
        fail(str(e), args.exit_message_file)
    except Exception as e:  # noqa: BLE001 - any other failure still has to end the job with a reason
        traceback.print_exc()
        fail(f"{what} failed: {type(e).__name__}: {e}", args.exit_message_file)


def run(args: argparse.Namespace) -> dict:
    check_args(args)
    profile = read_profile(args.profile)
    sexes, measures, skipped, files = read_captures(args.captures_dir)
    report = build_report(profile, sexes, measures, skipped, files, args)
    write_report(args.output_dir, DRIFT_REPORT_FILE, report)
    return report


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["quality"]:
        quality_main(argv[1:])
        return
    args = parse_args(argv)
    report = run_job(run, args, "drift monitoring")
    drifted = ", ".join(report["driftedFeatures"]) or "none"
    print(f"{report['status']}: {report['recordCount']} records, {report['skippedRecords']} skipped; "
          f"drifted features: {drifted} (share {report['driftedShare']:.3f})")


if __name__ == "__main__":
    main()
