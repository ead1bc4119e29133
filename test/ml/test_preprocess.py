import ast
import io
import json
import re
import tarfile
from collections import Counter

import joblib
import numpy as np
import pytest

import abalone_contract
import preprocess
from conftest import ML, run_script, valid_rows, write_lines


def run_main(input_dir, output_dir, *extra):
    preprocess.main(["--input-dir", str(input_dir), "--output-dir", str(output_dir),
                     "--exit-message-file", "", *map(str, extra)])


def expect_failure(capsys, input_dir, output_dir, *extra) -> str:
    with pytest.raises(SystemExit) as exit_info:
        run_main(input_dir, output_dir, *extra)
    assert exit_info.value.code == 1
    return capsys.readouterr().err


def read_split(path):
    return np.loadtxt(path, delimiter=",", ndmin=2)


# --- the full dataset -------------------------------------------------------------------------

def test_full_dataset_validates_every_row_and_splits_70_15_15(full_split, abalone_data):
    assert "validated 4177 rows from 1 file(s); train 2923, validation 627, test 627 (seed 42)" in full_split["stdout"]
    splits = {name: read_split(full_split["out"] / name / f"{name}.csv") for name in ("train", "validation", "test")}
    assert {name: len(data) for name, data in splits.items()} == {"train": 2923, "validation": 627, "test": 627}

    # Every raw row lands in exactly one split: the label multisets add up to the dataset's.
    raw_rings = Counter(int(line.rsplit(",", 1)[1]) for line in abalone_data.read_text().splitlines())
    split_rings = Counter(int(v) for data in splits.values() for v in data[:, 0])
    assert split_rings == raw_rings
    for data in splits.values():
        assert data.shape[1] == 1 + len(preprocess.FEATURE_COLUMNS)
        one_hot = data[:, 1:4]
        assert set(np.unique(one_hot)) == {0.0, 1.0}
        assert np.all(one_hot.sum(axis=1) == 1)


def test_scaler_is_fitted_on_the_training_split_only(full_split):
    train = read_split(full_split["out"] / "train" / "train.csv")[:, 4:]
    test = read_split(full_split["out"] / "test" / "test.csv")[:, 4:]
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-9)
    assert np.abs(test.mean(axis=0)).max() > 1e-3


def test_csv_files_are_headerless_label_first_with_integer_labels(full_split):
    first = (full_split["out"] / "train" / "train.csv").read_text().splitlines()[0].split(",")
    assert re.fullmatch(r"[0-9]+", first[0])
    assert all(float(v) == float(v) for v in first[1:])


def test_model_archive_holds_the_preprocessor_and_the_handler_with_the_modules_it_imports(full_split):
    with tarfile.open(full_split["out"] / "model" / "model.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["code/abalone_contract.py", "code/inference.py", "model.joblib"]
        handler = tar.extractfile("code/inference.py").read()
        contract = tar.extractfile("code/abalone_contract.py").read()
        model = joblib.load(io.BytesIO(tar.extractfile("model.joblib").read()))
    assert handler == (ML / "inference.py").read_bytes()
    assert contract == (ML / "abalone_contract.py").read_bytes()
    assert list(model.get_feature_names_out()) == ["sex__sex_F", "sex__sex_I", "sex__sex_M"] + [
        f"measures__{m}" for m in preprocess.MEASURES]


def test_same_seed_gives_identical_outputs_and_other_seeds_differ(tmp_path, abalone_data):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "abalone.csv").write_bytes(abalone_data.read_bytes())
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        run_main(raw, tmp_path / name, "--seed", seed)
    outputs = ["train/train.csv", "validation/validation.csv", "test/test.csv", "model/model.tar.gz"]
    for rel in outputs:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    for rel in outputs[:3]:
        assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "c" / rel).read_bytes(), rel


# --- inputs that are fine ---------------------------------------------------------------------

def test_reads_nested_files_in_sorted_order_and_tolerates_a_header(tmp_path, capsys):
    rows = valid_rows(40)
    write_lines(tmp_path / "in" / "prefix" / "b" / "part-2.data", rows[20:])
    write_lines(tmp_path / "in" / "prefix" / "a" / "part-1.csv", [",".join(preprocess.COLUMNS)] + rows[:20])
    write_lines(tmp_path / "in" / "README.txt", ["not data"])
    run_main(tmp_path / "in", tmp_path / "out")
    captured = capsys.readouterr()
    assert "validated 40 rows from 2 file(s); train 28, validation 6, test 6" in captured.out
    assert "skipping README.txt" in captured.err
    assert "read prefix/a/part-1.csv: 20 rows\nread prefix/b/part-2.data: 20 rows" in captured.out


def test_header_match_ignores_case_and_blank_lines_are_skipped(tmp_path, capsys):
    header = ",".join(c.upper() for c in preprocess.COLUMNS)
    write_lines(tmp_path / "in" / "a.csv", ["", header, ""] + valid_rows(20) + ["  "])
    run_main(tmp_path / "in", tmp_path / "out")
    assert "validated 20 rows" in capsys.readouterr().out


