"""The final table's prediction_check, one model per outcome: the prediction matches the compiled
model, differs from it (with the end-of-run warning), is not compared because the compile failed,
or because nothing was compiled."""

import json

import pandas as pd
import pytest

from conftest import run_script

PREDICTION = {"ops_edgetpu": 10, "ops_cpu": 0, "ops_uncertain_count": 0, "ops_on_cpu": {}, "ops_uncertain": {},
              "segments": 1, "parameter_bytes": 1000, "parameter_memory": "fits"}
LOG = {"compiler_version": "16.0.384591198", "onchip_used_bytes": None, "offchip_bytes": None}
INSPECTION = {"min_runtime_version": 13, "edgetpu_segments": 1, "source_ops": 10, "ops_mapped": 10, "ops_cpu": 0,
              "ops_on_cpu": {}, "onchip_bytes": 1024, "offchip_bytes": 0}
COMPILED = {"status": "compiled", "log": LOG, "inspection": INSPECTION}
OUTCOMES = {
    "matching": (COMPILED, "matches the compiler"),
    "differing": ({**COMPILED, "inspection": {**INSPECTION, "edgetpu_segments": 2, "ops_mapped": 8, "ops_cpu": 2,
                                              "ops_on_cpu": {"HARD_SWISH": 2}}},
                  "differs: ops on the CPU: predicted none, compiled {'HARD_SWISH': 2}; Edge TPU segments: predicted 1, compiled 2"),
    "failing": ({"status": "failed: internal compiler error", "log": LOG, "inspection": None},
                "not compared (compile failed: internal compiler error)"),
    "uncompiled": (None, "not compared (no compile)"),
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    results = tmp_path_factory.mktemp("results") / "results"
    inputs, predictions, compiles = [], [], []
    for model, (record, _) in OUTCOMES.items():
        folder = results / "d" / model
        folder.mkdir(parents=True)
        # Each record names its row, as the workflow's jobs write it.
        (folder / "edgetpu_prediction.json").write_text(json.dumps({"dataset": "d", "model": model, **PREDICTION}))
        predictions.append(folder / "edgetpu_prediction.json")
        pd.DataFrame([{"dataset": "d", "model": model, "artifact": "int8", "device": "cpu", "status": "measured"}]).to_csv(
            folder / "benchmark_cpu.csv", index=False)
        inputs.append(folder / "benchmark_cpu.csv")
        if record is not None:
            (folder / "edgetpu").mkdir()
            (folder / "edgetpu/compile.json").write_text(json.dumps({"dataset": "d", "model": model, **record}))
            compiles.append(folder / "edgetpu")
    output = results / "benchmark.csv"
    result = run_script("collect_benchmark.py", "--inputs", *inputs, "--compile-reports", *compiles,
                        "--predictions", *predictions, "--output", output)
    assert result.returncode == 0, result.stderr
    return pd.read_csv(output).set_index("model"), result.stdout


@pytest.mark.parametrize("model", OUTCOMES)
def test_each_outcome_is_its_own_prediction_check(collected, model):
    table, _ = collected
    assert table.loc[model, "prediction_check"] == OUTCOMES[model][1]


def test_only_a_differing_prediction_is_warned_about_at_the_end_of_the_run(collected):
    _, output = collected
    warnings = [line for line in output.splitlines() if line.startswith("warning:")]
    assert warnings == [f"warning: d/differing: the placement prediction {OUTCOMES['differing'][1]}"]


def test_a_record_that_does_not_name_its_row_is_one_line_naming_the_file(tmp_path):
    """The tables read dataset and model from each record, never from where the file lies: a
    record without them (written by hand, or before records named them) is refused."""
    folder = tmp_path / "results/d/m"
    folder.mkdir(parents=True)
    (folder / "edgetpu_prediction.json").write_text(json.dumps(PREDICTION))
    pd.DataFrame([{"dataset": "d", "model": "m", "artifact": "int8", "device": "cpu", "status": "measured"}]).to_csv(
        folder / "benchmark_cpu.csv", index=False)
    output = tmp_path / "results/benchmark.csv"
    result = run_script("collect_benchmark.py", "--inputs", folder / "benchmark_cpu.csv",
                        "--predictions", folder / "edgetpu_prediction.json", "--output", output)
    assert result.returncode != 0 and not output.exists()
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {folder / 'edgetpu_prediction.json'}: no dataset and model in it (written by hand, or before "
        "records named them: rerun the job that makes it)")
