"""Per-model facts the final table adds to the measured rows: the compile outcome and the
placement prediction, checked against each other."""

from pathlib import Path

from coralbuild.edgetpu.placement import compare
from coralbuild.reporting.table import compile_record_key, read_compile_record, read_record
from coralbuild.statuses import is_compiled


def compile_facts(report_folder):
    """((dataset, model), facts) from a compile folder (its compile.json names the dataset and model)."""
    folder = Path(report_folder)
    record = read_compile_record(folder)
    log, inspection = record["log"], record["inspection"] or {}
    facts = {"compile_status": record["status"], "compiler_version": log["compiler_version"]}
    if is_compiled(record["status"]):
        # Structure and parameter memory from the compiled file itself.
        facts.update({
            "min_runtime_version": inspection["min_runtime_version"],
            "edgetpu_segments": inspection["edgetpu_segments"],
            "ops_total": inspection["source_ops"],
            "ops_edgetpu": inspection["ops_mapped"],
            "ops_cpu": inspection["ops_cpu"],
            # The compiled file's executables say what is cached and streamed; the printed
            # summary is the fallback for records made before the inspector read them.
            "onchip_bytes": _first_known(inspection.get("onchip_bytes"), log["onchip_used_bytes"]),
            "offchip_bytes": _first_known(inspection.get("offchip_bytes"), log["offchip_bytes"]),
        })
    return compile_record_key(folder), facts


def _first_known(*values):
    return next((value for value in values if value is not None), None)


def prediction_facts(prediction_path, compile_folder=None):
    """((dataset, model), facts) of a placement prediction, checked against the compiled model
    when a compile folder with one is given."""
    key, prediction = read_record(prediction_path)
    facts = {"predicted_ops_edgetpu": prediction["ops_edgetpu"], "predicted_ops_cpu": prediction["ops_cpu"],
             "predicted_ops_uncertain": prediction.get("ops_uncertain_count", 0),
             "predicted_segments": prediction["segments"],
             "predicted_parameter_bytes": prediction.get("parameter_bytes"),
             "predicted_parameter_memory": prediction.get("parameter_memory")}
    record = read_compile_record(compile_folder) if compile_folder else None
    if record is None:
        facts["prediction_check"] = "not compared (no compile)"
    elif not is_compiled(record["status"]):
        facts["prediction_check"] = f"not compared (compile {record['status']})"
    else:
        differences = compare(prediction, record["inspection"])
        facts["prediction_check"] = "differs: " + "; ".join(differences) if differences else "matches the compiler"
    return key, facts
