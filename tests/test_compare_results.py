"""scripts/compare_results.py: two runs side by side, why they differ, and the CI gate."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from conftest import TINY, run_script, run_snakemake
from coralbuild.reporting.compare.figures import latency_noise
from coralbuild.reporting.compare.gate import Thresholds, violations
from coralbuild.reporting.compare.rows import compare_runs
from coralbuild.reporting.compare.runs import load_run
from coralbuild.reporting.table import COLUMNS

MEASURED_ROW = {"status": "measured", "size_bytes": 62296, "accuracy": 0.9864, "agreement": 0.9998,
                "median_ms": 0.0160, "p90_ms": 0.0170, "p99_ms": 0.0190, "std_ms": 0.0010,
                "compile_status": "skipped: no compiler", "predicted_ops_edgetpu": 10, "predicted_ops_cpu": 0,
                "predicted_segments": 1, "predicted_parameter_bytes": 57568, "predicted_parameter_memory": "fits"}


def write_run(folder, rows):
    """A results folder holding a benchmark.csv of `rows` (dicts over MEASURED_ROW's defaults)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([{**dict.fromkeys(COLUMNS), "dataset": "mnist", "model": "cnn", "artifact": "int8",
                           "device": "cpu", **MEASURED_ROW, **row} for row in rows], columns=COLUMNS)
    table.to_csv(folder / "benchmark.csv", index=False)
    return folder


def compared(tmp_path, base_row, new_row, **thresholds):
    base = load_run(write_run(tmp_path / "base", [base_row]), "BASE")
    new = load_run(write_run(tmp_path / "new", [new_row]), "NEW")
    rows = compare_runs(base, new)
    return rows, violations(rows, Thresholds(**thresholds))


# (threshold, its value, NEW's row, the violation's words or None when it passes)
GATES = [
    ("max_accuracy_drop", 0.5, {"accuracy": 0.9804}, "-0.60 points > --max-accuracy-drop 0.5"),
    ("max_accuracy_drop", 0.5, {"accuracy": 0.9824}, None),
    ("max_size_ratio", 1.1, {"size_bytes": 70000}, "size 62,296 -> 70,000 bytes (1.12x > --max-size-ratio 1.1)"),
    ("max_size_ratio", 1.1, {"size_bytes": 68000}, None),
    ("max_latency_ratio", 1.2, {"median_ms": 0.0250, "p90_ms": 0.0260}, "1.56x > --max-latency-ratio 1.2"),
    ("max_latency_ratio", 1.2, {"median_ms": 0.0190, "p90_ms": 0.0200}, None),
    ("no_new_cpu_ops", True, {"predicted_ops_edgetpu": 8, "predicted_ops_cpu": 2}, "0 -> 2 ops on the CPU"),
    ("no_new_cpu_ops", True, {"predicted_ops_edgetpu": 10, "predicted_ops_cpu": 0}, None),
    ("require_measured", True, {"status": "failed: invoke crashed", "median_ms": None}, "measured in BASE, failed: invoke"),
    ("require_measured", True, {}, None),
]


@pytest.mark.parametrize("threshold, value, new_row, expected", GATES)
def test_each_threshold_passes_and_fails(tmp_path, threshold, value, new_row, expected):
    _, found = compared(tmp_path, {}, new_row, **{threshold: value})
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0] and found[0].startswith("mnist/cnn"), found


def test_identical_runs_change_nothing_and_break_no_threshold(tmp_path):
    rows, found = compared(tmp_path, {}, {}, max_accuracy_drop=0.0, max_latency_ratio=1.0, max_size_ratio=1.0,
                           no_new_cpu_ops=True, require_measured=True)
    assert found == []
    assert [row["presence"] for row in rows] == ["both"]
    assert all(figure.base == figure.new for figure in rows[0]["figures"].values())


