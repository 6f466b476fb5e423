"""The final table: one tidy row per dataset x model x artifact x device, with the model's
compile facts repeated on each of its rows."""

import json
from pathlib import Path

from coralbuild.atomic import atomic_output
from coralbuild.edgetpu_rules import compare

MEASUREMENT_COLUMNS = [
    "dataset", "model", "artifact", "device", "status", "size_bytes", "accuracy", "agreement",
    "agreement_reference", "threads", "warmup", "iterations", "load_ms", "first_invoke_ms",
    "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms", "throughput_per_s",
    "device_name", "host_cpu", "python_version", "interpreter", "edgetpu_runtime", "edgetpu_access",
]
COMPILE_COLUMNS = [
    "compile_status", "compiler_version", "min_runtime_version", "edgetpu_segments", "ops_total",
    "ops_edgetpu", "ops_cpu", "onchip_bytes", "offchip_bytes",
]
PREDICTION_COLUMNS = ["predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_segments", "prediction_check"]
COLUMNS = MEASUREMENT_COLUMNS + COMPILE_COLUMNS + PREDICTION_COLUMNS
COMPILED_MODEL = "model_int8_edgetpu.tflite"
INTEGER_COLUMNS = {"threads", "warmup", "iterations", "min_runtime_version", "edgetpu_segments", "ops_total",
                   "ops_edgetpu", "ops_cpu", "predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_segments"}


def write_table(frame, path):
    """Write a results table atomically; counts and byte sizes stay integers even beside empty
    cells (a skipped row), and other figures keep 6 significant digits."""
    frame = frame.copy()
    for column in frame.columns:
        if column in INTEGER_COLUMNS or column.endswith("_bytes"):
            frame[column] = frame[column].astype("Int64")
    with atomic_output(path) as temporary:
        frame.to_csv(temporary, index=False, float_format="%.6g")


def read_compile_record(folder):
    return json.loads((Path(folder) / "compile.json").read_text())


def model_key(path):
    """(dataset, model) of a file or folder directly in results/<dataset>/<model>/."""
    path = Path(path)
    return path.parent.parent.name, path.parent.name


def compile_facts(report_folder):
    """((dataset, model), facts) from a compile folder results/<dataset>/<model>/edgetpu."""
    folder = Path(report_folder)
    record = read_compile_record(folder)
    log, inspection = record["log"], record["inspection"] or {}
    facts = {"compile_status": record["status"], "compiler_version": log["compiler_version"]}
    if record["status"] == "compiled":
        # Structure from the compiled file itself; memory only the compiler's log reports.
        facts.update({
            "min_runtime_version": inspection["min_runtime_version"],
            "edgetpu_segments": inspection["edgetpu_segments"],
            "ops_total": inspection["source_ops"],
            "ops_edgetpu": inspection["ops_mapped"],
            "ops_cpu": inspection["ops_cpu"],
            "onchip_bytes": log["onchip_used_bytes"],
            "offchip_bytes": log["offchip_bytes"],
        })
    return model_key(folder), facts


def prediction_facts(prediction_path, compile_folder=None):
    """((dataset, model), facts) of a placement prediction, checked against the compiled model
    when a compile folder with one is given."""
    prediction = json.loads(Path(prediction_path).read_text())
    facts = {"predicted_ops_edgetpu": prediction["ops_edgetpu"], "predicted_ops_cpu": prediction["ops_cpu"],
             "predicted_segments": prediction["segments"]}
    record = read_compile_record(compile_folder) if compile_folder else None
    if record is None:
        facts["prediction_check"] = "not compared (no compile)"
    elif record["status"] != "compiled":
        facts["prediction_check"] = f"not compared (compile {record['status']})"
    else:
        differences = compare(prediction, record["inspection"])
        facts["prediction_check"] = "differs: " + "; ".join(differences) if differences else "matches the compiler"
    return model_key(prediction_path), facts
