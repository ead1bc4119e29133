import json
import pickle
import re
import tarfile

import numpy as np
import pytest
import xgboost as xgb

import local_xgboost_train as trainer
from conftest import run_script

HYPERPARAMETERS = {"max_depth": "3", "eta": "0.3", "num_round": "20", "objective": "reg:squarederror",
                   "eval_metric": "rmse", "seed": "1"}


def synthetic(n, seed, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    y = 3 * x[:, 0] - 2 * x[:, 1] + noise * rng.normal(size=n)
    return np.column_stack([y, x])


def write_csv(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, data, delimiter=",", fmt="%.10g")


def make_root(tmp_path, hyperparameters=None, train=None, validation=None, data_config=None):
    """An /opt/ml layout: config files plus the train (and optional validation) channel."""
    root = tmp_path / "ml"
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps(HYPERPARAMETERS if hyperparameters is None else hyperparameters))
    if data_config is not None:
        (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(data_config))
    if train is not None:
        write_csv(root / "input" / "data" / "train" / "train.csv", train)
    if validation is not None:
        write_csv(root / "input" / "data" / "validation" / "validation.csv", validation)
    return root


def train_ok(root, *extra):
    trainer.main(["--ml-root", str(root), *map(str, extra)])
    booster = xgb.Booster()
    booster.load_model(str(root / "model" / "xgboost-model"))
    return booster


