"""ml/monitor_drift.py: PSI and KS per feature against the training profile, on the full dataset's profile and
streams drawn from it (in distribution, heavier, another sex mix), small windows and unreadable captures."""
import base64
import json

import numpy as np
import pytest
from scipy.stats import ks_2samp

import monitor_drift
import preprocess
from conftest import run_script, write_lines

WEIGHTS = ("whole_weight", "shucked_weight", "viscera_weight", "shell_weight")


@pytest.fixture(scope="module")
def training_rows(abalone_data):
    """The raw training split preprocess.py profiles with the default seed, as request rows (no rings)."""
    rows = [line.split(",") for line in abalone_data.read_text().splitlines() if line.strip()]
    train = preprocess.split_indices(len(rows), 42, 0.7, 0.15)["train"]
    return [rows[i][:8] for i in train]


@pytest.fixture(scope="module")
def profile_dir(full_split):
    return full_split["out"] / "profile"


def capture_line(rows, encoding="CSV", content_type="text/csv"):
    data = "\n".join(",".join(r) for r in rows)
    if encoding == "BASE64":
        data = base64.b64encode(data.encode()).decode()
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": content_type, "mode": "INPUT", "data": data, "encoding": encoding},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": "9.5", "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": "e", "inferenceId": "i", "inferenceTime": "2024-05-01T10:00:00Z"},
        "eventVersion": "0",
    })


def monitor(tmp_path, profile_dir, lines, *extra):
    captures = tmp_path / "captures"
    write_lines(captures / "endpoint" / "AllTraffic" / "2024" / "05" / "01" / "10" / "00-00-000-a.jsonl", lines)
    out = tmp_path / "report"
    monitor_drift.main(["--captures-dir", str(captures), "--profile", str(profile_dir), "--output-dir", str(out),
                        "--endpoint-name", "abalone", "--model-package-arn", "arn:pkg/1", "--window-start",
                        "2024-05-01T10:00:00Z", "--exit-message-file", "", *map(str, extra)])
    return json.loads((out / "drift-report.json").read_text())


def draw(rows, n, seed):
    rng = np.random.default_rng(seed)
    return [rows[i] for i in rng.choice(len(rows), size=n, replace=False)]


# --- streams ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_stream_drawn_from_the_training_data_is_not_drifted(tmp_path, profile_dir, training_rows, seed):
    report = monitor(tmp_path, profile_dir, [capture_line([r]) for r in draw(training_rows, 1000, seed)])
    assert report["status"] == "ok"
    assert report["recordCount"] == 1000 and report["skippedRecords"] == 0
    assert report["driftedFeatures"] == [] and report["driftedShare"] == 0
    assert list(report["features"]) == ["sex", *preprocess.MEASURES]
    for name, feature in report["features"].items():
        assert feature["psi"] < 0.1, name
        assert not feature["drifted"] and feature["driftedBy"] == []


def test_weights_times_1_8_drift_every_weight_and_nothing_else(tmp_path, profile_dir, training_rows):
    heavy = [r[:4] + [repr(float(v) * 1.8) for v in r[4:]] for r in draw(training_rows, 1000, 4)]
    report = monitor(tmp_path, profile_dir, [capture_line([r]) for r in heavy])
    assert report["status"] == "drift"
    assert report["driftedFeatures"] == list(WEIGHTS)
    assert report["driftedShare"] == 0.5
    for name in WEIGHTS:
        feature = report["features"][name]
        assert feature["psi"] > 0.2 and feature["ksPValue"] < 0.05 and feature["driftedBy"] == ["psi", "ks"]
        assert feature["served"]["median"] == pytest.approx(np.median([float(r[preprocess.FEATURES.index(name)]) for r in heavy]))
        assert feature["served"]["mean"] > 1.6 * feature["baseline"]["mean"]


def test_a_shifted_sex_mix_drifts_sex_and_the_sizes_that_come_with_it(tmp_path, profile_dir, training_rows):
    rng = np.random.default_rng(5)
    by_sex = {s: [r for r in training_rows if r[0] == s] for s in "MFI"}
    sexes = rng.choice(["I", "M", "F"], size=1000, p=[0.7, 0.15, 0.15])
    rows = [by_sex[s][rng.integers(len(by_sex[s]))] for s in sexes]
    report = monitor(tmp_path, profile_dir, [capture_line([r]) for r in rows])
    assert report["status"] == "drift"
    sex = report["features"]["sex"]
    assert sex["drifted"] and sex["psi"] > 0.2 and "ks" not in sex
    assert sex["served"]["frequencies"]["I"] == pytest.approx(np.mean(sexes == "I"))
    assert sex["baseline"]["frequencies"]["I"] == pytest.approx(np.mean([r[0] == "I" for r in training_rows]))
    # Infants are smaller: the measures move with the mix.
    assert report["driftedShare"] > 0.3