def test_crlf_line_endings_and_byte_order_mark_are_accepted(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(valid_rows(20)).encode() + b"\r\n")
    run_main(tmp_path / "in", tmp_path / "out")
    assert "validated 20 rows" in capsys.readouterr().out


# --- hostile inputs ---------------------------------------------------------------------------

GOOD = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15"


def with_field(index, value):
    fields = GOOD.split(",")
    fields[index] = value
    return ",".join(fields)


@pytest.mark.parametrize("bad_row, expected", [
    (GOOD.rsplit(",", 1)[0], ["line 4:", "expected 9 columns", "found 8"]),
    (GOOD + ",1", ["line 4:", "found 10"]),
    (with_field(0, "X"), ["line 4, column sex", "'X' is not one of M/F/I"]),
    (with_field(0, "m"), ["line 4, column sex"]),
    (with_field(1, "-0.1"), ["line 4, column length", "negative"]),
    (with_field(3, "1.3"), ["line 4, column height", "above the maximum 1.25"]),
    (with_field(4, "102.8"), ["line 4, column whole_weight", "above the maximum 5.0"]),
    (with_field(2, "abc"), ["line 4, column diameter", "'abc' is not a number"]),
    (with_field(2, ""), ["line 4, column diameter", "is not a number"]),
    (with_field(5, "nan"), ["line 4, column shucked_weight", "not a finite number"]),
    (with_field(8, "0"), ["line 4, column rings", "not an integer from 1 to 100"]),
    (with_field(8, "2.5"), ["line 4, column rings", "'2.5'"]),
    (with_field(8, "101"), ["line 4, column rings"]),
    (with_field(8, "-3"), ["line 4, column rings"]),
])
def test_a_bad_row_fails_the_job_naming_file_line_column_and_reason(tmp_path, capsys, bad_row, expected):
    rows = valid_rows(30)
    write_lines(tmp_path / "in" / "raw" / "bad.csv", rows[:3] + [bad_row] + rows[3:])
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "raw/bad.csv: " in err
    for fragment in expected:
        assert fragment in err
    assert not (tmp_path / "out" / "train" / "train.csv").exists()


def test_every_problem_of_a_row_is_reported(tmp_path, capsys):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(20) + ["Q,-1,0.3,0.1,0.5,0.2,0.1,0.1,0"])
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "3 problem(s) in the input data" in err
    for column in ("sex", "length", "rings"):
        assert f"line 21, column {column}" in err


def test_problems_are_capped_at_twenty(tmp_path, capsys):
    write_lines(tmp_path / "in" / "a.csv", [with_field(0, "X")] * 50)
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert len(re.findall(r"column sex", err)) == 20
    assert "the first 20 problem(s)" in err


def test_an_unknown_header_is_reported_as_a_header(tmp_path, capsys):
    write_lines(tmp_path / "in" / "a.csv", ["gender,len,diam,h,ww,sw,vw,shw,age"] + valid_rows(20))
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "a.csv: line 1: header 'gender,len,diam,h,ww,sw,vw,shw,age' does not match" in err


def test_non_utf8_bytes_fail_with_the_line(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_bytes(("\n".join(valid_rows(5)) + "\n").encode() + b"M,0.4\xff,0.3\n")
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "a.csv: line 6: not UTF-8 text (byte 0xff)" in err


@pytest.mark.parametrize("content", ["", "\n\n", ",".join(preprocess.COLUMNS) + "\n"],
                         ids=["empty-file", "blank-lines", "header-only"])
def test_a_file_without_data_rows_fails(tmp_path, capsys, content):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text(content)
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "contain no data rows" in err


def test_an_empty_folder_fails(tmp_path, capsys):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "no .csv or .data files found under" in err


def test_a_missing_input_folder_fails(tmp_path, capsys):
    err = expect_failure(capsys, tmp_path / "nowhere", tmp_path / "out")
    assert "does not exist" in err


def test_too_few_rows_for_three_splits_fails(tmp_path, capsys):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(3))
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out")
    assert "too few" in err and "split would be empty" in err


@pytest.mark.parametrize("ratios", [("0.9", "0.1"), ("0", "0.2"), ("0.7", "-0.1")])
def test_bad_ratios_fail(tmp_path, capsys, ratios):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(20))
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out",
                         "--train-ratio", ratios[0], "--validation-ratio", ratios[1])
    assert "--train-ratio and --validation-ratio" in err


def test_a_missing_inference_script_fails(tmp_path, capsys):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(20))
    err = expect_failure(capsys, tmp_path / "in", tmp_path / "out", "--inference-script", tmp_path / "none.py")
    assert "inference script not found" in err


