"""The registered preprocessor handler's own cost per call, before (DataFrame + ColumnTransformer.transform) and
after (numpy with the fitted parameters), in one run: model_fn once, then input_fn -> predict_fn -> output_fn per call
(timeit, median of 5 repeats); and the local worker's XGBoost stand-in, DMatrix + predict vs inplace_predict.

Usage: python3 bench/ml/inference_bench.py MODEL_DIR XGBOOST_MODEL_DIR
(MODEL_DIR: an extracted preprocessor archive, model.joblib and code/; XGBOOST_MODEL_DIR: the extracted xgboost-model.)
"""
import importlib.util
import io
import os
import sys
import timeit

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = ["M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15", "F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21",
        "I,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055"]


def load(name, path, code_dir):
    sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_call_us(fn, calls):
    return min(sorted(timeit.repeat(fn, number=calls, repeat=5))[2:3]) / calls * 1e6


def main():
    model_dir, xgb_dir = sys.argv[1:3]
    code_dir = os.path.join(model_dir, "code")
    before = load("dataframe_inference", os.path.join(HERE, "dataframe_inference.py"), code_dir)
    after = load("numpy_inference", os.path.join(code_dir, "inference.py"), code_dir)
    models = {m: m.model_fn(model_dir) for m in (before, after)}
    print("the registered inference.py, input_fn -> predict_fn -> output_fn per call (median of 5 timeit repeats):")
    for n, calls in ((1, 5000), (16, 2000), (100, 500)):
        body = "".join(ROWS[i % 3] + "\n" for i in range(n))
        assert before.output_fn(before.predict_fn(before.input_fn(body, "text/csv"), models[before]))[0] \
            == after.output_fn(after.predict_fn(after.input_fn(body, "text/csv"), models[after]))[0]
        # The old path is about 100 times slower: fewer calls keep its figure as steady and the run short.
        times = [per_call_us(lambda m=m: m.output_fn(m.predict_fn(m.input_fn(body, "text/csv"), models[m])), c)
                 for m, c in ((before, max(50, calls // 20)), (after, calls))]
        target = f"  target <= 200 us: {'ok' if times[1] <= 200 else 'MISSES the target'}" if n == 1 else ""
        print(f"  {n:3d} row(s): before {times[0]:8.1f} us   after {times[1]:7.1f} us   ({times[0] / times[1]:.0f}x){target}")

    booster = xgb.Booster()
    booster.load_model(os.path.join(xgb_dir, "xgboost-model"))
    booster.set_param({"nthread": 1})
    print("the local worker's XGBoost stand-in per call (text/csv rows in, predictions out):")
    for n, calls in ((1, 3000), (100, 500)):
        features = after.output_fn(after.predict_fn(after.input_fn("".join(ROWS[i % 3] + "\n" for i in range(n)),
                                                                     "text/csv"), models[after]))[0]
        rows = np.loadtxt(io.StringIO(features), delimiter=",", ndmin=2, dtype=np.float32)
        assert np.array_equal(booster.predict(xgb.DMatrix(rows, nthread=1)), booster.inplace_predict(rows))
        dmatrix = per_call_us(lambda: booster.predict(xgb.DMatrix(
            np.loadtxt(io.StringIO(features), delimiter=",", ndmin=2, dtype=np.float32), nthread=1)), calls)
        inplace = per_call_us(lambda: booster.inplace_predict(
            np.loadtxt(io.StringIO(features), delimiter=",", ndmin=2, dtype=np.float32)), calls)
        print(f"  {n:3d} row(s): DMatrix + predict {dmatrix:7.1f} us   inplace_predict {inplace:7.1f} us")


if __name__ == "__main__":
    main()
