"""ml/local_store.py: local serve's SQLite store, its migrations, its serve protocol and its exports."""
import json
import sqlite3
import subprocess
import sys

import pytest

import local_store
from conftest import ML

EXAMPLE = {"sex": "M", "lengthMm": 91, "diameterMm": 73, "heightMm": 19, "wholeWeightG": 102.8,
           "shuckedWeightG": 44.9, "visceraWeightG": 20.2, "shellWeightG": 30}
EXAMPLE_ROW = ["M", 0.455, 0.365, 0.095, 0.514, 0.2245, 0.101, 0.15]
ID_A = "11111111-1111-4111-8111-111111111111"
ID_B = "22222222-2222-4222-8222-222222222222"
ID_C = "33333333-3333-4333-8333-333333333333"


def invocation(inference_id, received_at, rows, version="AbaloneModelPackageGroup/1"):
    return {"inferenceId": inference_id, "receivedAt": received_at, "modelVersion": version,
            "inputCsv": "".join(",".join(map(str, r)) + "\n" for r in rows),
            "outputCsv": "".join(f"{9.4 + i}\n" for i in range(len(rows)))}


def prediction(prediction_id, inference_id, row, created_at, rings=9.41, version="AbaloneModelPackageGroup/1"):
    return {"predictionId": prediction_id, "inferenceId": inference_id, "row": row, "instance": EXAMPLE,
            "datasetRow": EXAMPLE_ROW, "rings": rings, "ageYears": round(rings + 1.5, 2), "modelVersion": version,
            "createdAt": created_at}


def fill(conn):
    """A single request at 16:55 and a batch of two at 17:02 (model version 2)."""
    local_store.record(conn, [invocation(ID_A, "2026-12-01T16:55:01.929Z", [EXAMPLE_ROW])],
                       [prediction(ID_A, ID_A, 0, "2026-12-01T16:55:01.929Z")])
    local_store.record(
        conn, [invocation(ID_B, "2026-12-01T17:02:03.004Z", [EXAMPLE_ROW, EXAMPLE_ROW], "AbaloneModelPackageGroup/2")],
        [prediction(ID_B, ID_B, 0, "2026-12-01T17:02:03.004Z", 9.81, "AbaloneModelPackageGroup/2"),
         prediction(ID_C, ID_B, 1, "2026-12-01T17:02:03.004Z", 5.09, "AbaloneModelPackageGroup/2")])


def tables(conn):
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') "
                                             "AND name NOT LIKE 'sqlite_%'")}


def test_an_empty_file_is_migrated_to_the_current_schema(tmp_path):
    db = tmp_path / "home" / "serve.sqlite3"
    conn = local_store.connect(str(db))
    assert local_store.schema_version(conn) == local_store.SCHEMA_VERSION == 2
    assert tables(conn) == {"invocations", "predictions", "feedback", "invocations_by_time", "feedback_by_time"}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [c[1] for c in conn.execute("PRAGMA table_info(predictions)")][4:12] == list(local_store.FEATURES)


def test_a_database_of_the_previous_version_is_migrated_keeping_its_rows(tmp_path):
    db = tmp_path / "serve.sqlite3"
    old = sqlite3.connect(db)
    for statement in local_store.MIGRATIONS[0]:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO invocations VALUES (?, '2026-12-01T16:55:01.929Z', 'G/1', 'M,0.4\n', '9.4\n')", (ID_A,))
    old.commit()
    old.close()
    conn = local_store.connect(str(db))
    assert local_store.schema_version(conn) == 2
    assert "invocations_by_time" in tables(conn)
    assert conn.execute("SELECT inference_id FROM invocations").fetchall() == [(ID_A,)]


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    db = tmp_path / "serve.sqlite3"
    sqlite3.connect(db).execute("PRAGMA user_version = 9")
    with pytest.raises(local_store.StoreError, match="has schema version 9, newer than this program's 2"):
        local_store.connect(str(db))


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path):
    db = tmp_path / "serve.sqlite3"
    db.write_text("not a database " * 100)
    with pytest.raises(local_store.StoreError, match=f"{db} is not a usable prediction store"):
        local_store.connect(str(db))


