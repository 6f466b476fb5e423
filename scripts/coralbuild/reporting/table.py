"""The results tables' columns and how they are written. Also used by the benchmark, which runs
in Coral's Python 3.9 environment: keep this module 3.9-compatible and light."""

import json
from pathlib import Path

from coralbuild.atomic import atomic_output


def model_key(path):
    """(dataset, model) of a file or folder directly in results/<dataset>/<model>/."""
    path = Path(path)
    return path.parent.parent.name, path.parent.name


def read_metrics(paths):
    """(dataset, model) -> the evaluation of each results/<dataset>/<model>/metrics.json."""
    return {model_key(path): json.loads(Path(path).read_text()) for path in paths}


MEASUREMENT_COLUMNS = [
    "dataset", "model", "artifact", "device", "status", "size_bytes", "accuracy", "balanced_accuracy", "agreement",
    "agreement_reference", "threads", "warmup", "iterations", "load_ms", "first_invoke_ms",
    "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms", "throughput_per_s",
    "device_name", "host_cpu", "python_version", "interpreter", "edgetpu_runtime", "edgetpu_access",
]
COMPILE_COLUMNS = [
    "compile_status", "compiler_version", "min_runtime_version", "edgetpu_segments", "ops_total",
    "ops_edgetpu", "ops_cpu", "onchip_bytes", "offchip_bytes",
]
PREDICTION_COLUMNS = ["predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_ops_uncertain", "predicted_segments",
                      "predicted_parameter_bytes", "predicted_parameter_memory", "prediction_check"]
COLUMNS = MEASUREMENT_COLUMNS + COMPILE_COLUMNS + PREDICTION_COLUMNS
INTEGER_COLUMNS = {"threads", "warmup", "iterations", "min_runtime_version", "edgetpu_segments", "ops_total",
                   "ops_edgetpu", "ops_cpu", "predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_ops_uncertain",
                   "predicted_segments"}


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
