"""The final table: one tidy row per dataset x model x artifact x device, with the model's
compile facts repeated on each of its rows."""

import json
from pathlib import Path

MEASUREMENT_COLUMNS = [
    "dataset", "model", "artifact", "device", "status", "size_bytes", "accuracy", "agreement",
    "threads", "warmup", "iterations", "load_ms", "first_invoke_ms", "median_ms", "mean_ms",
    "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms", "throughput_per_s",
]
COMPILE_COLUMNS = [
    "compile_status", "compiler_version", "min_runtime_version", "edgetpu_segments", "ops_total",
    "ops_edgetpu", "ops_cpu", "onchip_bytes", "offchip_bytes",
]
COLUMNS = MEASUREMENT_COLUMNS + COMPILE_COLUMNS


def compile_facts(report_folder):
    """((dataset, model), facts) from a compile folder results/<dataset>/<model>/edgetpu."""
    folder = Path(report_folder)
    record = json.loads((folder / "compile.json").read_text())
    log, inspection = record["log"], record["inspection"] or {}
    facts = {"compile_status": record["status"], "compiler_version": log["compiler_version"]}
    if record["status"] == "compiled":
        # Structure from the compiled file itself; memory only the compiler's log reports.
        facts |= {
            "min_runtime_version": inspection["min_runtime_version"],
            "edgetpu_segments": inspection["edgetpu_segments"],
            "ops_total": inspection["source_ops"],
            "ops_edgetpu": inspection["ops_mapped"],
            "ops_cpu": inspection["ops_cpu"],
            "onchip_bytes": log["onchip_used_bytes"],
            "offchip_bytes": log["offchip_bytes"],
        }
    return (folder.parent.parent.name, folder.parent.name), facts
