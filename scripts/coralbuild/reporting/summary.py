"""A summary that puts, per model, size, accuracy, balanced accuracy and median latency of each
artifact side by side."""

import pandas as pd

from coralbuild.statuses import MEASURED, is_estimated

ARTIFACT_ORDER = ["keras", "float32", "int8", "edgetpu"]
DETECTION_FIGURES = ("map50", "map50_95")


def summarize(table, metrics):
    """One row per dataset x model from the tidy table; `metrics` maps (dataset, model) to the
    model's metrics.json (the Keras model's figures and the dataset's warnings)."""
    # A detector's mAP columns only in runs that measured one.
    measured_map = any(column in table and table[column].notna().any() for column in DETECTION_FIGURES)
    figures = ("accuracy", "balanced_accuracy") + (DETECTION_FIGURES if measured_map else ())
    rows = []
    for (dataset, model), group in table.groupby(["dataset", "model"], sort=True):
        evaluated = metrics.get((dataset, model), {})
        keras = evaluated.get("artifacts", {}).get("keras", {})
        row = {"dataset": dataset, "model": model, "task": evaluated.get("task"),
               "model_io": describe_model_io(evaluated), "keras_accuracy": keras.get("accuracy"),
               "keras_balanced_accuracy": keras.get("balanced_accuracy")}
        for artifact in ARTIFACT_ORDER[1:]:
            of_artifact = group[group.artifact == artifact]
            if of_artifact.empty:
                continue
            measured = of_artifact[of_artifact.status == MEASURED]
            row[f"{artifact}_size_bytes"] = _first(of_artifact.size_bytes)
            for figure in figures:
                row[f"{artifact}_{figure}"] = _first(measured[figure])
            for device_row in of_artifact.itertuples():
                if is_estimated(device_row.status):  # its own column, never a measured one
                    row.update(estimate_columns(device_row, _first(measured[measured.device != "cpu"].median_ms)))
                    continue
                value = device_row.median_ms if device_row.status == MEASURED else device_row.status
                row[f"{artifact}_{device_row.device}_median_ms"] = value
        compile_row = group.iloc[0]
        row["compile_status"] = compile_row.compile_status
        row["ops_edgetpu_of_total"] = (f"{int(compile_row.ops_edgetpu)}/{int(compile_row.ops_total)}"
                                       if pd.notna(compile_row.ops_edgetpu) else None)
        # The prepare step's warnings about the dataset (say, a class with few test images).
        row["dataset_warnings"] = "; ".join(evaluated.get("dataset_warnings", [])) or None
        rows.append(row)
    return pd.DataFrame(rows)


def estimate_columns(row, measured_ms):
    """An estimated row's cells: `edgetpu_estimate:<setup>_estimated_ms` "4.1 (3.2-5.0)", and, where
    the Edge TPU was measured too, the estimate's error against that measurement."""
    name = f"{row.artifact}_{row.device}"
    cells = {f"{name}_estimated_ms": f"{row.median_ms:.4g} ({row.estimate_low_ms:.4g}-{row.estimate_high_ms:.4g})"}
    if measured_ms is not None and row.artifact == "edgetpu":
        cells[f"{name}_error"] = f"{(row.median_ms - measured_ms) / measured_ms:+.0%} against the measured {measured_ms:.4g} ms"
    return cells


def describe_model_io(evaluated):
    """The int8 model's input and output tensors in one cell, and a detector's head: "in 1x320x320x3
    float32; out 1x12x2100 float32; head ultralytics, 8 classes"."""
    model_io = evaluated.get("model_io")
    if not model_io:
        return None
    parts = [f"{side} " + ", ".join(f"{'x'.join(map(str, tensor['shape']))} {tensor['dtype']}"
                                    for tensor in model_io[f"{side}puts"]) for side in ("in", "out")]
    head = evaluated.get("head")
    if head:
        parts.append(f"head {head['kind']}" + (f", {head['classes']} classes" if head.get("classes") else ""))
    return "; ".join(parts)


def _first(column):
    """The first known value of a column, or None."""
    known = column.dropna()
    return known.iloc[0] if len(known) else None
