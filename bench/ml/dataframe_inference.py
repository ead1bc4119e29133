"""The registered preprocessor handler's transform as it was before its numpy Preprocessor: a pandas DataFrame and
ColumnTransformer.transform per request. Kept only as the benchmark's "before" (bench/ml/inference_bench.py,
bench/local-bench.ts). Parsing, validation and output are the registered handler's own (inference.py, beside this
file in the archive's code/ folder), so before and after differ only in the transform.
"""
from __future__ import annotations

import os
from typing import Optional

import joblib
import numpy as np
import pandas as pd

from abalone_contract import MEASURES, SEX_COLUMN
from inference import FEATURES, PREPROCESSOR_FILE, output_fn  # noqa: F401 (the handler's output_fn, as it is)
from inference import input_fn as parse_rows


def model_fn(model_dir: str):
    return joblib.load(os.path.join(model_dir, PREPROCESSOR_FILE))


def input_fn(request_body, request_content_type: Optional[str]) -> pd.DataFrame:
    rows = parse_rows(request_body, request_content_type)
    columns = {SEX_COLUMN: rows.sex_codes, **{c: rows.measures[:, i] for i, c in enumerate(MEASURES)}}
    return pd.DataFrame(columns, columns=list(FEATURES))


def predict_fn(input_data: pd.DataFrame, model) -> np.ndarray:
    return model.transform(input_data[list(FEATURES)])
