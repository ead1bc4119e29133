import json
import pickle
import shutil
import tarfile

import numpy as np
import pytest
import xgboost as xgb

import evaluate
from conftest import run_script


def synthetic(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return np.column_stack([5 + 2 * x[:, 0] + 0.5 * rng.normal(size=n), x])


@pytest.fixture(scope="module")
def booster():
    train = synthetic(300, 1)
    return xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(train[:, 1:], label=train[:, 0]), 10)


def model_archive(directory, booster, name="xgboost-model"):
    """model.tar.gz as a SageMaker XGBoost 1.7-1 training job uploads it."""
    directory.mkdir(parents=True, exist_ok=True)
    model = directory / "xgboost-model"
    booster.save_model(str(model))
    with tarfile.open(directory / "model.tar.gz", "w:gz") as tar:
        tar.add(model, arcname=name)
    model.unlink()


def evaluate_ok(model_dir, test_dir, out_dir):
    evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(test_dir), "--output-dir", str(out_dir),
                   "--exit-message-file", ""])
    return json.loads((out_dir / "evaluation.json").read_text())


def evaluate_fails(capsys, model_dir, test_dir, out_dir) -> str:
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(["--model-dir", str(model_dir), "--test-dir", str(test_dir), "--output-dir", str(out_dir),
                       "--exit-message-file", ""])
    assert exit_info.value.code == 1
    assert not (out_dir / "evaluation.json").exists()
    return capsys.readouterr().err


def assert_report_shape(report):
    assert set(report) == {"regression_metrics"}
    metrics = report["regression_metrics"]
    assert set(metrics) == {"mse", "mae", "r2"}
    assert set(metrics["mse"]) == {"value", "standard_deviation"}
    assert set(metrics["mae"]) == {"value"} and set(metrics["r2"]) == {"value"}
    for metric in metrics.values():
        assert all(isinstance(v, float) for v in metric.values())


def test_metrics_match_a_direct_computation(tmp_path, booster):
    test = synthetic(150, 2)
    (tmp_path / "test").mkdir()
    np.savetxt(tmp_path / "test" / "test.csv", test, delimiter=",")
    model_archive(tmp_path / "model", booster)
    report = evaluate_ok(tmp_path / "model", tmp_path / "test", tmp_path / "evaluation")
    assert_report_shape(report)

    y, predictions = test[:, 0], booster.predict(xgb.DMatrix(test[:, 1:])).astype(np.float64)
    errors = y - predictions
    metrics = report["regression_metrics"]
    assert metrics["mse"]["value"] == pytest.approx(np.mean(errors ** 2), rel=1e-9)
    assert metrics["mse"]["standard_deviation"] == pytest.approx(np.std(errors), rel=1e-9)
    assert metrics["mae"]["value"] == pytest.approx(np.mean(np.abs(errors)), rel=1e-9)
    assert metrics["r2"]["value"] == pytest.approx(1 - np.sum(errors ** 2) / np.sum((y - y.mean()) ** 2), rel=1e-9)
    assert 0.5 < metrics["r2"]["value"] < 1


def test_a_bare_model_file_is_accepted(tmp_path, booster):
    (tmp_path / "model").mkdir()
    booster.save_model(str(tmp_path / "model" / "xgboost-model"))
    (tmp_path / "test").mkdir()
    np.savetxt(tmp_path / "test" / "test.csv", synthetic(20, 2), delimiter=",")
    assert_report_shape(evaluate_ok(tmp_path / "model", tmp_path / "test", tmp_path / "evaluation"))


def test_missing_model_fails(tmp_path, capsys):
    (tmp_path / "model").mkdir()
    err = evaluate_fails(capsys, tmp_path / "model", tmp_path / "test", tmp_path / "out")
    assert "no model.tar.gz or xgboost-model in" in err


def test_archive_without_xgboost_model_fails_listing_its_members(tmp_path, capsys, booster):
    model_archive(tmp_path / "model", booster, name="model.bin")
    err = evaluate_fails(capsys, tmp_path / "model", tmp_path / "test", tmp_path / "out")
    assert "has no xgboost-model (members: model.bin)" in err


def test_a_pickled_model_is_not_what_the_container_writes(tmp_path, capsys, booster):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "xgboost-model").write_bytes(pickle.dumps(booster))
    (tmp_path / "test").mkdir()
    np.savetxt(tmp_path / "test" / "test.csv", synthetic(20, 2), delimiter=",")
    err = evaluate_fails(capsys, tmp_path / "model", tmp_path / "test", tmp_path / "out")
    assert "evaluation failed: XGBoostError" in err


@pytest.mark.parametrize("content, expected", [
    ("label,a,b,c\n1,2,3,4\n", "not a numeric, headerless CSV"),
    ("1,2,3\n4,5,6\n", "the model expects 3 features, the test data has 2"),
    ("", "are empty or differ in column count"),
    ("7,0.1,0.2,0.3\n", "R² needs at least two test rows"),
])
def test_bad_test_data_fails(tmp_path, capsys, booster, content, expected):
    model_archive(tmp_path / "model", booster)
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test.csv").write_text(content)
    assert expected in evaluate_fails(capsys, tmp_path / "model", tmp_path / "test", tmp_path / "out")


def test_no_test_files_fails(tmp_path, capsys, booster):
    model_archive(tmp_path / "model", booster)
    (tmp_path / "test").mkdir()
    assert "no .csv files under" in evaluate_fails(capsys, tmp_path / "model", tmp_path / "test", tmp_path / "out")


def test_end_to_end_preprocess_train_evaluate_on_the_full_dataset(tmp_path, full_split):
    """The three real scripts as separate processes, wired like the pipeline's steps."""
    ml_root = tmp_path / "training"
    (ml_root / "input" / "config").mkdir(parents=True)
    (ml_root / "input" / "config" / "hyperparameters.json").write_text(json.dumps({
        "max_depth": "5", "eta": "0.2", "gamma": "4", "min_child_weight": "6", "subsample": "0.7",
        "num_round": "50", "objective": "reg:squarederror", "eval_metric": "rmse", "early_stopping_rounds": "10"}))
    (ml_root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(
        {c: {"ContentType": "text/csv"} for c in ("train", "validation")}))
    for channel in ("train", "validation"):
        shutil.copytree(full_split["out"] / channel, ml_root / "input" / "data" / channel)
    trained = run_script("local_xgboost_train.py", "--ml-root", ml_root,
                         "--model-archive", tmp_path / "evaluation-input" / "model.tar.gz")
    assert trained.returncode == 0, trained.stderr

    evaluated = run_script("evaluate.py", "--model-dir", tmp_path / "evaluation-input",
                           "--test-dir", full_split["out"] / "test", "--output-dir", tmp_path / "evaluation")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert_report_shape(report)
    metrics = report["regression_metrics"]
    assert 3.0 < metrics["mse"]["value"] < 6.0
    assert 1.0 < metrics["mae"]["value"] < 2.0
    assert 0.4 < metrics["r2"]["value"] < 0.7
    assert metrics["mse"]["standard_deviation"] == pytest.approx(metrics["mse"]["value"] ** 0.5, rel=0.05)