def test_the_ks_test_is_scipys_two_sample_test_against_the_profiles_sample(tmp_path, profile_dir, training_rows):
    rows = draw(training_rows, 500, 6)
    report = monitor(tmp_path, profile_dir, [capture_line(rows)])
    sample = json.loads((profile_dir / "training-profile.json").read_text())["numeric"]["length"]["sample"]
    expected = ks_2samp(sample, [float(r[1]) for r in rows])
    assert report["features"]["length"]["ks"] == pytest.approx(expected.statistic)
    assert report["features"]["length"]["ksPValue"] == pytest.approx(expected.pvalue)


def test_a_small_window_is_insufficient_data_not_judged(tmp_path, profile_dir, training_rows):
    report = monitor(tmp_path, profile_dir, [capture_line([r]) for r in draw(training_rows, 50, 7)])
    assert report["status"] == "insufficient_data"
    assert report["recordCount"] == 50
    assert report["features"] == {} and report["driftedShare"] == 0 and report["driftedFeatures"] == []
    assert "50 record(s) in 1 capture file(s), fewer than the 200 needed" in report["message"]
    assert report["thresholds"] == {"psi": 0.2, "ksPValue": 0.05, "driftedShare": 0.3, "minRecords": 200}


def test_no_captures_at_all_is_insufficient_data(tmp_path, profile_dir):
    out = tmp_path / "report"
    monitor_drift.main(["--captures-dir", str(tmp_path / "none"), "--profile", str(profile_dir), "--output-dir", str(out),
                        "--exit-message-file", ""])
    report = json.loads((out / "drift-report.json").read_text())
    assert report["status"] == "insufficient_data" and report["recordCount"] == 0


def test_thresholds_come_from_the_arguments(tmp_path, profile_dir, training_rows):
    heavy = [r[:4] + [repr(float(v) * 1.8) for v in r[4:]] for r in draw(training_rows, 300, 8)]
    report = monitor(tmp_path, profile_dir, [capture_line(heavy)], "--drifted-share-threshold", "0.5",
                     "--min-records", "300", "--psi-threshold", "0.3", "--ks-p-value-threshold", "0.01")
    assert report["thresholds"] == {"psi": 0.3, "ksPValue": 0.01, "driftedShare": 0.5, "minRecords": 300}
    # Four of eight features drift: a share of 0.5 is not above 0.5.
    assert report["driftedShare"] == 0.5 and report["status"] == "ok"


# --- what a capture holds ----------------------------------------------------------------------

def test_base64_and_batch_captures_are_read_and_malformed_lines_are_counted_by_reason(tmp_path, profile_dir, training_rows):
    rows = draw(training_rows, 400, 9)
    lines = [
        capture_line(rows[:100]),                          # a batch: one line, 100 rows
        *[capture_line([r], "BASE64") for r in rows[100:400]],
        "{not json",
        json.dumps({"captureData": {}}),
        capture_line([rows[0]], "JSON", "application/json"),
        json.dumps({"captureData": {"endpointInput": {"observedContentType": "text/csv", "data": "%%%", "encoding": "BASE64"}}}),
        capture_line([rows[0]], "BASE64", "application/x-npy"),
        capture_line([rows[0][:5]]),
        capture_line([[rows[0][0], "abc", *rows[0][2:]]]),
        capture_line([[rows[0][0], "nan", *rows[0][2:]]]),
        json.dumps({"captureData": {"endpointInput": {"data": "x", "encoding": "GZIP"}}}),
        "",
    ]
    report = monitor(tmp_path, profile_dir, lines)
    assert report["recordCount"] == 400
    assert report["skippedReasons"] == {
        "not a JSON object": 1,
        "no captureData.endpointInput.data": 1,
        "JSON request (this library sends text/csv)": 1,
        "invalid base64 or not UTF-8 text": 1,
        "content type application/x-npy (this library sends text/csv)": 1,
        "row with 5 fields (expected 8: sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight)": 1,
        "a measure is not a number": 1,
        "a measure is not a finite number": 1,
        "unknown encoding 'GZIP'": 1,
    }
    assert report["skippedRecords"] == 9
    assert report["status"] == "ok"


