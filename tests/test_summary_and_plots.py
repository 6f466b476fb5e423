import numpy as np
import pandas as pd
import pytest

from coralbuild.measure.classification import classification_metrics, ranked_classes
from coralbuild.reporting import plots
from coralbuild.reporting.summary import summarize
from coralbuild.reporting.table import COLUMNS


def tidy_table(compiled):
    rows = [
        {"dataset": "mnist", "model": "cnn", "artifact": "float32", "device": "cpu", "status": "measured",
         "size_bytes": 230048, "accuracy": 0.986, "balanced_accuracy": 0.985, "median_ms": 0.03, "p99_ms": 0.07},
        {"dataset": "mnist", "model": "cnn", "artifact": "int8", "device": "cpu", "status": "measured",
         "size_bytes": 62296, "accuracy": 0.987, "balanced_accuracy": 0.984, "median_ms": 0.06, "p99_ms": 0.1},
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
    metrics = {("mnist", "cnn"): {"artifacts": {"keras": {"accuracy": 0.985, "balanced_accuracy": 0.983}},
                                  "dataset_warnings": ["class 7 has 3 test images", "class 9 has 2 test images"]}}
    summary = summarize(tidy_table(compiled=True), metrics)
    row = summary.iloc[0]
    assert (row.keras_accuracy, row.float32_accuracy, row.int8_accuracy) == (0.985, 0.986, 0.987)
    assert (row.keras_balanced_accuracy, row.float32_balanced_accuracy, row.int8_balanced_accuracy) == (0.983, 0.985, 0.984)
    assert row.dataset_warnings == "class 7 has 3 test images; class 9 has 2 test images"
    assert (row.float32_size_bytes, row.int8_size_bytes, row.edgetpu_size_bytes) == (230048, 62296, 70000)
    assert (row.float32_cpu_median_ms, row.int8_cpu_median_ms) == (0.03, 0.06)
    assert row.edgetpu_usb_median_ms == "skipped: no Edge TPU runtime library" and pd.isna(row.edgetpu_accuracy)
    assert row.compile_status == "compiled" and row.ops_edgetpu_of_total == "9/10"


ESTIMATED = {"dataset": "mnist", "model": "cnn", "artifact": "edgetpu", "device": "estimate:usb3_desktop",
             "status": "estimated", "median_ms": 1.5, "estimate_low_ms": 1.2, "estimate_high_ms": 2.0}


@pytest.mark.parametrize("measured_ms", [None, 1.0])
def test_an_estimate_has_its_own_summary_column_and_its_error_where_the_device_was_measured(measured_ms):
    table = tidy_table(compiled=True)
    if measured_ms is not None:  # the Edge TPU measured on a device too
        table.loc[table.device == "usb", ["status", "median_ms"]] = ["measured", measured_ms]
    table = pd.concat([table, pd.DataFrame([ESTIMATED]).reindex(columns=COLUMNS)], ignore_index=True)
    row = summarize(table, {}).iloc[0]
    assert row["edgetpu_estimate:usb3_desktop_estimated_ms"] == "1.5 (1.2-2)"
    assert row.edgetpu_usb_median_ms == (measured_ms if measured_ms else "skipped: no Edge TPU runtime library")
    if measured_ms is None:
        assert "edgetpu_estimate:usb3_desktop_error" not in row
    else:
        assert row["edgetpu_estimate:usb3_desktop_error"] == "+50% against the measured 1 ms"


def test_the_latency_plot_draws_an_estimate_apart_from_measurements(tmp_path):
    table = pd.concat([tidy_table(compiled=False), pd.DataFrame([ESTIMATED]).reindex(columns=COLUMNS)], ignore_index=True)
    with_estimate, without = tmp_path / "with.png", tmp_path / "without.png"
    plots.latency(table, with_estimate)
    plots.latency(tidy_table(compiled=False), without)
    assert with_estimate.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert with_estimate.read_bytes() != without.read_bytes()


def test_plots_are_drawn_with_and_without_compiled_models(tmp_path):
    history = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.9, 0.95], "val_accuracy": [0.92, 0.94],
                            "loss": [0.3, 0.2], "val_loss": [0.25, 0.22]})
    for compiled in (True, False):
        table = tidy_table(compiled)
        drawn = {"latency": lambda path, table=table: plots.latency(table, path),
                 "accuracy_vs_size": lambda path, table=table: plots.accuracy_vs_size(table, path),
                 "training_curves": lambda path: plots.training_curves({"mnist/cnn": history}, path),
                 "edgetpu_ops": lambda path, table=table: plots.edgetpu_ops(table, path)}
        for name, draw in drawn.items():
            path = tmp_path / f"{name}_{compiled}.png"
            draw(path)
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000, name
    # Without a compiled model the ops figure states why instead of drawing empty bars.
    assert (tmp_path / "edgetpu_ops_False.png").read_bytes() != (tmp_path / "edgetpu_ops_True.png").read_bytes()


