"""Feature preprocessing handler for the scikit-learn 1.2-1 serving container.

First container of the PipelineModel: it turns text/csv rows of the 8 raw features (dataset
scale, no rings) into the transformed feature rows the XGBoost container expects. The data
contract comes from abalone_contract (generated from src/contracts/abalone-data.ts), which
preprocess.py packs beside this handler in the model archive's code/ folder: the container puts
that folder on the path before it imports the handler.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from typing import List, Optional, Tuple

import joblib
import numpy as np
import pandas as pd

from abalone_contract import CSV_CONTENT_TYPE as CONTENT_TYPE
from abalone_contract import DATASET_SCALE_DIVISOR, MAX_DATASET_VALUE, MEASURES, SEX_CODES, SEX_COLUMN

FEATURES = (SEX_COLUMN,) + MEASURES
PREPROCESSOR_FILE = "model.joblib"
MAX_PROBLEMS = 20


class UnsupportedContentTypeError(ValueError):
    """The request's content type is not text/csv."""


def contract() -> dict:
    return {
        "features": list(FEATURES),
        "sexCodes": list(SEX_CODES),
        "maxDatasetValue": dict(MAX_DATASET_VALUE),
        "contentType": CONTENT_TYPE,
    }


def model_fn(model_dir: str):
    return joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE))


def check_fields(fields: List[str]) -> Tuple[Optional[list], List[Tuple[Optional[str], str]]]:
    """The parsed row, or the (column, reason) problems; column None for the whole row."""
    if len(fields) != len(FEATURES):
        return None, [(None, f"expected {len(FEATURES)} columns ({','.join(FEATURES)}), found {len(fields)}")]
    problems: List[Tuple[Optional[str], str]] = []
    row: list = [fields[0]]
    if fields[0] not in SEX_CODES:
        problems.append((SEX_COLUMN, f"{fields[0]!r} is not one of {'/'.join(SEX_CODES)}"))
    for column, text in zip(MEASURES, fields[1:]):
        try:
            value = float(text)
        except ValueError:
            problems.append((column, f"{text!r} is not a number"))
            continue
        if not math.isfinite(value) or value < 0 or value > MAX_DATASET_VALUE[column]:
            problems.append((column, f"{text} is outside 0..{MAX_DATASET_VALUE[column]} "
                                     f"(the dataset scale is mm and g divided by {DATASET_SCALE_DIVISOR})"))
        row.append(value)
    return (None if problems else row), problems


def input_fn(request_body, request_content_type: Optional[str]) -> pd.DataFrame:
    media_type = (request_content_type or "").split(";")[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise UnsupportedContentTypeError(
            f"content type {request_content_type!r} is not supported: send {CONTENT_TYPE} rows of "
            f"{','.join(FEATURES)}")
    if isinstance(request_body, (bytes, bytearray)):
        try:
            request_body = bytes(request_body).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"request body is not UTF-8 text (byte offset {e.start})") from None
    rows, problems = [], []
    reader = csv.reader(io.StringIO(request_body, newline=""))
    for fields in reader:
        fields = [f.strip() for f in fields]
        if not any(fields):
            continue
        row, row_problems = check_fields(fields)
        for column, reason in row_problems:
            where = f"row {reader.line_num}" + ("" if column is None else f", column {column}")
            problems.append(f"{where}: {reason}")
        if row is not None:
            rows.append(row)
    if problems:
        shown = problems[:MAX_PROBLEMS]
        raise ValueError("invalid request: " + "; ".join(shown)
                         + ("; ..." if len(problems) > len(shown) else ""))
    if not rows:
        raise ValueError(f"request body contains no rows of {','.join(FEATURES)}")
    return pd.DataFrame(rows, columns=list(FEATURES))


def predict_fn(input_data: pd.DataFrame, model) -> np.ndarray:
    return model.transform(input_data[list(FEATURES)])


def output_fn(prediction: np.ndarray, accept: Optional[str] = None) -> Tuple[str, str]:
    # Always CSV, whatever the Accept header: this container only ever feeds the XGBoost
    # container, which reads headerless text/csv in the training feature order. repr() keeps
    # full float precision.
    body = "".join(",".join(repr(v) for v in row) + "\n" for row in np.asarray(prediction).tolist())
    return body, CONTENT_TYPE


if __name__ == "__main__":
    if sys.argv[1:] == ["--print-contract"]:
        print(json.dumps(contract()))
    else:
        sys.exit("usage: inference.py --print-contract (the serving container imports this module)")