def test_capture_files_are_found_at_any_depth_and_only_jsonl(tmp_path, profile_dir, training_rows):
    rows = draw(training_rows, 300, 10)
    captures = tmp_path / "captures"
    write_lines(captures / "a" / "b" / "1.jsonl", [capture_line([r]) for r in rows[:100]])
    write_lines(captures / "c" / "2.jsonl", [capture_line([r]) for r in rows[100:]])
    write_lines(captures / "c" / "notes.txt", ["not a capture"])
    sexes, measures, skipped, files = monitor_drift.read_captures(str(captures))
    assert files == 2 and len(sexes) == 300 and measures.shape == (300, 7) and not skipped


def test_unseen_categories_count_against_the_training_frequencies(tmp_path, profile_dir, training_rows):
    rows = draw(training_rows, 300, 11)
    rows = [["X", *r[1:]] if i % 3 == 0 else r for i, r in enumerate(rows)]
    report = monitor(tmp_path, profile_dir, [capture_line(rows)])
    sex = report["features"]["sex"]
    assert sex["served"]["frequencies"]["X"] == pytest.approx(1 / 3)
    assert sex["baseline"]["frequencies"]["X"] == 0
    assert sex["drifted"]


# --- the statistics ----------------------------------------------------------------------------

def test_psi_is_zero_for_equal_shares_and_follows_its_formula():
    assert monitor_drift.psi([0.25] * 4, [0.25] * 4) == 0
    expected, actual = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    assert monitor_drift.psi(expected, actual) == pytest.approx(float(np.sum((actual - expected) * np.log(actual / expected))))


def test_an_empty_bin_counts_at_the_epsilon_share_so_psi_stays_finite():
    value = monitor_drift.psi([0.5, 0.5], [1.0, 0.0])
    eps = monitor_drift.EMPTY_BIN_SHARE
    assert value == pytest.approx((1 - 0.5) * np.log(1 / 0.5) + (eps - 0.5) * np.log(eps / 0.5))


def test_outer_bins_are_open_ended():
    shares = monitor_drift.bin_shares([0.0, 1.0, 2.0, 3.0], np.array([-5.0, 0.5, 1.0, 2.5, 3.0, 99.0]))
    assert shares.tolist() == [2 / 6, 1 / 6, 3 / 6]


# --- failures ----------------------------------------------------------------------------------

def test_a_missing_profile_fails_the_job_with_a_reason(tmp_path):
    done = run_script("monitor_drift.py", "--captures-dir", tmp_path, "--profile", tmp_path / "nothing",
                      "--output-dir", tmp_path / "out", "--exit-message-file", "")
    assert done.returncode == 1
    assert f"training profile {tmp_path / 'nothing'} does not exist" in done.stderr


def test_a_malformed_profile_fails_naming_what_is_wrong(tmp_path):
    write_lines(tmp_path / "p" / "training-profile.json", [json.dumps({"version": 1, "numeric": {}, "categorical": {}})])
    done = run_script("monitor_drift.py", "--captures-dir", tmp_path, "--profile", tmp_path / "p",
                      "--output-dir", tmp_path / "out", "--exit-message-file", "")
    assert done.returncode == 1
    assert "numeric.length lacks binEdges, proportions or sample" in done.stderr
    assert "categorical.sex.frequencies is missing" in done.stderr


@pytest.mark.parametrize("flag,value,message", [
    ("--psi-threshold", "0", "--psi-threshold must be above 0"),
    ("--ks-p-value-threshold", "1.5", "--ks-p-value-threshold must be between 0 and 1"),
    ("--drifted-share-threshold", "1", "--drifted-share-threshold must be from 0 up to 1"),
    ("--min-records", "0", "--min-records must be at least 1"),
])
def test_bad_thresholds_fail_naming_the_argument(tmp_path, profile_dir, flag, value, message):
    done = run_script("monitor_drift.py", "--captures-dir", tmp_path, "--profile", profile_dir,
                      "--output-dir", tmp_path / "out", "--exit-message-file", "", flag, value)
    assert done.returncode == 1 and message in done.stderr