def test_cli_exits_1_with_the_reason_on_stderr_and_in_the_exit_message(tmp_path):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(20) + [with_field(0, "X")])
    (tmp_path / "output").mkdir()
    done = run_script("preprocess.py", "--input-dir", tmp_path / "in", "--output-dir", tmp_path / "out",
                      "--exit-message-file", tmp_path / "output" / "message")
    assert done.returncode == 1
    assert "ERROR: 1 problem(s) in the input data" in done.stderr
    assert "Traceback" not in done.stderr
    assert "a.csv: line 21, column sex" in (tmp_path / "output" / "message").read_text()


# --- scripts ------------------------------------------------------------------------------
# The data contract itself (generated from the TypeScript, and the scripts' only copy): test_contract.py.

@pytest.mark.parametrize("script", ["preprocess.py", "inference.py", "evaluate.py", "local_xgboost_train.py",
                                    "abalone_contract.py"])
def test_scripts_parse_as_python_3_8_the_containers_interpreter(script):
    ast.parse((ML / script).read_text(), feature_version=(3, 8))


def test_requirements_pin_the_container_versions():
    pins = dict(line.split("==") for line in (ML / "requirements.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins["scikit-learn"] == "1.2.1" and pins["xgboost"] == "1.7.4" and pins["pandas"] == "1.5.3"
    import sklearn, xgboost, pandas  # noqa: E401 - the interpreter running these tests must match
    assert (sklearn.__version__, xgboost.__version__, pandas.__version__) == ("1.2.1", "1.7.4", "1.5.3")


# --- the training profile -----------------------------------------------------------------------

def read_profile(out):
    return json.loads((out / "profile" / "training-profile.json").read_text())


def raw_training_split(abalone_data, seed=42):
    frame = preprocess.to_frame([line.split(",") for line in abalone_data.read_text().splitlines() if line.strip()])
    return frame.iloc[preprocess.split_indices(len(frame), seed, 0.7, 0.15)["train"]]


def test_profile_describes_the_raw_training_split(full_split, abalone_data):
    profile = read_profile(full_split["out"])
    train = raw_training_split(abalone_data)
    assert profile["version"] == abalone_contract.TRAINING_PROFILE_VERSION
    assert profile["recordCount"] == len(train) == 2923
    assert list(profile["numeric"]) == list(preprocess.MEASURES)
    for measure, entry in profile["numeric"].items():
        values = train[measure].to_numpy()
        edges = np.array(entry["binEdges"])
        # Raw values (dataset scale), not the scaled features: deciles of the training split.
        np.testing.assert_allclose(edges, np.quantile(values, np.linspace(0, 1, abalone_contract.PROFILE_QUANTILE_BINS + 1)))
        assert np.all(np.diff(edges) > 0)
        assert len(entry["proportions"]) == len(edges) - 1
        assert sum(entry["proportions"]) == pytest.approx(1)
        assert max(abs(p - 0.1) for p in entry["proportions"]) < 0.03, measure
        # Each share is what the monitoring job's binning rule gives the training values.
        counts = Counter(np.searchsorted(edges[1:-1], values, side="right").tolist())
        assert entry["proportions"] == [counts[i] / len(values) for i in range(len(edges) - 1)]
        assert len(entry["sample"]) == abalone_contract.PROFILE_SAMPLE_SIZE
        assert set(entry["sample"]) <= set(values.tolist())
    shares = train["sex"].value_counts(normalize=True)
    assert profile["categorical"] == {"sex": {"frequencies": {code: pytest.approx(shares[code]) for code in ("M", "F", "I")}}}


def test_profile_samples_one_set_of_rows_for_every_measure(full_split, abalone_data):
    profile = read_profile(full_split["out"])
    train = raw_training_split(abalone_data)
    sampled = np.column_stack([profile["numeric"][m]["sample"] for m in preprocess.MEASURES])
    rows = {tuple(r) for r in train[list(preprocess.MEASURES)].to_numpy().tolist()}
    assert all(tuple(r) in rows for r in sampled.tolist())


def test_profile_is_deterministic_per_seed(tmp_path, abalone_data):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "abalone.csv").write_bytes(abalone_data.read_bytes())
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        run_main(raw, tmp_path / name, "--seed", seed)
    rel = "profile/training-profile.json"
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "c" / rel).read_bytes()


def test_profile_of_a_small_split_keeps_every_row_and_no_tied_edges(tmp_path):
    write_lines(tmp_path / "in" / "a.csv", valid_rows(20) * 2)
    run_main(tmp_path / "in", tmp_path / "out")
    profile = read_profile(tmp_path / "out")
    assert profile["recordCount"] == 28
    for entry in profile["numeric"].values():
        assert len(entry["sample"]) == 28
        assert np.all(np.diff(entry["binEdges"]) > 0)
        assert len(entry["proportions"]) == len(entry["binEdges"]) - 1 <= abalone_contract.PROFILE_QUANTILE_BINS
        assert sum(entry["proportions"]) == pytest.approx(1)
