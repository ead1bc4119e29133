"""Shared helpers for the ML script tests: paths, the dataset, small valid fixtures."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.dont_write_bytecode = True  # keep __pycache__ out of ml/ when the scripts are imported

REPO = Path(__file__).resolve().parents[2]
ML = REPO / "ml"
sys.path.insert(0, str(ML))

DATASET = Path(os.environ.get("ABALONE_DATA", REPO.parent / "shared" / "data" / "abalone.data"))

# Real rows of the UCI data, one per sex, reused to build small fixtures.
SAMPLE_ROWS = [
    "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15",
    "F,0.53,0.42,0.135,0.677,0.2565,0.1415,0.21,9",
    "I,0.33,0.255,0.08,0.205,0.0895,0.0395,0.055,7",
    "M,0.44,0.365,0.125,0.516,0.2155,0.114,0.155,10",
    "F,0.545,0.425,0.125,0.768,0.294,0.1495,0.26,16",
]


def valid_rows(n: int):
    """n valid raw rows, varied so the scaler sees spread in every measure."""
    rows = []
    for i in range(n):
        fields = SAMPLE_ROWS[i % len(SAMPLE_ROWS)].split(",")
        scale = 1 + (i % 7) / 20
        fields[1:8] = [f"{float(v) * scale:.4f}" for v in fields[1:8]]
        fields[8] = str(int(fields[8]) + i % 5)
        rows.append(",".join(fields))
    return rows


def write_lines(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    """Runs ml/<script> as its own process, the way a container runs it."""
    return subprocess.run([sys.executable, str(ML / script), *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="session")
def abalone_data() -> Path:
    if not DATASET.is_file():
        pytest.skip(f"UCI abalone dataset missing: looked for {DATASET} (set ABALONE_DATA to its path)")
    return DATASET


@pytest.fixture(scope="session")
def full_split(tmp_path_factory, abalone_data):
    """The full dataset preprocessed once by the real CLI with the default seed."""
    root = tmp_path_factory.mktemp("full")
    raw = root / "input" / "data" / "datasets" / "v1"
    raw.mkdir(parents=True)
    (raw / "abalone.data").write_bytes(abalone_data.read_bytes())
    out = root / "processing"
    done = run_script("preprocess.py", "--input-dir", root / "input" / "data", "--output-dir", out)
    assert done.returncode == 0, done.stderr
    return {"out": out, "stdout": done.stdout}


def pytest_terminal_summary(terminalreporter):
    if not DATASET.is_file():
        terminalreporter.write_line(
            f"UCI abalone dataset missing: looked for {DATASET}; the tests that need it were skipped "
            "(set ABALONE_DATA to its path)", yellow=True)