def test_what_was_committed_survives_reopening(tmp_path):
    db = str(tmp_path / "serve.sqlite3")
    conn = local_store.connect(db)
    fill(conn)
    assert local_store.attach_feedback(conn, ID_A, 15, "2026-12-01T18:00:00.000Z")
    conn.close()
    again = local_store.connect(db)
    assert again.execute("SELECT COUNT(*) FROM invocations").fetchone()[0] == 2
    assert again.execute("SELECT prediction_id, row, rings, age_years FROM predictions ORDER BY created_at, row").fetchall() \
        == [(ID_A, 0, 9.41, 10.91), (ID_B, 0, 9.81, 11.31), (ID_C, 1, 5.09, 6.59)]
    assert json.loads(again.execute("SELECT instance FROM predictions WHERE prediction_id = ?", (ID_A,)).fetchone()[0]) \
        == EXAMPLE
    assert again.execute("SELECT actual_rings FROM feedback").fetchall() == [(15,)]


def test_a_second_feedback_replaces_the_first_and_unknown_ids_are_not_found(tmp_path):
    conn = local_store.connect(str(tmp_path / "serve.sqlite3"))
    fill(conn)
    assert local_store.attach_feedback(conn, ID_C, 7, "2026-12-01T18:00:00.000Z")
    assert local_store.attach_feedback(conn, ID_C, 8, "2026-12-01T19:00:00.000Z")
    assert conn.execute("SELECT prediction_id, actual_rings, collected_at FROM feedback").fetchall() \
        == [(ID_C, 8, "2026-12-01T19:00:00.000Z")]
    assert not local_store.attach_feedback(conn, "44444444-4444-4444-8444-444444444444", 8, "2026-12-01T19:00:00.000Z")
    assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 1


def test_a_failing_batch_writes_nothing(tmp_path):
    conn = local_store.connect(str(tmp_path / "serve.sqlite3"))
    fill(conn)
    with pytest.raises(sqlite3.IntegrityError):  # the same inference id twice
        local_store.apply(conn, [
            {"op": "feedback", "predictionId": ID_A, "actualRings": 3, "at": "2026-12-01T18:00:00.000Z"},
            {"op": "record", "invocations": [invocation(ID_A, "2026-12-01T18:00:00.000Z", [EXAMPLE_ROW])],
             "predictions": []},
        ])
    assert conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0] == 0


def run_cli(*args):
    return subprocess.run([sys.executable, str(ML / "local_store.py"), *map(str, args)], capture_output=True, text=True)


def test_export_captures_writes_data_capture_records_by_invocation_hour(tmp_path):
    db = tmp_path / "serve.sqlite3"
    fill(local_store.connect(str(db)))
    done = run_cli("export-captures", "--db", db, "--out", tmp_path / "captures")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    first = tmp_path / "captures" / "local" / "AllTraffic" / "2026" / "12" / "01" / "16" / f"55-01-929-{ID_A}.jsonl"
    second = tmp_path / "captures" / "local" / "AllTraffic" / "2026" / "12" / "01" / "17" / f"02-03-004-{ID_B}.jsonl"
    assert summary == {"invocations": 2, "records": 3, "files": [str(first), str(second)]}
    [record] = [json.loads(line) for line in first.read_text().splitlines()]
    assert record == {
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                              "data": "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15\n", "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": "9.4\n", "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": record["eventMetadata"]["eventId"], "inferenceId": ID_A,
                          "inferenceTime": "2026-12-01T16:55:01Z"},
        "eventVersion": "0",
    }
    assert len(record["eventMetadata"]["eventId"]) == 36
    [batch] = [json.loads(line) for line in second.read_text().splitlines()]
    assert batch["captureData"]["endpointInput"]["data"].count("\n") == 2
    assert batch["captureData"]["endpointOutput"]["data"] == "9.4\n10.4\n"

    only_v2 = run_cli("export-captures", "--db", db, "--out", tmp_path / "v2", "--model-version",
                      "AbaloneModelPackageGroup/2", "--endpoint-name", "abalone-prod")
    assert json.loads(only_v2.stdout)["files"] == [
        str(tmp_path / "v2" / "abalone-prod" / "AllTraffic" / "2026" / "12" / "01" / "17" / f"02-03-004-{ID_B}.jsonl")]
    since = run_cli("export-captures", "--db", db, "--out", tmp_path / "since", "--since", "2026-12-01T17:00:00Z")
    assert json.loads(since.stdout)["invocations"] == 1
    bad = run_cli("export-captures", "--db", db, "--out", tmp_path / "bad", "--since", "yesterday")
    assert bad.returncode == 1
    assert "--since 'yesterday' is not an ISO 8601 time" in bad.stderr


