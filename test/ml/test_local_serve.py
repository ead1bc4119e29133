"""ml/local_serve.py's XGBoost stand-in answers what the container's DMatrix + Booster.predict would."""
import numpy as np
import pytest
import xgboost as xgb

import local_serve


@pytest.fixture(scope="module")
def booster_dir(full_split, tmp_path_factory):
    """A booster trained on the full dataset's training split, saved as the built-in algorithm saves it."""
    train = np.loadtxt(full_split["out"] / "train" / "train.csv", delimiter=",")
    booster = xgb.train({"max_depth": 5, "eta": 0.2, "objective": "reg:squarederror", "nthread": 1},
                        xgb.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=30)
    target = tmp_path_factory.mktemp("xgboost")
    booster.save_model(str(target / "xgboost-model"))
    return target


def test_the_stand_in_answers_what_dmatrix_and_predict_answer_on_the_whole_test_split(full_split, booster_dir):
    body = "".join(line.split(",", 1)[1] + "\n"
                   for line in (full_split["out"] / "test" / "test.csv").read_text().splitlines())
    served = np.array([float(v) for v in local_serve.xgboost_container(str(booster_dir), {})(body).splitlines()])
    booster = xgb.Booster()
    booster.load_model(str(booster_dir / "xgboost-model"))
    rows = np.loadtxt(body.splitlines(), delimiter=",", ndmin=2, dtype=np.float32)
    expected = booster.predict(xgb.DMatrix(rows))
    assert served.shape == expected.shape and len(served) > 600
    assert np.array_equal(served.astype(np.float32), expected)


def test_one_row_is_answered_as_one_line(booster_dir):
    answer = local_serve.xgboost_container(str(booster_dir), {})("0.0,0.0,1.0,0.1,0.2,0.3,0.1,0.2,0.3,0.4\n")
    assert len(answer.splitlines()) == 1 and float(answer) > 0
