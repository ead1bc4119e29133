import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pandas as pd
import pytest

import inference
import preprocess
from conftest import run_script, valid_rows, write_lines

ROWS = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nI,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055\n"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """model.tar.gz from a real preprocess run, extracted the way the serving container does."""
    root = tmp_path_factory.mktemp("serving")
    write_lines(root / "in" / "a.csv", valid_rows(60))
    preprocess.main(["--input-dir", str(root / "in"), "--output-dir", str(root / "out"), "--exit-message-file", ""])
    with tarfile.open(root / "out" / "model" / "model.tar.gz") as tar:
        tar.extractall(root / "model")
    return root / "model"


@pytest.fixture(scope="module")
def packaged_handler(model_dir):
    """The inference.py shipped inside model.tar.gz (code/), imported as the container would."""
    spec = importlib.util.spec_from_file_location("packaged_inference", model_dir / "code" / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The serving container, in a process of its own: only the archive's code/ folder on the path (-I leaves out the
# script's and the working folder, PYTHONPATH and the user's site packages), the handler imported by name.
CONTAINER = """
import importlib, json, sys
code_dir, model_dir, body = sys.argv[1:4]
sys.path.insert(0, code_dir)
handler = importlib.import_module("inference")
import abalone_contract
model = handler.model_fn(model_dir)
out, content_type = handler.output_fn(handler.predict_fn(handler.input_fn(body, "text/csv"), model), "text/csv")
print(json.dumps({"body": out, "handler": handler.__file__, "contract": abalone_contract.__file__}))
"""


def serve_in_container(model_dir, code_dir, body):
    return subprocess.run([sys.executable, "-I", "-c", CONTAINER, str(code_dir), str(model_dir), body],
                          capture_output=True, text=True, cwd=model_dir)


def invoke(handler, model_dir, body, content_type="text/csv", accept="text/csv"):
    """model_fn -> input_fn -> predict_fn -> output_fn, the serving container's call order."""
    model = handler.model_fn(str(model_dir))
    data = handler.input_fn(body, content_type)
    return handler.output_fn(handler.predict_fn(data, model), accept)


def test_round_trip_matches_the_fitted_preprocessor_at_full_precision(packaged_handler, model_dir):
    body, content_type = invoke(packaged_handler, model_dir, ROWS.encode())
    assert content_type == "text/csv"
    lines = body.splitlines()
    assert len(lines) == 2 and body.endswith("\n")
    got = np.array([[float(v) for v in line.split(",")] for line in lines])

    model = packaged_handler.model_fn(str(model_dir))
    frame = pd.DataFrame([r.split(",") for r in ROWS.split()], columns=list(inference.FEATURES))
    frame[list(inference.MEASURES)] = frame[list(inference.MEASURES)].astype(float)
    expected = model.transform(frame)
    assert got.shape == (2, len(preprocess.FEATURE_COLUMNS))
    assert np.array_equal(got, expected)  # exact: repr() keeps every bit
    assert got[:, :3].tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]  # sex_F, sex_I, sex_M


def test_the_packaged_handler_serves_with_nothing_but_its_archive(model_dir):
    done = serve_in_container(model_dir, model_dir / "code", ROWS)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["handler"] == str(model_dir / "code" / "inference.py")
    assert answer["contract"] == str(model_dir / "code" / "abalone_contract.py")
    assert answer["body"] == invoke(inference, model_dir, ROWS)[0]


def test_the_handler_needs_the_contract_packed_beside_it(model_dir, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    shutil.copyfile(model_dir / "code" / "inference.py", code / "inference.py")
    done = serve_in_container(model_dir, code, ROWS)
    assert done.returncode == 1
    assert "No module named 'abalone_contract'" in done.stderr


def test_serving_encodes_rows_exactly_as_the_training_csv(model_dir):
    features_only = [row.rsplit(",", 1)[0] for row in valid_rows(60)]
    served, _ = invoke(inference, model_dir, "\n".join(features_only))
    trained = model_dir.parent / "out"
    split_lines = set()
    for name in ("train", "validation", "test"):
        split_lines |= {line.split(",", 1)[1] for line in (trained / name / f"{name}.csv").read_text().splitlines()}
    assert len(served.splitlines()) == 60
    assert set(served.splitlines()) <= split_lines


@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8", "TEXT/CSV"])
def test_csv_content_types_are_accepted_for_str_and_bytes(content_type):
    for body in (ROWS, ROWS.encode()):
        frame = inference.input_fn(body, content_type)
        assert list(frame.columns) == list(inference.FEATURES)
        assert frame["sex"].tolist() == ["M", "I"]


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "", None])
def test_other_content_types_are_rejected(content_type):
    with pytest.raises(inference.UnsupportedContentTypeError, match="is not supported: send text/csv"):
        inference.input_fn(ROWS, content_type)


@pytest.mark.parametrize("body, expected", [
    (ROWS + "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n", "row 3: expected 8 columns"),
    ("M,0.455,0.365\n", "row 1: expected 8 columns (sex,length,diameter,height"),
    ("X,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n", "row 1, column sex: 'X' is not one of M/F/I"),
    (ROWS + "F,0.4,abc,0.095,0.514,0.2245,0.101,0.15\n", "row 3, column diameter: 'abc' is not a number"),
    ("F,0.4,0.3,-0.1,0.514,0.2245,0.101,0.15\n", "row 1, column height: -0.1 is outside 0..1.25"),
    ("F,91,0.3,0.1,0.514,0.2245,0.101,0.15\n", "row 1, column length: 91 is outside 0..1.25"),
    ("F,0.4,0.3,0.1,inf,0.2245,0.101,0.15\n", "row 1, column whole_weight"),
    ("", "contains no rows"),
    ("\n \n", "contains no rows"),
])
def test_malformed_rows_are_rejected_naming_row_and_column(body, expected):
    with pytest.raises(ValueError) as error:
        inference.input_fn(body, "text/csv")
    assert expected in str(error.value)


def test_non_utf8_body_is_rejected():
    with pytest.raises(ValueError, match="not UTF-8"):
        inference.input_fn(b"M,0.4\xff", "text/csv")


def test_contract_agrees_with_the_preprocessing_contract():
    done = run_script("inference.py", "--print-contract")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    expected = preprocess.contract()
    assert printed["features"] == expected["columns"][:-1]
    assert printed["sexCodes"] == expected["sexCodes"]
    assert printed["maxDatasetValue"] == expected["maxDatasetValue"]
    assert printed["contentType"] == "text/csv"
