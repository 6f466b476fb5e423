"""The results tables' columns and how they are written. Also used by the benchmark, which runs
in Coral's Python 3.9 environment: keep this module 3.9-compatible and light."""

import json
from pathlib import Path

from coralbuild.atomic import atomic_output
from coralbuild.errors import BadInput


def add_row_identity(parser):
    """The options naming the results row a job's record belongs to. The workflow gives both,
    and the tables read them from the record, never from where the file lies."""
    parser.add_argument("--record-of", nargs=2, metavar=("DATASET", "MODEL"),
                        help="the dataset and model this record is of (recorded in it)")


def row_identity(args):
    """{"dataset", "model"} of add_row_identity's option, when given."""
    return {"dataset": args.record_of[0], "model": args.record_of[1]} if args.record_of else {}


def record_key(record, path):
    """(dataset, model) a record says it is of; BadInput naming the file when it says none."""
    if "dataset" not in record or "model" not in record:
        raise BadInput(f"{path}: no dataset and model in it (written by hand, or before records named them: "
                       "rerun the job that makes it)")
    return record["dataset"], record["model"]


def read_record(path):
    """(dataset, model) and the JSON record of a job (metrics.json, edgetpu_prediction.json, compile.json)."""
    record = json.loads(Path(path).read_text())
    return record_key(record, path), record


def read_metrics(paths):
    """(dataset, model) -> the evaluation of each metrics.json."""
    return dict(map(read_record, paths))


MEASUREMENT_COLUMNS = [
    "dataset", "model", "artifact", "device", "status", "size_bytes", "accuracy", "balanced_accuracy",
    "map50", "map50_95", "accuracy_note", "agreement", "agreement_reference", "threads", "warmup", "iterations", "load_ms", "first_invoke_ms",
    "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms", "throughput_per_s",
    "device_name", "host_cpu", "python_version", "interpreter", "edgetpu_runtime", "edgetpu_access",
    "estimate_low_ms", "estimate_high_ms", "estimate_basis", "estimate_bound",
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


def compile_record_key(folder):
    """(dataset, model) of a compile folder, from its compile.json."""
    return record_key(read_compile_record(folder), Path(folder) / "compile.json")
