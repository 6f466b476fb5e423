import pandas as pd

from coralbuild.reporting import plots
from coralbuild.reporting.summary import summarize
from coralbuild.reporting.table import COLUMNS


def tidy_table(compiled):
    rows = [
        {"dataset": "mnist", "model": "cnn", "artifact": "float32", "device": "cpu", "status": "measured",
         "size_bytes": 230048, "accuracy": 0.986, "median_ms": 0.03, "p99_ms": 0.07},
        {"dataset": "mnist", "model": "cnn", "artifact": "int8", "device": "cpu", "status": "measured",
         "size_bytes": 62296, "accuracy": 0.987, "median_ms": 0.06, "p99_ms": 0.1},
        {"dataset": "mnist", "model": "cnn", "artifact": "edgetpu", "device": "usb",
         "status": "skipped: no Edge TPU runtime library", "size_bytes": 70000 if compiled else None},
    ]
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    table["compile_status"] = "compiled" if compiled else "skipped: no edgetpu_compiler on PATH"
    if compiled:
        table["ops_total"], table["ops_edgetpu"], table["ops_cpu"] = 10, 9, 1
    table["predicted_ops_edgetpu"], table["predicted_ops_cpu"] = 8, 2
    return table


def test_summary_puts_artifacts_side_by_side_and_statuses_where_nothing_was_measured():
    summary = summarize(tidy_table(compiled=True), {("mnist", "cnn"): 0.985})
    row = summary.iloc[0]
    assert (row.keras_accuracy, row.float32_accuracy, row.int8_accuracy) == (0.985, 0.986, 0.987)
    assert (row.float32_size_bytes, row.int8_size_bytes, row.edgetpu_size_bytes) == (230048, 62296, 70000)
    assert (row.float32_cpu_median_ms, row.int8_cpu_median_ms) == (0.03, 0.06)
    assert row.edgetpu_usb_median_ms == "skipped: no Edge TPU runtime library" and pd.isna(row.edgetpu_accuracy)
    assert row.compile_status == "compiled" and row.ops_edgetpu_of_total == "9/10"


def test_plots_are_drawn_with_and_without_compiled_models(tmp_path):
    history = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.9, 0.95], "val_accuracy": [0.92, 0.94],
                            "loss": [0.3, 0.2], "val_loss": [0.25, 0.22]})
    for compiled in (True, False):
        table = tidy_table(compiled)
        drawn = {"latency": lambda path: plots.latency(table, path),
                 "accuracy_vs_size": lambda path: plots.accuracy_vs_size(table, path),
                 "training_curves": lambda path: plots.training_curves({"mnist/cnn": history}, path),
                 "edgetpu_ops": lambda path: plots.edgetpu_ops(table, path)}
        for name, draw in drawn.items():
            path = tmp_path / f"{name}_{compiled}.png"
            draw(path)
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000, name
    # Without a compiled model the ops figure states why instead of drawing empty bars.
    assert (tmp_path / "edgetpu_ops_False.png").read_bytes() != (tmp_path / "edgetpu_ops_True.png").read_bytes()


def test_the_ops_figure_shows_the_prediction_where_nothing_was_compiled(tmp_path):
    predicted_only = tidy_table(compiled=False)
    assert plots._placement_bars(next(predicted_only.itertuples())) == ("mnist/cnn\n(predicted)", (8, 2, 0), True)
    assert plots._placement_bars(next(tidy_table(compiled=True).itertuples())) == ("mnist/cnn", (9, 1, 0), False)
    nothing = predicted_only.assign(predicted_ops_edgetpu=None, predicted_ops_cpu=None)
    assert plots._placement_bars(next(nothing.itertuples())) is None
    drawn = {}
    for name, table in [("predicted", predicted_only), ("nothing", nothing)]:
        plots.edgetpu_ops(table, tmp_path / f"{name}.png")
        drawn[name] = (tmp_path / f"{name}.png").read_bytes()
    assert drawn["predicted"][:8] == b"\x89PNG\r\n\x1a\n" and drawn["predicted"] != drawn["nothing"]