def train_fails(root, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        trainer.main(["--ml-root", str(root)])
    assert exit_info.value.code == 1
    failure = (root / "output" / "failure").read_text()
    assert failure in capsys.readouterr().err
    assert not (root / "model" / "xgboost-model").exists()
    return failure


def test_trains_and_saves_the_binary_format_the_container_writes(tmp_path):
    root = make_root(tmp_path, train=synthetic(300, 1), validation=synthetic(100, 2))
    booster = train_ok(root)
    raw = (root / "model" / "xgboost-model").read_bytes()
    assert raw[:4] == b"binf"  # XGBoost's legacy binary model, not JSON/UBJ
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(raw)
    assert booster.num_boosted_rounds() == 20
    test = synthetic(200, 3)
    predictions = booster.predict(xgb.DMatrix(test[:, 1:]))
    assert np.mean((predictions - test[:, 0]) ** 2) < 0.5 * np.var(test[:, 0])


def test_training_is_deterministic(tmp_path):
    params = dict(HYPERPARAMETERS, subsample="0.7")
    first = make_root(tmp_path / "a", params, train=synthetic(300, 1))
    second = make_root(tmp_path / "b", params, train=synthetic(300, 1))
    train_ok(first), train_ok(second)
    assert (first / "model" / "xgboost-model").read_bytes() == (second / "model" / "xgboost-model").read_bytes()


def test_thread_count_does_not_change_the_model(tmp_path):
    params = dict(HYPERPARAMETERS, subsample="0.7")
    single = make_root(tmp_path / "a", params, train=synthetic(300, 1), validation=synthetic(100, 2))
    several = make_root(tmp_path / "b", dict(params, nthread="2"), train=synthetic(300, 1),
                        validation=synthetic(100, 2))
    train_ok(single), train_ok(several)
    assert (single / "model" / "xgboost-model").read_bytes() == (several / "model" / "xgboost-model").read_bytes()


def test_early_stopping_on_validation_keeps_the_best_iteration(tmp_path):
    # Pure-noise labels: validation error stops improving after a few rounds.
    train, validation = synthetic(300, 1), synthetic(100, 2)
    train[:, 0] = np.random.default_rng(5).normal(size=300)
    validation[:, 0] = np.random.default_rng(6).normal(size=100)
    params = dict(HYPERPARAMETERS, num_round="200", early_stopping_rounds="5", max_depth="6", eta="0.5")
    booster = train_ok(make_root(tmp_path, params, train=train, validation=validation))

    history = {}
    reference = {k: v for k, v in params.items() if k not in ("num_round", "early_stopping_rounds")}
    xgb.train(reference, xgb.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=200,
              evals=[(xgb.DMatrix(validation[:, 1:], label=validation[:, 0]), "validation")],
              evals_result=history, verbose_eval=False)
    rmse = history["validation"]["rmse"]
    kept = booster.num_boosted_rounds()
    assert kept < 200
    best = int(np.argmin(rmse[:kept + 5]))
    assert kept == best + 1


def test_early_stopping_without_validation_channel_is_skipped_as_in_the_container(tmp_path, capsys):
    params = dict(HYPERPARAMETERS, early_stopping_rounds="3")
    booster = train_ok(make_root(tmp_path, params, train=synthetic(200, 1)))
    assert booster.num_boosted_rounds() == 20
    assert "early_stopping_rounds ignored" in capsys.readouterr().err


def test_logs_each_round_in_the_containers_format_that_the_tuning_regex_reads(tmp_path, capsys):
    params = dict(HYPERPARAMETERS, num_round="5")
    train_ok(make_root(tmp_path, params, train=synthetic(200, 1), validation=synthetic(100, 2)))
    rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert [line.split("\t")[0] for line in rounds] == ["[0]", "[1]", "[2]", "[3]", "[4]"]
    assert all(re.fullmatch(r"\[\d+\]\ttrain-rmse:[0-9.]+\tvalidation-rmse:[0-9.]+", line) for line in rounds)
    # As the job's log records it (a tab as #011), SageMaker's regex for validation:rmse finds every round.
    metric = re.compile(r".*\[[0-9]+\].*#011validation-rmse:(\S+)")
    assert all(metric.match(line.replace("\t", "#011")) for line in rounds)


def test_every_round_early_stopping_evaluates_is_logged_so_the_objective_is_reproducible(tmp_path, capsys):
    # The round early stopping ends on is logged too, run after run: the tuning objective is the log's last value.
    train, validation = synthetic(300, 1), synthetic(100, 2)
    train[:, 0] = np.random.default_rng(5).normal(size=300)
    validation[:, 0] = np.random.default_rng(6).normal(size=100)
    params = dict(HYPERPARAMETERS, num_round="200", early_stopping_rounds="5", max_depth="6", eta="0.5")
    logs = []
    for attempt in range(6):
        booster = train_ok(make_root(tmp_path / str(attempt), params, train=train, validation=validation))
        rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
        assert len(rounds) == booster.num_boosted_rounds() + 5
        logs.append(rounds)
    assert all(log == logs[0] for log in logs)


def test_tuning_objective_metric_joins_eval_metric_and_drives_early_stopping(tmp_path, capsys):
    train, validation = synthetic(300, 1), synthetic(100, 2)
    train[:, 0] = np.random.default_rng(5).normal(size=300)
    validation[:, 0] = np.random.default_rng(6).normal(size=100)
    params = dict(HYPERPARAMETERS, num_round="200", early_stopping_rounds="5", max_depth="6", eta="0.5",
                  eval_metric="rmse", _tuning_objective_metric="validation:mae")
    booster = train_ok(make_root(tmp_path, params, train=train, validation=validation))
    rounds = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert rounds[0].split("\t")[1:] and "validation-mae:" in rounds[0] and "validation-rmse:" in rounds[0]
    mae = [float(line.rsplit("validation-mae:", 1)[1]) for line in rounds]
    assert booster.num_boosted_rounds() == int(np.argmin(mae)) + 1 < 200


def test_tuning_objective_metric_must_be_a_validation_metric(tmp_path, capsys):
    root = make_root(tmp_path, dict(HYPERPARAMETERS, _tuning_objective_metric="train:rmse"), train=synthetic(100, 1))
    assert "Hyperparameter _tuning_objective_metric: train:rmse is not in validation:<" in train_fails(root, capsys)


def test_aliases_and_nested_channel_files_are_accepted(tmp_path):
    params = {"num_round": "5", "learning_rate": "0.3", "min_split_loss": "0", "reg_lambda": "1"}
    root = make_root(tmp_path, params)
    data = synthetic(300, 1)
    write_csv(root / "input" / "data" / "train" / "part" / "b.csv", data[150:])
    write_csv(root / "input" / "data" / "train" / "a.csv", data[:150])
    (root / "input" / "data" / "train" / ".hidden").write_text("ignored")
    assert train_ok(root).num_boosted_rounds() == 5


def test_model_archive_has_only_the_model_at_its_root(tmp_path):
    root = make_root(tmp_path, train=synthetic(200, 1))
    train_ok(root, "--model-archive", tmp_path / "out" / "model.tar.gz")
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        assert tar.getnames() == ["xgboost-model"]
        assert tar.extractfile("xgboost-model").read() == (root / "model" / "xgboost-model").read_bytes()


def test_csv_channels_declared_in_inputdataconfig_are_accepted(tmp_path):
    config = {"train": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv; label_size=1"}}
    root = make_root(tmp_path, train=synthetic(200, 1), validation=synthetic(50, 2), data_config=config)
    assert train_ok(root).num_boosted_rounds() == 20


@pytest.mark.parametrize("change, expected", [
    ({"foo": "1"}, "Extraneous hyperparameter found: foo"),
    ({"max_depth": "five"}, "Hyperparameter max_depth: could not parse value 'five' as int"),
    ({"num_round": "2.5"}, "Hyperparameter num_round: could not parse value '2.5'"),
    ({"eta": "1.5"}, "Hyperparameter eta: 1.5 is not in [0, 1]"),
    ({"subsample": "0"}, "Hyperparameter subsample: 0 is not in (0, 1]"),
    ({"num_round": "0"}, "Hyperparameter num_round: 0 is not in [1, +inf)"),
    ({"objective": "reg:nonsense"}, "Hyperparameter objective: reg:nonsense is not in"),
    ({"eval_metric": "rmse,bogus"}, "Hyperparameter eval_metric: rmse,bogus is not in"),
    ({"gamma": "nan"}, "Hyperparameter gamma: could not parse value 'nan'"),
    ({"max_depth": 5}, "Hyperparameter max_depth: value 5 must be a string"),
    ({"objective": "multi:softmax"}, "Require input for parameter 'num_class'"),
    ({"eta": "0.1", "learning_rate": "0.2"}, "given twice"),
])
def test_bad_hyperparameters_fail_with_the_containers_message(tmp_path, capsys, change, expected):
    root = make_root(tmp_path, dict(HYPERPARAMETERS, **change), train=synthetic(100, 1))
    assert expected in train_fails(root, capsys)


def test_missing_num_round_fails(tmp_path, capsys):
    params = {k: v for k, v in HYPERPARAMETERS.items() if k != "num_round"}
    assert "Missing required hyperparameter: num_round" in train_fails(make_root(tmp_path, params, synthetic(50, 1)),
                                                                       capsys)


def test_missing_or_broken_hyperparameters_file_fails(tmp_path, capsys):
    root = make_root(tmp_path, train=synthetic(50, 1))
    path = root / "input" / "config" / "hyperparameters.json"
    path.write_text("{not json")
    assert "hyperparameters.json is not valid JSON" in train_fails(root, capsys)
    path.unlink()
    assert f"missing {path}" in train_fails(root, capsys)


def test_missing_train_channel_fails(tmp_path, capsys):
    assert "Missing required channel: train" in train_fails(make_root(tmp_path), capsys)


def test_empty_train_channel_fails(tmp_path, capsys):
    root = make_root(tmp_path)
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "empty.csv").write_text("")
    assert "No data in train channel path" in train_fails(root, capsys)


def test_empty_validation_channel_fails(tmp_path, capsys):
    root = make_root(tmp_path, train=synthetic(50, 1))
    (root / "input" / "data" / "validation").mkdir(parents=True)
    assert "No data in validation channel path" in train_fails(root, capsys)


@pytest.mark.parametrize("lines, expected", [
    (["rings,a,b", "1,2,3"], "train channel, t.csv: line 1: 'rings' is not a number"),
    (["1,2,3", "4,x,6"], "train channel, t.csv: line 2: 'x' is not a number"),
    (["1,2,3", "4,5"], "line 2: found 2 columns, expected 3"),
    (["1,2,3", "4,inf,6"], "line 2: values must be finite numbers"),
    (["1", "2"], "expected a label and at least one feature"),
])
def test_bad_csv_fails_naming_channel_file_and_line(tmp_path, capsys, lines, expected):
    root = make_root(tmp_path)
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "t.csv").write_text("\n".join(lines) + "\n")
    assert expected in train_fails(root, capsys)


