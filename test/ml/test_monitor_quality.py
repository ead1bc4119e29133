"""ml/monitor_drift.py quality: captures joined with ground truth by (inferenceId, row), live MSE/MAE/R2 against the
registered test metrics; unmatched, duplicate and unreadable labels; too few labels; a model off by a constant."""
import base64
import json

import pytest

import monitor_drift
from conftest import run_script, write_lines

FEATURES = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15"


def capture(inference_id, answers, encoding="CSV"):
    """One capture line: len(answers) request rows, the model's answers one per line."""
    request = "\n".join([FEATURES] * len(answers)) + "\n"
    answer = "".join(f"{a!r}\n" for a in answers)
    if encoding == "BASE64":
        answer = base64.b64encode(answer.encode()).decode()
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": request, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": answer,
                               "encoding": encoding},
        },
        "eventMetadata": {"eventId": f"e-{inference_id}", "inferenceId": inference_id,
                          "inferenceTime": "2026-05-01T10:00:00Z"},
        "eventVersion": "0",
    })


def label(inference_id, row, actual, collected="2026-05-01T12:00:00.000Z"):
    return {"predictionId": f"{inference_id}-{row}", "inferenceId": inference_id, "row": row, "actualRings": actual,
            "predictedRings": 0, "modelVersion": "abalone/1", "predictedAt": "2026-05-01T10:00:00.000Z",
            "collectedAt": collected}


def registered(tmp_path, mse=4.0, mae=1.5, r2=0.55):
    path = tmp_path / "registered" / "evaluation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"regression_metrics": {"mse": {"value": mse, "standard_deviation": 2.0},
                                                       "mae": {"value": mae}, "r2": {"value": r2}}}))
    return path.parent


def write_truth(tmp_path, records, name="10/p.json"):
    """Each record its own object file under ground-truth/<name-dir>/; a list of lists is one JSON-lines file."""
    root = tmp_path / "ground-truth"
    for i, record in enumerate(records):
        write_lines(root / "10" / f"{i:04d}.json", [json.dumps(record)])
    return root


def quality(tmp_path, *extra):
    args = monitor_drift.parse_quality_args([
        "--captures-dir", str(tmp_path / "captures"), "--ground-truth-dir", str(tmp_path / "ground-truth"),
        "--registered-metrics", str(tmp_path / "registered"), "--output-dir", str(tmp_path / "out"),
        "--endpoint-name", "ep", "--model-package-arn", "arn:pkg/1", "--window-start", "2026-05-01T00:00:00Z", *extra])
    report = monitor_drift.run_quality(args)
    assert json.loads((tmp_path / "out" / "model-quality-report.json").read_text()) == report
    return report


def test_exact_metrics_on_a_constructed_join(tmp_path):
    # Invocation a: a batch of 3 rows; b: one row; c: one row without a label.
    write_lines(tmp_path / "captures" / "ep" / "AllTraffic" / "2026" / "05" / "01" / "10" / "f.jsonl",
                [capture("a", [10.0, 8.0, 5.0]), capture("b", [12.0], encoding="BASE64"), capture("c", [7.0])])
    write_truth(tmp_path, [label("a", 0, 11), label("a", 1, 8), label("a", 2, 7), label("b", 0, 9)])
    registered(tmp_path, mse=2.0)
    report = quality(tmp_path, "--min-labels", "4")
    # Errors (actual - predicted): 1, 0, 2, -3. MSE = 14/4, MAE = 6/4; actuals 11, 8, 7, 9 (mean 8.75, SS 8.75).
    assert report["status"] == "degraded"
    assert report["predictionCount"] == 5
    assert report["labelledCount"] == 4
    assert report["unmatchedLabels"] == 0
    assert report["skippedRecords"] == 0
    assert report["live"]["mse"] == pytest.approx(3.5)
    assert report["live"]["mae"] == pytest.approx(1.5)
    assert report["live"]["r2"] == pytest.approx(1 - 14 / 8.75)
    assert report["mseRatio"] == pytest.approx(1.75)
    assert report["registered"] == {"mse": 2.0, "mae": 1.5, "r2": 0.55}
    assert report["thresholds"] == {"mseTolerance": 0.25, "minLabels": 4}
    assert report["message"] == "live MSE 3.500 is 1.75 x the registered 2.000, above 1 + 0.25"
    assert (report["endpointName"], report["modelPackageArn"], report["windowStart"]) == \
        ("ep", "arn:pkg/1", "2026-05-01T00:00:00Z")
    # Within the tolerance: ok.
    assert quality(tmp_path, "--min-labels", "4", "--mse-tolerance", "0.8")["status"] == "ok"


def test_unmatched_labels_and_unreadable_records_are_counted(tmp_path):
    write_lines(tmp_path / "captures" / "f.jsonl", [
        capture("a", [10.0, 8.0]),
        "not json",
        json.dumps({"captureData": {"endpointInput": {"data": FEATURES, "encoding": "CSV"}}, "eventMetadata": {}}),
        capture("d", [1.0, 2.0])[:-1].replace('"1.0\\n2.0\\n"', '"1.0\\n"') + "}",  # one answer for two rows
    ])
    write_truth(tmp_path, [label("a", 0, 10), label("a", 5, 3), label("zz", 0, 4), {"inferenceId": "a"},
                           label("a", 1, "eight")])
    registered(tmp_path)
    report = quality(tmp_path, "--min-labels", "2")
    assert report["status"] == "insufficient_labels"
    assert report["labelledCount"] == 1
    assert report["predictionCount"] == 2
    assert report["unmatchedLabels"] == 2
    assert report["skippedReasons"] == {
        "answer does not hold one finite number per request row": 1,
        "ground truth: actualRings is not a number": 1,
        "ground truth: no row, actualRings": 1,
        "no eventMetadata.inferenceId": 1,
        "not a JSON object": 1,
    }
    assert report["skippedRecords"] == 5