def test_the_ops_figure_shows_the_prediction_where_nothing_was_compiled(tmp_path):
    predicted_only = tidy_table(compiled=False)
    assert plots._placement_bars(next(predicted_only.itertuples())) == ("mnist/cnn (predicted)", (8, 2, 0), True)
    assert plots._placement_bars(next(tidy_table(compiled=True).itertuples())) == ("mnist/cnn", (9, 1, 0), False)
    nothing = predicted_only.assign(predicted_ops_edgetpu=None, predicted_ops_cpu=None)
    assert plots._placement_bars(next(nothing.itertuples())) is None
    drawn = {}
    for name, table in [("predicted", predicted_only), ("nothing", nothing)]:
        plots.edgetpu_ops(table, tmp_path / f"{name}.png")
        drawn[name] = (tmp_path / f"{name}.png").read_bytes()
    assert drawn["predicted"][:8] == b"\x89PNG\r\n\x1a\n" and drawn["predicted"] != drawn["nothing"]


def test_a_dataset_without_warnings_shows_none():
    summary = summarize(tidy_table(compiled=False), {("mnist", "cnn"): {"artifacts": {}}})
    assert pd.isna(summary.iloc[0].dataset_warnings) and pd.isna(summary.iloc[0].keras_accuracy)


# Three datasets of 10, 5 and 40 classes (short, long and many names), four models each.
DATASETS = {"mnist": [str(digit) for digit in range(10)],
            "flowers": ["daisy", "dandelion", "roses", "sunflowers", "tulips"],
            "birds_of_north_america": [f"species_{index:02d}_{'long' * (index % 3)}" for index in range(40)]}
MODELS = ["cnn", "mlp", "mobilenet_v2_alpha035", "efficientnet_b0_finetuned"]


def model_metrics(classes, seed):
    """metrics.json of a model whose int8 model is a little worse than its float32 one."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(classes), 200)
    artifacts = {}
    for artifact, signal in (("keras", 2.5), ("float32", 2.5), ("int8", 2.0)):
        scores = rng.normal(size=(200, len(classes)))
        scores[np.arange(200), labels] += signal
        artifacts[artifact] = classification_metrics(labels, ranked_classes(scores, min(5, len(classes))), classes)
    return {"classes": classes, "artifacts": artifacts, "dataset_warnings": []}


def many_models():
    """The benchmark table, metrics and histories of 3 datasets x 4 models; every other model
    compiled and measured on the Edge TPU."""
    rows, metrics, histories = [], {}, {}
    for dataset_index, (dataset, classes) in enumerate(DATASETS.items()):
        for index, model in enumerate(MODELS):
            metrics[dataset, model] = model_metrics(classes, 10 * dataset_index + index)
            compiled = index % 2 == 0
            for artifact, device in (("float32", "cpu"), ("int8", "cpu"), ("edgetpu", "usb")):
                measured = artifact != "edgetpu" or compiled
                evaluated = metrics[dataset, model]["artifacts"]["float32" if artifact == "float32" else "int8"]
                rows.append({"dataset": dataset, "model": model, "artifact": artifact, "device": device,
                             "status": "measured" if measured else "skipped: no compiled model",
                             "size_bytes": (4 if artifact == "float32" else 1) * 60000 * (index + 1),
                             "accuracy": evaluated["accuracy"] if measured else None,
                             "median_ms": 0.02 * (index + 1) if measured else None,
                             "p99_ms": 0.05 * (index + 1) if measured else None,
                             "compile_status": "compiled" if compiled else "skipped: no edgetpu_compiler on PATH",
                             "ops_total": 12 if compiled else None, "ops_edgetpu": 11 if compiled else None,
                             "ops_cpu": 1 if compiled else None, "predicted_ops_edgetpu": 10, "predicted_ops_cpu": 2})
            histories[f"{dataset}/{model}"] = pd.DataFrame({"epoch": [1, 2], "accuracy": [0.8, 0.9], "val_accuracy": [0.7, 0.8],
                                                            "loss": [0.6, 0.3], "val_loss": [0.7, 0.4]})
    return pd.DataFrame(rows).reindex(columns=COLUMNS), metrics, histories


def drawn_tick_labels(axis):
    """The tick labels matplotlib draws: those of ticks inside the view (a locator also returns
    ticks beyond it, whose labels are not drawn)."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1)
    return [tick.label1 for tick in axis.get_major_ticks() + axis.get_minor_ticks()
            if low - slack <= tick.get_loc() <= high + slack]