def test_non_utf8_csv_fails(tmp_path, capsys):
    root = make_root(tmp_path)
    (root / "input" / "data" / "train").mkdir(parents=True)
    (root / "input" / "data" / "train" / "t.csv").write_bytes(b"1,2\xff,3\n")
    assert "train channel, t.csv: not UTF-8 text" in train_fails(root, capsys)


def test_validation_with_other_feature_count_fails(tmp_path, capsys):
    root = make_root(tmp_path, train=synthetic(50, 1), validation=synthetic(50, 2)[:, :3])
    assert "validation data has 2 features, train data has 4" in train_fails(root, capsys)


@pytest.mark.parametrize("config, expected", [
    ({"train": {}}, "Channel train has no ContentType: the container would read it as text/libsvm"),
    ({"train": {"ContentType": "text/libsvm"}}, "content type 'text/libsvm' is not supported"),
    ({"train": {"ContentType": "text/csv"}, "test": {"ContentType": "text/csv"}}, "Extraneous channel found: test"),
    ({"validation": {"ContentType": "text/csv"}}, "Missing required channel: train"),
])
def test_channel_config_is_checked_like_the_container(tmp_path, capsys, config, expected):
    root = make_root(tmp_path, train=synthetic(50, 1), validation=synthetic(50, 2), data_config=config)
    assert expected in train_fails(root, capsys)


def test_cli_writes_output_failure_and_exits_1(tmp_path):
    root = make_root(tmp_path, dict(HYPERPARAMETERS, bogus="1"), train=synthetic(50, 1))
    done = run_script("local_xgboost_train.py", "--ml-root", root)
    assert done.returncode == 1
    assert (root / "output" / "failure").read_text() == "Extraneous hyperparameter found: bogus"
    assert "ERROR: Extraneous hyperparameter found: bogus" in done.stderr
