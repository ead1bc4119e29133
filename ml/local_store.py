"""Local mode's prediction store: every invocation, prediction and feedback of `local serve`, in SQLite.

The database (by default `.abalone-local/serve.sqlite3`) has these tables; times are UTC ISO 8601 with
milliseconds and a Z (`2026-12-01T16:52:33.155Z`):

- invocations: one per call of the model (a batch request is one call), as an endpoint captures it.
  inference_id (the SageMaker InferenceId: the id of the call's first prediction), received_at, model_version,
  input_csv (the text/csv sent to the model: dataset-scale rows without rings), output_csv (what it answered).
- predictions: one per instance. prediction_id, inference_id, row (its line in input_csv, from 0), instance
  (the API fields, JSON), the dataset row in the raw CSV's columns (sex, length, ..., shell_weight), rings and
  age_years as answered, model_version, created_at.
- feedback: at most one per prediction (a second replaces the first). prediction_id, actual_rings, collected_at.

The schema's version is `PRAGMA user_version`; opening a database applies the MIGRATIONS it lacks, each in one
transaction. The database runs in WAL mode with synchronous=NORMAL: a committed transaction survives a crash of
the process (not necessarily a power cut), and a commit does not wait for the disk. `serve` checkpoints the WAL
into the database from a thread of its own, so that no request waits for a checkpoint's fsync.

Usage:
  local_store.py serve --db FILE
      The store of `local serve`: one JSON object a line on stdin, {"id", "ops": [...]}, each op
      {"op": "record", "invocations": [...], "predictions": [...]} or
      {"op": "feedback", "predictionId", "actualRings", "at"}; all ops of a line run in one transaction, and
      {"id", "results": [...]} (a feedback's result is {"found": bool}) is written once it has committed, or
      {"id", "error"}. The first line written is {"ready": true, "schemaVersion": n}, or {"error"} (exit 1).
  local_store.py export-captures --db FILE --out DIR [--since ISO] [--model-version V] [--endpoint-name local]
      The invocations in SageMaker's Data Capture format, DIR/<endpoint>/AllTraffic/yyyy/mm/dd/hh/<file>.jsonl
      by invocation hour (UTC).
  local_store.py export-feedback --db FILE --out FILE [--since ISO]
      Each prediction with feedback as a raw data row (headerless, the UCI file's columns) with the actual rings.
  local_store.py export-ground-truth --db FILE --out DIR
      One JSON object per feedback, DIR/yyyy/mm/dd/hh/<predictionId>.json by the prediction's hour (UTC).
Each export prints a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
import uuid
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional

from abalone_contract import LABEL_COLUMN, RAW_COLUMNS

FEATURES = RAW_COLUMNS[:-1]
CAPTURE_VARIANT = "AllTraffic"
DEFAULT_ENDPOINT_NAME = "local"
CHECKPOINT_SECONDS = 1.0
CSV = "text/csv"
# eventId of an exported capture record: derived from its inference id, so exporting twice writes the same files.
EVENT_ID_NAMESPACE = uuid.UUID("6f1f7a52-4b0e-4c55-9a57-1c8d2c0e6a11")

# Each migration brings the schema from its index to its index + 1. Released ones never change: add a new one.
MIGRATIONS: List[List[str]] = [
    [
        """CREATE TABLE invocations (
            inference_id TEXT PRIMARY KEY,
            received_at TEXT NOT NULL,
            model_version TEXT NOT NULL,
            input_csv TEXT NOT NULL,
            output_csv TEXT NOT NULL
        )""",
        """CREATE TABLE predictions (
            prediction_id TEXT PRIMARY KEY,
            inference_id TEXT NOT NULL REFERENCES invocations (inference_id),
            row INTEGER NOT NULL,
            instance TEXT NOT NULL,
            sex TEXT NOT NULL,
            length REAL NOT NULL,
            diameter REAL NOT NULL,
            height REAL NOT NULL,
            whole_weight REAL NOT NULL,
            shucked_weight REAL NOT NULL,
            viscera_weight REAL NOT NULL,
            shell_weight REAL NOT NULL,
            rings REAL NOT NULL,
            age_years REAL NOT NULL,
            model_version TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (inference_id, row)
        )""",
        """CREATE TABLE feedback (
            prediction_id TEXT PRIMARY KEY REFERENCES predictions (prediction_id),
            actual_rings INTEGER NOT NULL,
            collected_at TEXT NOT NULL
        )""",
    ],
    # 2: the columns the exports select by.
    [
        "CREATE INDEX invocations_by_time ON invocations (received_at)",
        "CREATE INDEX feedback_by_time ON feedback (collected_at)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be used; the message says why."""