def label_boxes(figure):
    """(text, window extent) of every label drawn: tick labels, axis labels, titles, legends and texts."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    texts = list(figure.texts)
    for axis in figure.axes:
        texts += [*drawn_tick_labels(axis.xaxis), *drawn_tick_labels(axis.yaxis), axis.xaxis.label, axis.yaxis.label,
                  axis.title, *axis.texts, *(axis.get_legend().get_texts() if axis.get_legend() else [])]
    return [(text.get_text(), text.get_window_extent(renderer)) for text in texts
            if text.get_visible() and text.get_text().strip()]


def overlaps(boxes):
    found = []
    for index, (text, box) in enumerate(boxes):
        for other, other_box in boxes[index + 1:]:
            width = min(box.x1, other_box.x1) - max(box.x0, other_box.x0)
            height = min(box.y1, other_box.y1) - max(box.y0, other_box.y0)
            if width > 1 and height > 1:
                found.append((text, other))
    return found


@pytest.fixture
def drawn(monkeypatch):
    """Each figure a plot function makes, laid out as it would be saved: its labels, none written to disk."""
    figures = {}

    def keep(figure, path):
        figure.tight_layout()
        figures[path] = (label_boxes(figure), figure.bbox)
        plots.plt.close(figure)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def test_with_three_datasets_and_four_models_every_label_names_its_model_and_none_overlap(drawn):
    table, metrics, histories = many_models()
    plots.latency(table, "latency")
    plots.accuracy_vs_size(table, "accuracy_vs_size")
    plots.training_curves(histories, "training_curves")
    plots.edgetpu_ops(table, "edgetpu_ops")
    plots.per_class_recall(metrics, "per_class_recall")
    plots.accuracy_vs_latency(table, table.assign(median_ms=table.median_ms * 0.8), "accuracy_vs_latency")
    for dataset in DATASETS:  # one model per dataset: each size of class list
        plots.confusion_matrix(metrics[dataset, "mlp"], dataset, "mlp", f"confusion_{dataset}")
    for name, (boxes, page) in drawn.items():
        assert overlaps(boxes) == [], name
        cut = [text for text, box in boxes if box.x0 < -1 or box.y0 < -1 or box.x1 > page.x1 + 1 or box.y1 > page.y1 + 1]
        assert cut == [], f"{name}: labels outside the figure"
        shown = "\n".join(text for text, _ in boxes)
        named = [f"{dataset}/{model}" for dataset, model in metrics] if not name.startswith("confusion") else \
            [f"{name.removeprefix('confusion_')}/mlp"]
        assert [key for key in named if key not in shown] == [], name


def test_the_overlap_check_finds_labels_that_run_into_each_other(drawn):
    """The check above can fail: the old vertical latency chart of 36 bars, labelled under the axis."""
    table, _, _ = many_models()
    figure, axis = plots.plt.subplots(figsize=(8, 4.5))
    labels = [f"{row.dataset}/{row.model}\n{row.artifact} on {row.device}" for row in table.itertuples()]
    axis.bar(range(len(table)), table.median_ms.fillna(0))
    axis.set_xticks(range(len(table)), labels, fontsize=7)
    plots._save(figure, "old_latency")
    assert overlaps(drawn["old_latency"][0])


def test_the_confusion_matrix_of_a_model_not_evaluated_says_why(drawn):
    metrics = {"classes": ["a", "b"], "artifacts": {"int8": {"accuracy": None, "not_evaluated": "the model has 3 outputs"}}}
    plots.confusion_matrix(metrics, "photos", "misfit", "confusion")
    texts = [text for text, _ in drawn["confusion"][0]]
    assert "Not evaluated: the model has 3 outputs" in texts
    assert "photos/misfit: confusion matrix of the int8 model (test split)" in texts
