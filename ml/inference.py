"""Feature preprocessing handler for the scikit-learn 1.2-1 serving container.

First container of the PipelineModel: it turns text/csv rows of the 8 raw features (dataset
scale, no rings) into the transformed feature rows the XGBoost container expects. The data
contract comes from abalone_contract (generated from src/contracts/abalone-data.ts), which
preprocess.py packs beside this handler in the model archive's code/ folder: the container puts
that folder on the path before it imports the handler.

The artifact is the fitted ColumnTransformer (model.joblib); model_fn reads its parameters into a Preprocessor,
which applies them with numpy (see there), and keeps the transformer as the reference.
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


class Preprocessor:
    """The fitted ColumnTransformer of model.joblib, applied with numpy.

    At load the one-hot categories and the scaler's mean and scale are read from the fitted transformer, so a
    request costs a few array operations instead of a DataFrame and ColumnTransformer.transform (about 2 ms a
    call, whatever the row count). The output is the same, bit for bit: the same float64 subtraction and
    division StandardScaler does, and 0/1 where OneHotEncoder writes them. `column_transformer` stays the
    reference.
    """

    def __init__(self, column_transformer):
        self.column_transformer = column_transformer
        problems: List[str] = []
        encoders = [(t, cols) for name, t, cols in column_transformer.transformers_ if name != "remainder"]
        if getattr(column_transformer, "sparse_output_", True):
            problems.append("its output is sparse")
        if column_transformer.transformer_weights is not None:
            problems.append("it has transformer_weights")
        remainder = [cols for name, _, cols in column_transformer.transformers_ if name == "remainder"]
        if remainder and len(remainder[0]) > 0 and column_transformer.remainder != "drop":
            problems.append("it passes remainder columns through")
        self.blocks: List[Tuple[str, object]] = []
        covered: List[str] = []
        for transformer, columns in encoders:
            columns = list(columns) if not isinstance(columns, str) else [columns]
            covered += columns
            kind = type(transformer).__name__
            if kind == "OneHotEncoder" and columns == [SEX_COLUMN]:
                if transformer.drop_idx_ is not None or getattr(transformer, "_infrequent_enabled", False):
                    problems.append("its one-hot encoder drops or groups categories")
                if np.dtype(transformer.dtype) != np.float64:
                    problems.append(f"its one-hot encoder writes {np.dtype(transformer.dtype)}, not float64")
                categories = np.asarray(transformer.categories_[0], dtype=object)
                if transformer.handle_unknown != "ignore" and not set(SEX_CODES) <= set(categories):
                    problems.append("its one-hot encoder fails on sex codes it was not fitted with")
                self.blocks.append(("onehot", categories))
            elif kind == "StandardScaler" and set(columns) <= set(MEASURES):
                index = np.array([MEASURES.index(c) for c in columns])
                mean = transformer.mean_ if transformer.with_mean else np.zeros(len(columns))
                scale = transformer.scale_ if transformer.with_std else np.ones(len(columns))
                self.blocks.append(("scale", (index, np.asarray(mean, np.float64), np.asarray(scale, np.float64))))
            else:
                problems.append(f"{kind} on {','.join(columns)} is not a step this handler knows")
        if sorted(covered) != sorted(FEATURES):
            problems.append(f"it transforms {','.join(covered)}, not {','.join(FEATURES)}")
        if problems:
            raise ValueError(f"{PREPROCESSOR_FILE} is not the preprocessor this handler serves: " + "; ".join(problems))
        self.width = sum(len(params if kind == "onehot" else params[0]) for kind, params in self.blocks)

    def transform(self, rows: "Rows") -> np.ndarray:
        out = np.empty((len(rows), self.width), dtype=np.float64)
        at = 0
        for kind, params in self.blocks:
            if kind == "onehot":
                # A code outside the categories (possible only with handle_unknown="ignore") is all zeros, as there.
                out[:, at:at + len(params)] = np.asarray(rows.sex_codes, dtype=object)[:, None] == params
                at += len(params)
            else:
                index, mean, scale = params
                out[:, at:at + len(index)] = (rows.measures[:, index] - mean) / scale
                at += len(index)
        return out


class Rows:
    """Parsed request rows: the sex codes, and the measures as a float64 array in MEASURES order."""

    __slots__ = ("sex_codes", "measures")

    def __init__(self, sex_codes: List[str], measures: np.ndarray):
        self.sex_codes = sex_codes
        self.measures = measures

    def __len__(self) -> int:
        return len(self.sex_codes)


def model_fn(model_dir: str) -> Preprocessor:
    return Preprocessor(joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE)))


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


def input_fn(request_body, request_content_type: Optional[str]) -> Rows:
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
    return Rows([row[0] for row in rows], np.array([row[1:] for row in rows], dtype=np.float64))


def predict_fn(input_data: Rows, model: Preprocessor) -> np.ndarray:
    return model.transform(input_data)


def output_fn(prediction: np.ndarray, accept: Optional[str] = None) -> Tuple[str, str]:
    # Always CSV, whatever the Accept header: this container only ever feeds the XGBoost
    # container, which reads headerless text/csv in the training feature order. repr() keeps
    # full float precision.
    body = "".join(",".join(map(repr, row)) + "\n" for row in np.asarray(prediction).tolist())
    return body, CONTENT_TYPE


if __name__ == "__main__":
    if sys.argv[1:] == ["--print-contract"]:
        print(json.dumps(contract()))
    else:
        sys.exit("usage: inference.py --print-contract (the serving container imports this module)")