def connect(path: str) -> sqlite3.Connection:
    """Opens (creating it and its folder when missing) and migrates the database at `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        migrate(conn, path)
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{path} is not a usable prediction store: {e}") from e
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, path: str = "the database") -> int:
    """Applies the migrations the database lacks, each in one transaction; returns the schema version."""
    while True:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates at a time
        try:
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(f"{path} has schema version {version}, newer than this program's {SCHEMA_VERSION}: "
                                 "use the version of the package that wrote it")
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _record(conn: sqlite3.Connection, invocations: Iterable[dict], predictions: Iterable[dict]) -> None:
    conn.executemany(
        "INSERT INTO invocations (inference_id, received_at, model_version, input_csv, output_csv) "
        "VALUES (:inferenceId, :receivedAt, :modelVersion, :inputCsv, :outputCsv)", invocations)
    columns = ", ".join(FEATURES)
    conn.executemany(
        f"INSERT INTO predictions (prediction_id, inference_id, row, instance, {columns}, rings, age_years, "
        f"model_version, created_at) VALUES ({', '.join('?' * (len(FEATURES) + 8))})",
        ([p["predictionId"], p["inferenceId"], p["row"], json.dumps(p["instance"], separators=(",", ":")),
          *p["datasetRow"], p["rings"], p["ageYears"], p["modelVersion"], p["createdAt"]] for p in predictions))


def _feedback(conn: sqlite3.Connection, prediction_id: str, actual_rings: int, at: str) -> bool:
    cursor = conn.execute(
        "INSERT INTO feedback (prediction_id, actual_rings, collected_at) "
        "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM predictions WHERE prediction_id = ?) "
        "ON CONFLICT (prediction_id) DO UPDATE SET actual_rings = excluded.actual_rings, "
        "collected_at = excluded.collected_at",
        (prediction_id, actual_rings, at, prediction_id))
    return cursor.rowcount > 0


def apply(conn: sqlite3.Connection, ops: List[dict]) -> List[dict]:
    """Runs the ops (see `serve` in the module docstring) in one transaction; returns one result per op."""
    results = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            if op["op"] == "record":
                _record(conn, op["invocations"], op["predictions"])
                results.append({})
            elif op["op"] == "feedback":
                results.append({"found": _feedback(conn, op["predictionId"], op["actualRings"], op["at"])})
            else:
                raise StoreError(f"unknown op {op['op']!r}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return results


def record(conn: sqlite3.Connection, invocations: List[dict], predictions: List[dict]) -> None:
    """Stores invocations and their predictions (the shapes of the serve protocol's record op), in one transaction."""
    apply(conn, [{"op": "record", "invocations": invocations, "predictions": predictions}])


def attach_feedback(conn: sqlite3.Connection, prediction_id: str, actual_rings: int, at: str) -> bool:
    """Stores (or replaces) the actual rings of a prediction; False when no prediction has this id."""
    return apply(conn, [{"op": "feedback", "predictionId": prediction_id, "actualRings": actual_rings,
                         "at": at}])[0]["found"]


def parse_time(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise StoreError(f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-12-01T16:00:00Z)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _since(since: Optional[str], option: str = "--since") -> Optional[str]:
    # Stored times are all ISO with milliseconds and Z, so they compare as text.
    return None if since is None else iso(parse_time(since, option))


def _write_lines(path: str, lines: List[str]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(line + "\n" for line in lines)


def export_captures(conn: sqlite3.Connection, out_dir: str, since: Optional[str] = None,
                    model_version: Optional[str] = None, endpoint_name: str = DEFAULT_ENDPOINT_NAME) -> Dict:
    """Writes the invocations as Data Capture files, one per invocation hour; returns the summary."""
    if not endpoint_name or "/" in endpoint_name:
        raise StoreError(f"--endpoint-name {endpoint_name!r} must be a non-empty name without '/'")
    query = "SELECT inference_id, received_at, input_csv, output_csv FROM invocations WHERE 1 = 1"
    params: list = []
    if since is not None:
        query += " AND received_at >= ?"
        params.append(_since(since))
    if model_version is not None:
        query += " AND model_version = ?"
        params.append(model_version)
    hours: Dict[str, List[tuple]] = {}
    for row in conn.execute(query + " ORDER BY received_at, inference_id", params):
        moment = parse_time(row[1], "received_at")
        hours.setdefault(moment.strftime("%Y/%m/%d/%H"), []).append(row)
    files, records = [], 0
    for hour, rows in hours.items():
        first = parse_time(rows[0][1], "received_at")
        # SageMaker names capture files <MM>-<SS>-<mmm>-<uuid>.jsonl within the hour's folder.
        name = f"{first:%M-%S}-{first.microsecond // 1000:03d}-{rows[0][0]}.jsonl"
        path = os.path.join(out_dir, endpoint_name, CAPTURE_VARIANT, *hour.split("/"), name)
        lines = []
        for inference_id, received_at, input_csv, output_csv in rows:
            records += sum(1 for line in input_csv.splitlines() if line.strip())
            lines.append(json.dumps({
                "captureData": {
                    "endpointInput": {"observedContentType": CSV, "mode": "INPUT", "data": input_csv, "encoding": "CSV"},
                    "endpointOutput": {"observedContentType": CSV, "mode": "OUTPUT", "data": output_csv,
                                       "encoding": "CSV"},
                },
                "eventMetadata": {"eventId": str(uuid.uuid5(EVENT_ID_NAMESPACE, inference_id)),
                                  "inferenceId": inference_id,
                                  "inferenceTime": iso(parse_time(received_at, "received_at"))[:-5] + "Z"},
                "eventVersion": "0",
            }, separators=(",", ":")))
        _write_lines(path, lines)
        files.append(path)
    return {"invocations": sum(len(rows) for rows in hours.values()), "records": records, "files": files}


def export_feedback(conn: sqlite3.Connection, out_file: str, since: Optional[str] = None) -> Dict:
    """Writes each prediction with feedback as a raw data row, the actual rings as the label; returns the summary."""
    query = (f"SELECT {', '.join('p.' + c for c in FEATURES)}, f.actual_rings FROM feedback f "
             "JOIN predictions p ON p.prediction_id = f.prediction_id")
    params: list = []
    if since is not None:
        query += " WHERE f.collected_at >= ?"
        params.append(_since(since))
    lines = [",".join([row[0], *(repr(float(v)) for v in row[1:-1]), str(row[-1])])
             for row in conn.execute(query + " ORDER BY f.collected_at, f.prediction_id", params)]
    _write_lines(os.path.abspath(out_file), lines)
    return {"rows": len(lines), "file": out_file, "columns": list(FEATURES) + [LABEL_COLUMN]}


def export_ground_truth(conn: sqlite3.Connection, out_dir: str) -> Dict:
    """Writes one ground-truth record per feedback, by the prediction's UTC hour; returns the summary."""
    files = []
    query = ("SELECT p.prediction_id, p.inference_id, p.row, f.actual_rings, p.rings, p.model_version, p.created_at, "
             "f.collected_at FROM feedback f JOIN predictions p ON p.prediction_id = f.prediction_id "
             "ORDER BY p.created_at, p.prediction_id")
    for prediction_id, inference_id, row, actual, predicted, version, created_at, collected_at in conn.execute(query):
        predicted_at = parse_time(created_at, "created_at")
        path = os.path.join(out_dir, *f"{predicted_at:%Y/%m/%d/%H}".split("/"), f"{prediction_id}.json")
        _write_lines(path, [json.dumps({
            "predictionId": prediction_id, "inferenceId": inference_id, "row": row, "actualRings": actual,
            "predictedRings": predicted, "modelVersion": version, "predictedAt": created_at,
            "collectedAt": collected_at,
        }, separators=(",", ":"))])
        files.append(path)
    return {"records": len(files), "files": files}


def checkpoints(path: str, stop: threading.Event) -> None:
    """Copies the WAL into the database every CHECKPOINT_SECONDS, beside the writer (PASSIVE: never blocks it)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        while not stop.wait(CHECKPOINT_SECONDS):
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError:
                pass  # busy: the next round copies what this one could not
    finally:
        conn.close()


def serve(conn: sqlite3.Connection, path: str, stdin=None, stdout=None) -> None:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    # SQLite would otherwise checkpoint (and fsync) inside the commit that crosses 1,000 WAL pages.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    stop = threading.Event()
    checkpointer = threading.Thread(target=checkpoints, args=(path, stop), daemon=True)
    checkpointer.start()
    stdout.write(json.dumps({"ready": True, "schemaVersion": schema_version(conn)}) + "\n")
    stdout.flush()
    try:
        for line in stdin:
            request = json.loads(line)
            try:
                answer = {"id": request["id"], "results": apply(conn, request["ops"])}
            except (sqlite3.Error, StoreError, KeyError, TypeError, ValueError) as e:
                answer = {"id": request["id"], "error": f"{type(e).__name__}: {e}"}
            stdout.write(json.dumps(answer) + "\n")
            stdout.flush()
    finally:
        stop.set()
        checkpointer.join()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog=__doc__[__doc__.index("Usage:"):],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="the store of local serve (JSON lines on stdin/stdout)")
    captures = commands.add_parser("export-captures", help="the invocations in the Data Capture format")
    captures.add_argument("--out", required=True, help="folder; files go to <endpoint>/AllTraffic/yyyy/mm/dd/hh/")
    captures.add_argument("--since", help="only invocations received at or after this ISO 8601 time")
    captures.add_argument("--model-version", help="only invocations this model version answered")
    captures.add_argument("--endpoint-name", default=DEFAULT_ENDPOINT_NAME)
    feedback = commands.add_parser("export-feedback", help="predictions with feedback as raw data rows")
    feedback.add_argument("--out", required=True, help="the CSV file to write")
    feedback.add_argument("--since", help="only feedback collected at or after this ISO 8601 time")
    truth = commands.add_parser("export-ground-truth", help="one ground-truth JSON record per feedback")
    truth.add_argument("--out", required=True, help="folder; files go to yyyy/mm/dd/hh/<predictionId>.json")
    for sub in (serve_parser, captures, feedback, truth):
        sub.add_argument("--db", required=True, help="the database file (local serve: <home>/serve.sqlite3)")
    args = parser.parse_args(argv)

    if args.command == "serve":
        try:
            conn = connect(args.db)
        except (StoreError, OSError) as e:
            sys.stdout.write(json.dumps({"error": str(e)}) + "\n")
            return 1
        serve(conn, args.db)
        conn.close()
        return 0
    try:
        if not os.path.isfile(args.db):
            raise StoreError(f"{args.db} does not exist (local serve creates it in its home)")
        conn = connect(args.db)
        if args.command == "export-captures":
            summary = export_captures(conn, args.out, args.since, args.model_version, args.endpoint_name)
        elif args.command == "export-feedback":
            summary = export_feedback(conn, args.out, args.since)
        else:
            summary = export_ground_truth(conn, args.out)
        conn.close()
    except (StoreError, OSError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