def test_json_lines_files_and_the_last_label_wins(tmp_path):
    write_lines(tmp_path / "captures" / "f.jsonl", [capture("a", [10.0, 8.0])])
    # One JSON-lines file: the row-0 label is corrected later; row 1 gets two labels with the same time (last read wins).
    write_lines(tmp_path / "ground-truth" / "labels.jsonl", [json.dumps(r) for r in [
        label("a", 0, 4, "2026-05-01T13:00:00.000Z"),
        label("a", 0, 11, "2026-05-01T14:00:00.000Z"),
        label("a", 1, 5, "2026-05-01T12:00:00.000Z"),
        label("a", 1, 9, "2026-05-01T12:00:00.000Z"),
    ]])
    # An older label in another file, read after it, does not replace the newer one.
    write_lines(tmp_path / "ground-truth" / "later-file.json", [json.dumps(label("a", 0, 1, "2026-05-01T11:00:00.000Z"))])
    registered(tmp_path)
    report = quality(tmp_path, "--min-labels", "2")
    assert report["labelledCount"] == 2
    assert report["unmatchedLabels"] == 0
    # Errors: 11 - 10 = 1, 9 - 8 = 1.
    assert report["live"]["mse"] == pytest.approx(1.0)
    assert report["live"]["mae"] == pytest.approx(1.0)


def test_fewer_labels_than_the_minimum_are_not_judged(tmp_path):
    write_lines(tmp_path / "captures" / "f.jsonl", [capture("a", [10.0] * 5)])
    write_truth(tmp_path, [label("a", i, 30) for i in range(3)])
    registered(tmp_path)
    report = quality(tmp_path, "--min-labels", "4")
    assert report["status"] == "insufficient_labels"
    assert "live" not in report and "mseRatio" not in report
    assert report["labelledCount"] == 3
    assert report["message"] == "3 labelled prediction(s) of 5, fewer than the 4 needed to judge model quality: not judged"
    # The default minimum is the contract's.
    assert quality(tmp_path)["thresholds"]["minLabels"] == 200


def test_a_model_off_by_a_constant_is_degraded(tmp_path, abalone_data):
    """The actual rings of 300 dataset rows; a model 2 rings off either way (MSE 4, the registered 4.5's level),
    then the same model 2 rings higher (errors 0 and 4: MSE 8)."""
    rings = [int(line.rsplit(",", 1)[1]) for line in abalone_data.read_text().splitlines()[:300] if line.strip()]
    registered(tmp_path, mse=4.5)
    write_truth(tmp_path, [label(f"i{i}", 0, r) for i, r in enumerate(rings)])
    for shift, status, mse, mae in ((0.0, "ok", 4.0, 2.0), (2.0, "degraded", 8.0, 2.0)):
        answers = [r + (2 if i % 2 else -2) + shift for i, r in enumerate(rings)]
        write_lines(tmp_path / "captures" / "f.jsonl", [capture(f"i{i}", [a]) for i, a in enumerate(answers)])
        report = quality(tmp_path)
        assert report["status"] == status
        assert report["labelledCount"] == 300
        assert report["live"]["mse"] == pytest.approx(mse)
        assert report["live"]["mae"] == pytest.approx(mae)
        assert report["mseRatio"] == pytest.approx(mse / 4.5)


def test_the_job_fails_with_a_reason_for_a_missing_or_malformed_registered_report(tmp_path):
    write_lines(tmp_path / "captures" / "f.jsonl", [capture("a", [1.0])])
    missing = run_script("monitor_drift.py", "quality", "--captures-dir", tmp_path / "captures",
                         "--ground-truth-dir", tmp_path / "gt", "--registered-metrics", tmp_path / "nothing",
                         "--output-dir", tmp_path / "out", "--exit-message-file", tmp_path / "message")
    assert missing.returncode == 1
    assert "registered evaluation report" in missing.stderr and "does not exist" in missing.stderr
    assert (tmp_path / "message").read_text().startswith("registered evaluation report")
    bad = tmp_path / "bad" / "evaluation.json"
    write_lines(bad, [json.dumps({"regression_metrics": {"mse": {"value": 4.0}}})])
    malformed = run_script("monitor_drift.py", "quality", "--registered-metrics", bad.parent,
                           "--captures-dir", tmp_path / "captures", "--output-dir", tmp_path / "out",
                           "--exit-message-file", tmp_path / "message")
    assert malformed.returncode == 1
    assert "regression_metrics.mae.value is missing or not a number" in malformed.stderr
    tolerance = run_script("monitor_drift.py", "quality", "--mse-tolerance", "0", "--exit-message-file", "")
    assert tolerance.returncode == 1 and "--mse-tolerance must be above 0" in tolerance.stderr


def test_the_script_runs_as_a_job_and_prints_its_verdict(tmp_path):
    write_lines(tmp_path / "captures" / "f.jsonl", [capture("a", [10.0, 8.0])])
    write_truth(tmp_path, [label("a", 0, 10), label("a", 1, 8)])
    registered(tmp_path)
    done = run_script("monitor_drift.py", "quality", "--captures-dir", tmp_path / "captures",
                      "--ground-truth-dir", tmp_path / "ground-truth", "--registered-metrics", tmp_path / "registered",
                      "--output-dir", tmp_path / "out", "--min-labels", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: 2 labelled of 2 predictions, 0 unmatched labels, 0 skipped; MSE 0.000 (x0.00)")
