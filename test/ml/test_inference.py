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
    expected = model.column_transformer.transform(frame)
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
        rows = inference.input_fn(body, content_type)
        assert rows.sex_codes == ["M", "I"]
        assert rows.measures.dtype == np.float64
        assert rows.measures.tolist() == [[0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15],
                                          [0.33, 0.255, 0.08, 0.205, 0.0895, 0.0395, 0.055]]


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


def reference_transform(column_transformer, body):
    """The fitted ColumnTransformer on a DataFrame of the body's rows: what the handler computed before."""
    lines = [line.split(",") for line in body.replace("\r", "").splitlines() if line.strip()]
    frame = pd.DataFrame([[f.strip() for f in line] for line in lines], columns=list(inference.FEATURES))
    frame[list(inference.MEASURES)] = frame[list(inference.MEASURES)].astype(np.float64)
    return column_transformer.transform(frame)


def served(model, body):
    return np.array([[float(v) for v in line.split(",")]
                     for line in inference.output_fn(inference.predict_fn(inference.input_fn(body, "text/csv"), model))[0]
                     .splitlines()])


@pytest.fixture(scope="module")
def full_model(full_split, tmp_path_factory):
    """The preprocessor fitted on the full dataset's training split by the real preprocessing CLI."""
    target = tmp_path_factory.mktemp("full-model")
    with tarfile.open(full_split["out"] / "model" / "model.tar.gz") as tar:
        tar.extractall(target)
    return inference.model_fn(str(target))


def test_the_numpy_transform_equals_the_fitted_column_transformer_on_the_whole_dataset(full_model, abalone_data):
    body = "".join(line.rsplit(",", 1)[0] + "\n" for line in abalone_data.read_text().split())
    got = served(full_model, body)
    expected = reference_transform(full_model.column_transformer, body)
    assert got.shape == expected.shape == (4177, len(preprocess.FEATURE_COLUMNS))
    assert np.max(np.abs(got - expected)) <= 1e-12
    assert np.array_equal(got, expected)  # in fact bit for bit: the same float64 operations


@pytest.mark.parametrize("body", [
    "F,0,0,0,0,0,0,0\n",  # every measure at its minimum
    "I,1.25,1.0,1.25,5.0,3.0,1.5,2.0\n",  # every measure at its maximum
    "M,-0,0.0000001,1e-12,4.999999999999,2.9999,1.4999,1.9999\n",
    "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15",  # no final newline
    "F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21\r\nI,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055\r\n".encode("utf-8-sig"),
    "\n  M , 0.455 ,0.365,0.095,0.514,0.2245,0.101,0.15\n\n\nF,0.1,0.1,0.1,0.1,0.1,0.1,0.1\n",
    "".join(f"{'MFI'[i % 3]},{i / 200:.12f},0.3,0.1,0.5,0.2245,0.101,0.15\n" for i in range(100)),  # a batch of 100
])
def test_the_numpy_transform_equals_the_fitted_column_transformer_on_edge_rows(full_model, body):
    got = served(full_model, body)
    expected = reference_transform(full_model.column_transformer,
                                   body.decode("utf-8-sig") if isinstance(body, bytes) else body)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-12