def test_export_feedback_writes_raw_rows_with_the_actual_rings(tmp_path):
    db = tmp_path / "serve.sqlite3"
    conn = local_store.connect(str(db))
    fill(conn)
    local_store.attach_feedback(conn, ID_C, 7, "2026-12-01T18:00:00.000Z")
    local_store.attach_feedback(conn, ID_A, 15, "2026-12-01T19:00:00.000Z")
    done = run_cli("export-feedback", "--db", db, "--out", tmp_path / "feedback.csv")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 2
    assert (tmp_path / "feedback.csv").read_text() == (
        "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,7\nM,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n")
    later = run_cli("export-feedback", "--db", db, "--out", tmp_path / "later.csv", "--since", "2026-12-01T18:30:00Z")
    assert (tmp_path / "later.csv").read_text().splitlines() == ["M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15"]


def test_export_ground_truth_writes_one_record_per_feedback_by_prediction_hour(tmp_path):
    db = tmp_path / "serve.sqlite3"
    conn = local_store.connect(str(db))
    fill(conn)
    local_store.attach_feedback(conn, ID_C, 7, "2026-12-02T08:00:00.000Z")
    done = run_cli("export-ground-truth", "--db", db, "--out", tmp_path / "truth")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "truth" / "2026" / "12" / "01" / "17" / f"{ID_C}.json"
    assert json.loads(done.stdout) == {"records": 1, "files": [str(path)]}
    assert json.loads(path.read_text()) == {
        "predictionId": ID_C, "inferenceId": ID_B, "row": 1, "actualRings": 7, "predictedRings": 5.09,
        "modelVersion": "AbaloneModelPackageGroup/2", "predictedAt": "2026-12-01T17:02:03.004Z",
        "collectedAt": "2026-12-02T08:00:00.000Z"}


def test_exports_of_a_missing_database_fail_naming_it(tmp_path):
    done = run_cli("export-ground-truth", "--db", tmp_path / "none.sqlite3", "--out", tmp_path / "truth")
    assert done.returncode == 1
    assert "none.sqlite3 does not exist" in done.stderr


def test_serve_commits_each_line_of_ops_and_answers_per_op(tmp_path):
    db = tmp_path / "home" / "serve.sqlite3"
    lines = [
        {"id": 1, "ops": [{"op": "record", "invocations": [invocation(ID_A, "2026-12-01T16:55:01.929Z", [EXAMPLE_ROW])],
                           "predictions": [prediction(ID_A, ID_A, 0, "2026-12-01T16:55:01.929Z")]},
                          {"op": "feedback", "predictionId": ID_A, "actualRings": 12, "at": "2026-12-01T17:00:00.000Z"},
                          {"op": "feedback", "predictionId": ID_B, "actualRings": 12, "at": "2026-12-01T17:00:00.000Z"}]},
        {"id": 2, "ops": [{"op": "record", "invocations": [invocation(ID_A, "2026-12-01T16:55:01.929Z", [EXAMPLE_ROW])],
                           "predictions": []}]},
    ]
    done = subprocess.run([sys.executable, str(ML / "local_store.py"), "serve", "--db", str(db)],
                          input="".join(json.dumps(line) + "\n" for line in lines), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[0] == {"ready": True, "schemaVersion": 2}
    assert answers[1] == {"id": 1, "results": [{}, {"found": True}, {"found": False}]}
    assert answers[2]["id"] == 2 and "UNIQUE constraint failed: invocations.inference_id" in answers[2]["error"]
    assert local_store.connect(str(db)).execute("SELECT actual_rings FROM feedback").fetchall() == [(12,)]