def test_a_latency_change_within_the_runs_spread_is_noise(tmp_path):
    """BASE's p90 sits 0.004 ms above its median: a median 0.003 ms slower is within that spread,
    even at 1.19x; 0.005 ms slower is not."""
    base = {"median_ms": 0.016, "p90_ms": 0.020}
    rows, found = compared(tmp_path, base, {"median_ms": 0.019, "p90_ms": 0.020}, max_latency_ratio=1.1)
    assert found == [] and "within noise ±0.004 ms" in rows[0]["figures"]["median_ms"].change
    rows, found = compared(tmp_path, base, {"median_ms": 0.021, "p90_ms": 0.022}, max_latency_ratio=1.1)
    assert len(found) == 1 and "beyond the runs' noise" in found[0]


ESTIMATED_ROW = {"artifact": "edgetpu", "device": "estimate:usb3_desktop", "status": "estimated", "median_ms": 2.0,
                 "estimate_low_ms": 1.6, "estimate_high_ms": 2.6, "p90_ms": None, "p99_ms": None, "std_ms": None}


@pytest.mark.parametrize("new_median, broken", [(2.5, False), (2.7, True), (1.0, False)])
def test_the_gate_applies_to_estimated_rows_beyond_their_band(tmp_path, new_median, broken):
    """An estimate 1.25x slower but inside BASE's band (1.6-2.6 ms) is no change the estimate can
    tell; 1.35x, past the band, breaks --max-latency-ratio 1.2, labelled as estimated."""
    rows, found = compared(tmp_path, ESTIMATED_ROW, {**ESTIMATED_ROW, "median_ms": new_median}, max_latency_ratio=1.2)
    assert rows[0]["figures"]["median_ms"].estimated
    if broken:
        assert len(found) == 1 and "estimated median latency 2 -> 2.7 ms" in found[0] and "beyond the estimate's band" in found[0]
    else:
        assert found == []


def test_estimated_and_measured_rows_are_never_compared_with_each_other(tmp_path):
    measured = {"artifact": "edgetpu", "device": "usb", "median_ms": 2.0, "p90_ms": 2.1}
    base = load_run(write_run(tmp_path / "base", [measured, ESTIMATED_ROW]), "BASE")
    new = load_run(write_run(tmp_path / "new", [{**measured, "median_ms": 4.0}, {**ESTIMATED_ROW, "median_ms": 9.0}]), "NEW")
    rows = {row["device"]: row["figures"]["median_ms"] for row in compare_runs(base, new)}
    assert (rows["usb"].base, rows["usb"].new, rows["usb"].estimated) == (2.0, 4.0, False)
    assert (rows["estimate:usb3_desktop"].base, rows["estimate:usb3_desktop"].new) == (2.0, 9.0)


@pytest.mark.parametrize("base, new, noise", [
    ({"median_ms": 1.0, "p90_ms": 1.5, "std_ms": 0.1}, {"median_ms": 1.0, "p90_ms": 1.2, "std_ms": 0.1}, 0.5),
    ({"median_ms": 1.0, "p90_ms": None, "std_ms": 0.3}, {"median_ms": 1.0, "p90_ms": 1.1, "std_ms": 0.1}, 0.3),
    ({"status": "skipped: no device"}, {"median_ms": 1.0, "p90_ms": 1.1}, 0.1),
])
def test_the_noise_is_the_larger_spread_of_the_two_runs(base, new, noise):
    def row(values):
        return pd.Series({**MEASURED_ROW, **values})

    assert latency_noise(row(base), row(new)) == pytest.approx(noise)


