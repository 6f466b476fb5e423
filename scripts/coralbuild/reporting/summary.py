"""A summary that puts, per model, size, accuracy and median latency of each artifact side by side."""

import pandas as pd

ARTIFACT_ORDER = ["keras", "float32", "int8", "edgetpu"]


def summarize(table, keras_accuracy):
    """One row per dataset x model from the tidy table; `keras_accuracy` maps (dataset, model)."""
    rows = []
    for (dataset, model), group in table.groupby(["dataset", "model"], sort=True):
        row = {"dataset": dataset, "model": model, "keras_accuracy": keras_accuracy.get((dataset, model))}
        for artifact in ARTIFACT_ORDER[1:]:
            of_artifact = group[group.artifact == artifact]
            if of_artifact.empty:
                continue
            measured = of_artifact[of_artifact.status == "measured"]
            row[f"{artifact}_size_bytes"] = of_artifact.size_bytes.dropna().iloc[0] if of_artifact.size_bytes.notna().any() else None
            row[f"{artifact}_accuracy"] = measured.accuracy.dropna().iloc[0] if measured.accuracy.notna().any() else None
            for device_row in of_artifact.itertuples():
                value = device_row.median_ms if device_row.status == "measured" else device_row.status
                row[f"{artifact}_{device_row.device}_median_ms"] = value
        compile_row = group.iloc[0]
        row["compile_status"] = compile_row.compile_status
        row["ops_edgetpu_of_total"] = (f"{int(compile_row.ops_edgetpu)}/{int(compile_row.ops_total)}"
                                       if pd.notna(compile_row.ops_edgetpu) else None)
        rows.append(row)
    return pd.DataFrame(rows)