# Each message as the DataFrame-based handler wrote it, for inputs it rejected.
REJECTED = [
    ('', 'text/csv', ValueError, 'request body contains no rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight'),
    ('\n \n', 'text/csv', ValueError, 'request body contains no rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight'),
    (' , ,\n', 'text/csv', ValueError, 'request body contains no rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight'),
    ('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', 'application/json', inference.UnsupportedContentTypeError, "content type 'application/json' is not supported: send text/csv rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight"),
    ('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', None, inference.UnsupportedContentTypeError, 'content type None is not supported: send text/csv rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight'),
    ('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', 'text/plain', inference.UnsupportedContentTypeError, "content type 'text/plain' is not supported: send text/csv rows of sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight"),
    (b'M,0.4\xff', 'text/csv', ValueError, 'request body is not UTF-8 text (byte offset 5)'),
    ('M,0.455,0.365\n', 'text/csv', ValueError, 'invalid request: row 1: expected 8 columns (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight), found 3'),
    ('M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\nM,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n', 'text/csv', ValueError, 'invalid request: row 2: expected 8 columns (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight), found 9'),
    ('m,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n', 'text/csv', ValueError, "invalid request: row 1, column sex: 'm' is not one of M/F/I"),
    ('F,0.4,abc,0.095,0.514,0.2245,0.101,0.15\n', 'text/csv', ValueError, "invalid request: row 1, column diameter: 'abc' is not a number"),
    ('F,0.4,0.3,-0.1,0.514,0.2245,0.101,0.15\n', 'text/csv', ValueError, 'invalid request: row 1, column height: -0.1 is outside 0..1.25 (the dataset scale is mm and g divided by 200)'),
    ('F,0.4,0.3,0.1,inf,0.2245,0.101,0.15\n', 'text/csv', ValueError, 'invalid request: row 1, column whole_weight: inf is outside 0..5.0 (the dataset scale is mm and g divided by 200)'),
    ('F,0.4,0.3,0.1,nan,0.2245,0.101,0.15\n', 'text/csv', ValueError, 'invalid request: row 1, column whole_weight: nan is outside 0..5.0 (the dataset scale is mm and g divided by 200)'),
    ('F,0.4,0.3,0.1,,0.2245,0.101,0.15\n', 'text/csv', ValueError, "invalid request: row 1, column whole_weight: '' is not a number"),
    ('"F,0.4",0.3,0.1,0.5,0.2245,0.101,0.15\n', 'text/csv', ValueError, 'invalid request: row 1: expected 8 columns (sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight), found 7'),
    ('Q,1e400,-1e-9,0x1,1.25,3.0000001,0.101,0.15\n', 'text/csv', ValueError, "invalid request: row 1, column sex: 'Q' is not one of M/F/I; row 1, column length: 1e400 is outside 0..1.25 (the dataset scale is mm and g divided by 200); row 1, column diameter: -1e-9 is outside 0..1.0 (the dataset scale is mm and g divided by 200); row 1, column height: '0x1' is not a number; row 1, column shucked_weight: 3.0000001 is outside 0..3.0 (the dataset scale is mm and g divided by 200)"),
    ("".join(f"X,{i / 100},0.3,0.1,0.5,0.2245,0.101,0.15\n" for i in range(22)), "text/csv", ValueError,
     "invalid request: " + "; ".join(f"row {i}, column sex: 'X' is not one of M/F/I" for i in range(1, 21)) + "; ..."),
]


@pytest.mark.parametrize("body, content_type, error, message", REJECTED)
def test_inputs_rejected_before_are_rejected_with_the_same_message(full_model, body, content_type, error, message):
    with pytest.raises(error) as raised:
        inference.predict_fn(inference.input_fn(body, content_type), full_model)
    assert type(raised.value) is error
    assert str(raised.value) == message


def test_a_preprocessor_of_another_shape_is_refused_at_load_naming_what_differs(tmp_path, abalone_data):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    frame = preprocess.to_frame([line.split(",") for line in abalone_data.read_text().split()][:200])
    other = ColumnTransformer([
        ("sex", OneHotEncoder(categories=[["F", "M"]], sparse_output=False), ["sex"]),
        ("measures", MinMaxScaler(), list(inference.MEASURES)),
    ]).fit(frame[frame["sex"] != "I"][list(inference.FEATURES)])
    import joblib
    joblib.dump(other, tmp_path / "model.joblib")
    with pytest.raises(ValueError) as raised:
        inference.model_fn(str(tmp_path))
    assert str(raised.value) == (
        "model.joblib is not the preprocessor this handler serves: its one-hot encoder fails on sex codes it was "
        "not fitted with; MinMaxScaler on length,diameter,height,whole_weight,shucked_weight,viscera_weight,"
        "shell_weight is not a step this handler knows")