def test_mapping_comes_from_the_compiler_where_it_ran(tmp_path):
    compiled = {"compile_status": "compiled", "ops_edgetpu": 9, "ops_cpu": 1, "edgetpu_segments": 1,
                "onchip_bytes": 60000, "offchip_bytes": 0}
    # A second row without compile facts leaves empty cells: the counts are read back as floats.
    base = load_run(write_run(tmp_path / "base", [{}, {"artifact": "float32"}]), "BASE")
    new = load_run(write_run(tmp_path / "new", [compiled, {"artifact": "float32"}]), "NEW")
    rows = [row for row in compare_runs(base, new) if row["artifact"] == "int8"]
    found = violations(rows, Thresholds(no_new_cpu_ops=True))
    assert rows[0]["mapping"] == "predicted -> compiled"
    assert rows[0]["figures"]["ops_edgetpu"].new == 9 and isinstance(rows[0]["figures"]["ops_edgetpu"].new, int)
    assert rows[0]["figures"]["ops_cpu"].change == "+1 (predicted -> compiled)"
    assert len(found) == 1 and "0 -> 1 ops on the CPU" in found[0]


def test_runs_of_other_models_give_rows_only_in_one_of_them(tmp_path):
    write_run(tmp_path / "base", [{}, {"model": "mlp"}])
    write_run(tmp_path / "new", [{}, {"model": "mobilenet"}])
    result = run_script("compare_results.py", tmp_path / "base", tmp_path / "new", "--json", "--require-measured")
    assert result.returncode == 1
    presence = {row["model"]: row["presence"] for row in json.loads(result.stdout)["rows"]}
    assert presence == {"cnn": "both", "mlp": "only in BASE", "mobilenet": "only in NEW"}
    assert json.loads(result.stdout)["violations"] == ["mnist/mlp int8 cpu: measured in BASE, missing in NEW (--require-measured)"]


def test_thresholds_come_from_a_file_and_the_command_line_overrides_them(tmp_path):
    write_run(tmp_path / "base", [{}])
    write_run(tmp_path / "new", [{"accuracy": 0.9764}])  # -1.00 points
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump({"max_accuracy_drop": 0.5, "require_measured": True}))
    failing = run_script("compare_results.py", tmp_path / "base", tmp_path / "new", "--thresholds", tmp_path / "gate.yaml")
    assert failing.returncode == 1 and "regression: mnist/cnn int8 cpu: accuracy 98.64% -> 97.64%" in failing.stdout
    passing = run_script("compare_results.py", tmp_path / "base", tmp_path / "new", "--thresholds", tmp_path / "gate.yaml",
                         "--max-accuracy-drop", "1.5")
    assert passing.returncode == 0 and "Gate (max_accuracy_drop, require_measured): passed" in passing.stdout


def one_line_error(result):
    assert result.returncode == 2 and result.stdout == "", result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bad_input_is_one_line_naming_the_file_or_key(tmp_path):
    good = write_run(tmp_path / "good", [{}])
    (tmp_path / "empty").mkdir()
    assert "empty: not a results folder (BASE)" in one_line_error(run_script("compare_results.py", tmp_path / "empty", good))
    pd.DataFrame({"dataset": ["mnist"], "model": ["cnn"], "median_ms": [1.0]}).to_csv(tmp_path / "old.csv", index=False)
    line = one_line_error(run_script("compare_results.py", good, tmp_path / "old.csv"))
    assert "old.csv: not a benchmark table of this workflow's version (NEW): no column artifact, device" in line
    assert "nowhere: no such file or folder (NEW)" in one_line_error(run_script("compare_results.py", good, tmp_path / "nowhere"))
    (tmp_path / "gate.yaml").write_text("max_latency: 1.2\n")
    line = one_line_error(run_script("compare_results.py", good, good, "--thresholds", tmp_path / "gate.yaml"))
    assert "gate.yaml: unknown threshold 'max_latency'" in line
    (tmp_path / "gate.yaml").write_text("max_size_ratio: big\n")
    line = one_line_error(run_script("compare_results.py", good, good, "--thresholds", tmp_path / "gate.yaml"))
    assert "max_size_ratio must be a number >= 0, got 'big'" in line
    (tmp_path / "gate.yaml").write_text("max_size_ratio: 1.1\nmax_size_ratio: 5\n")
    line = one_line_error(run_script("compare_results.py", good, good, "--thresholds", tmp_path / "gate.yaml"))
    assert line.endswith("gate.yaml line 2: key 'max_size_ratio' given twice (YAML would keep only the last)")


