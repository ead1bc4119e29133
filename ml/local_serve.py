"""Local stand-in for a SageMaker PipelineModel endpoint: the registered containers, in order, in one process.

Each container follows its serving contract:
- scikit-learn 1.2-1: the archive is extracted to a model dir; SAGEMAKER_SUBMIT_DIRECTORY (mapped from /opt/ml/model
  into that dir) goes on the path and the handler named by SAGEMAKER_PROGRAM is imported by its module name, so the
  modules packed beside it import too; its model_fn / input_fn / predict_fn / output_fn serve the request. The
  worker's path holds nothing else of the package's ml/ folder: the handler imports what its archive carries;
- XGBoost 1.7-1 (built-in algorithm): `xgboost-model` is loaded with Booster.load_model and text/csv rows
  (no label) are answered with one prediction per line.

Protocol: one JSON object per line on stdin, {"id": ..., "body": "<csv>"}; one per line on stdout,
{"id": ..., "body": "<csv>"} or {"id": ..., "error": "...", "clientError": bool}. The first line written is
{"ready": true} once every container has loaded, or {"error": "..."} (then the process exits 1).

Usage: local_serve.py --containers '<json list of {"image", "environment", "modelDataPath"}>'
"""
from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
import tarfile
import tempfile
from typing import Callable, List

CONTENT_TYPE = "text/csv"
CONTAINER_MODEL_DIR = "/opt/ml/model"


def extract(archive: str, target: str) -> None:
    if not os.path.isfile(archive):
        raise RuntimeError(f"model archive {archive} does not exist")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                resolved = os.path.realpath(os.path.join(target, member.name))
                if not resolved.startswith(os.path.realpath(target) + os.sep) and resolved != os.path.realpath(target):
                    raise RuntimeError(f"{archive}: member {member.name} escapes the model directory")
            tar.extractall(target)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise RuntimeError(f"model archive {archive} is not a readable tar.gz: {e}") from e


def sklearn_container(model_dir: str, environment: dict) -> Callable[[str], str]:
    program = environment.get("SAGEMAKER_PROGRAM")
    submit_dir = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", CONTAINER_MODEL_DIR)
    if not program:
        raise RuntimeError("the scikit-learn container needs SAGEMAKER_PROGRAM")
    if submit_dir == CONTAINER_MODEL_DIR or submit_dir.startswith(CONTAINER_MODEL_DIR + "/"):
        code_dir = os.path.join(model_dir, os.path.relpath(submit_dir, CONTAINER_MODEL_DIR))
    else:
        raise RuntimeError(f"SAGEMAKER_SUBMIT_DIRECTORY {submit_dir} is not inside {CONTAINER_MODEL_DIR}")
    script = os.path.join(code_dir, program)
    if not os.path.isfile(script):
        raise RuntimeError(f"the model archive has no {os.path.relpath(script, model_dir)} (SAGEMAKER_PROGRAM)")
    # As the container: it copies the submit directory, puts it on the path and imports SAGEMAKER_PROGRAM without
    # its .py by name (sagemaker-containers _modules.import_module, _server.start).
    sys.path.insert(0, code_dir)
    try:
        module = importlib.import_module(program[:-3] if program.endswith(".py") else program)
    except ImportError as e:
        raise RuntimeError(f"the handler {os.path.relpath(script, model_dir)} cannot be imported: {e}") from e
    model = module.model_fn(model_dir)

    def serve(body: str) -> str:
        data = module.input_fn(body, CONTENT_TYPE)
        prediction = module.predict_fn(data, model)
        output = module.output_fn(prediction, CONTENT_TYPE)
        return output[0] if isinstance(output, tuple) else output

    return serve


def xgboost_container(model_dir: str, environment: dict) -> Callable[[str], str]:
    import numpy as np
    import xgboost as xgb

    model_file = os.path.join(model_dir, "xgboost-model")
    if not os.path.isfile(model_file):
        raise RuntimeError("the XGBoost model archive has no xgboost-model file")
    booster = xgb.Booster()
    try:
        booster.load_model(model_file)
    except xgb.core.XGBoostError as e:
        raise RuntimeError(f"xgboost-model cannot be loaded: {str(e).splitlines()[0]}") from e
    # One thread: requests are a few rows, and idle OpenMP workers spin for CPU the next request needs
    # (40 ms or more a request instead of about 4 on two busy cores).
    booster.set_param({"nthread": 1})

    def serve(body: str) -> str:
        rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2, dtype=np.float32)
        # The container builds a DMatrix; inplace_predict gives the same numbers from the array without one,
        # saving the DMatrix's cost (about 60 µs of a one-row call).
        predictions = booster.inplace_predict(rows)
        return "\n".join(repr(float(p)) for p in predictions)

    return serve


def load(containers: List[dict], workdir: str) -> List[Callable[[str], str]]:
    chain = []
    for index, container in enumerate(containers):
        model_dir = os.path.join(workdir, str(index))
        os.makedirs(model_dir)
        extract(container["modelDataPath"], model_dir)
        image = container["image"]
        if "sagemaker-scikit-learn" in image:
            chain.append(sklearn_container(model_dir, container.get("environment", {})))
        elif "sagemaker-xgboost" in image:
            chain.append(xgboost_container(model_dir, container.get("environment", {})))
        else:
            raise RuntimeError(f"no local stand-in for the container image {image}")
    return chain


def answer(chain: List[Callable[[str], str]], body: str) -> str:
    for serve in chain:
        body = serve(body)
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", required=True)
    args = parser.parse_args()
    # Python put this script's folder (the package's ml/) first on the path; a container has only its archive.
    here = os.path.dirname(os.path.realpath(__file__))
    sys.path[:] = [p for p in sys.path if not p or os.path.realpath(p) != here]
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="abalone-serve-") as workdir:
        try:
            chain = load(json.loads(args.containers), workdir)
        except Exception as e:  # noqa: BLE001 - any load failure is reported to the server, which exits
            out.write(json.dumps({"error": str(e)}) + "\n")
            out.flush()
            return 1
        out.write(json.dumps({"ready": True}) + "\n")
        out.flush()
        for line in sys.stdin:
            request = json.loads(line)
            try:
                body = answer(chain, request["body"])
                out.write(json.dumps({"id": request["id"], "body": body}) + "\n")
            except ValueError as e:
                out.write(json.dumps({"id": request["id"], "error": str(e), "clientError": True}) + "\n")
            except Exception as e:  # noqa: BLE001 - a failing model answers an error, the worker keeps serving
                out.write(json.dumps({"id": request["id"], "error": f"{type(e).__name__}: {e}", "clientError": False}) + "\n")
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