@pytest.fixture(scope="module")
def changed_run(tiny_run, tmp_path_factory):
    """The tiny run again with one setting changed: convolution weights quantized per tensor; with
    the tiny run as its baseline, so that it also writes the comparison for the report."""
    project = tmp_path_factory.mktemp("compare") / "project"
    shutil.copytree(tiny_run, project, symlinks=True)  # copy2 keeps the times: only the int8 chain reruns
    (project / "per_tensor.yaml").write_text(yaml.safe_dump({"quantize": {"conv_weights": "per_tensor"},
                                                             "baseline": str(tiny_run / "results")}))
    result = run_snakemake(project, "--cores", "2", *TINY, "per_tensor.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    return project


def test_two_runs_that_differ_in_one_setting(tiny_run, changed_run):
    result = run_script("compare_results.py", tiny_run / "results", changed_run / "results", "--json",
                        "--max-accuracy-drop", "100", "--max-size-ratio", "1.0")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    rows = {(row["model"], row["artifact"], row["device"]): row for row in report["rows"]}
    estimates = [("edgetpu", "estimate:usb3_desktop")]  # benchmark.estimate's default
    assert set(rows) == {(model, artifact, device) for model in ("cnn", "mlp")
                         for artifact, device in (("float32", "cpu"), ("int8", "cpu"), ("edgetpu", "usb"), *estimates)}
    estimated = rows["cnn", "edgetpu", "estimate:usb3_desktop"]["figures"]
    assert estimated["status"]["base"] == estimated["status"]["new"] == "estimated"
    assert "(estimated)" in estimated["median_ms"]["change"] and estimated["median_ms"]["new"] > 0
    size = rows["cnn", "int8", "cpu"]["figures"]["size_bytes"]
    assert size["new"] < size["base"] and size["change"].startswith("0.")  # fewer quantization parameters
    assert rows["mlp", "int8", "cpu"]["figures"]["size_bytes"]["change"] == "1.00x"  # no convolution
    for model in ("cnn", "mlp"):
        assert rows[model, "int8", "cpu"]["why"] == ["config quantize"]
        assert rows[model, "float32", "cpu"]["why"] == []
        float32 = rows[model, "float32", "cpu"]["figures"]
        assert float32["size_bytes"]["base"] == float32["size_bytes"]["new"]
        assert float32["accuracy"]["base"] == float32["accuracy"]["new"]
    changed = {item["path"]: item["why"] for item in report["changed_artifacts"]}
    assert changed["results/mnist/cnn/model_int8.tflite"] == ["config quantize"]
    assert "results/mnist/cnn/model_float32.tflite" not in changed
    assert report["version_changes"] == {}
    markdown = run_script("compare_results.py", tiny_run / "results", changed_run / "results", "--markdown")
    assert markdown.returncode == 0
    assert "| mnist/cnn int8 cpu " in markdown.stdout and "- results/mnist/cnn/model_int8.tflite: config quantize" in markdown.stdout


def test_a_run_with_a_baseline_puts_the_comparison_in_the_report(changed_run):
    folder = changed_run / "results/comparison"
    table = pd.read_csv(folder / "comparison.csv")
    assert len(table) == 8 and set(table.presence) == {"both"}  # 3 measured rows and 1 estimated per model
    int8 = table[(table.model == "cnn") & (table.artifact == "int8")].iloc[0]
    assert int8.why == "config quantize" and int8.size_bytes_new < int8.size_bytes_base
    assert "| mnist/cnn int8 cpu " in (folder / "comparison.md").read_text()
    assert (folder / "accuracy_vs_latency.png").read_bytes().startswith(b"\x89PNG")
    report = run_snakemake(changed_run, "--report", "report.html", *TINY, "per_tensor.yaml")
    assert report.returncode == 0, report.stderr[-2000:]
    assert "accuracy_vs_latency.png" in (changed_run / "report.html").read_text(errors="replace")
