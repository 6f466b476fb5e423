"""The report's figures (matplotlib, no display needed).

Every figure names the dataset and the model of what it shows ("dataset/model"), and grows with
what it shows (rows, models, classes) so that no two labels overlap: bar charts of many rows are
horizontal, one labelled row per bar; points are told apart by colour (dataset/model) and marker
(artifact) in a legend beside the axes instead of labels next to each point."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from coralbuild.statuses import ESTIMATED, MEASURED  # noqa: E402

ROW_INCHES = 0.28  # height of one labelled bar in the horizontal bar charts
MARKERS = {"keras": "*", "float32": "o", "int8": "s", "edgetpu": "^"}


def latency(table, path):
    """Median latency (bar) and p99 (tick) of every measured artifact x device, per model; estimated
    Edge TPU latencies drawn apart (hatched, grey, their band as a range), never as measured."""
    measured = table[table.status == MEASURED]
    estimated = table[table.status == ESTIMATED]
    shown = pd.concat([measured, estimated])
    figure, axis = plt.subplots(figsize=(11, _bar_chart_height(len(shown))))
    if shown.empty:
        _say(axis, "No row was measured:\n" + "\n".join(sorted(set(table.status.fillna("no status")))))
    else:
        positions = np.arange(len(shown))[::-1]  # the table's first row on top
        labels = [f"{row.dataset}/{row.model}  {row.artifact} on {row.device}" for row in measured.itertuples()]
        labels += [f"{row.dataset}/{row.model}  {row.artifact} ESTIMATED for {row.device.split(':', 1)[1]}"
                   for row in estimated.itertuples()]
        ours, theirs = positions[:len(measured)], positions[len(measured):]
        axis.barh(ours, measured.median_ms, color="tab:blue", label="median")
        axis.scatter(measured.p99_ms, ours, marker="|", s=150, color="tab:red", label="p99", zorder=3)
        if len(estimated):
            axis.barh(theirs, estimated.median_ms, color="lightgrey", hatch="//", edgecolor="dimgrey",
                      label="estimated (no device)")
            axis.errorbar(estimated.median_ms, theirs, fmt="none", ecolor="black", capsize=3, label="estimate's band",
                          xerr=[estimated.median_ms - estimated.estimate_low_ms, estimated.estimate_high_ms - estimated.median_ms])
        axis.set_yticks(positions, labels, fontsize=8)
        axis.set_ylim(-0.7, len(shown) - 0.3)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=6))
        axis.set_xlabel("latency per invoke, batch 1 (ms)")
        _legend_beside(axis, axis.get_legend_handles_labels()[0])
    axis.set_title("Latency per dataset/model, artifact and device")
    _save(figure, path)


def accuracy_vs_size(table, path):
    """Test accuracy against file size of every artifact with a measured accuracy: one colour per
    dataset/model, one marker per artifact."""
    measured = table[table.accuracy.notna()].drop_duplicates(["dataset", "model", "artifact"])
    figure, axis = plt.subplots(figsize=(9, 5))
    if measured.empty:
        _say(axis, "No artifact has a measured accuracy")
    else:
        colours = _model_colours(measured)
        for row in measured.itertuples():
            axis.scatter(row.size_bytes / 1024, 100 * row.accuracy, color=colours[row.dataset, row.model],
                         marker=MARKERS.get(row.artifact, "x"), s=45, edgecolors="black", linewidths=0.4)
        _log_x(axis)
        axis.set_xlabel("model file size (KiB, log scale)")
        axis.set_ylabel("test accuracy (%)")
        _legend_beside(axis, _model_handles(colours) + _artifact_handles(measured.artifact))
    axis.set_title("Accuracy against size, per dataset/model and artifact")
    _save(figure, path)


def accuracy_vs_latency(base, new, path, labels=("BASE", "NEW")):
    """Test accuracy against median latency of every measured row of two runs' tables: colour per
    dataset/model, marker per artifact, the BASE run hollow and the NEW one filled, an arrow from
    each BASE point to its NEW point."""
    figure, axis = plt.subplots(figsize=(10, 5.5))
    points = []
    for table in (base, new):
        measured = table[(table.status == MEASURED) & table.accuracy.notna() & table.median_ms.notna()]
        points.append({(row.dataset, row.model, row.artifact, row.device): (row.median_ms, 100 * row.accuracy)
                       for row in measured.itertuples()})
    keys = sorted(set(points[0]) | set(points[1]))
    if not keys:
        _say(axis, f"Neither {labels[0]} nor {labels[1]} has a measured row with an accuracy")
    else:
        colours = _model_colours_of({key[:2] for key in keys})
        for run, filled in ((0, False), (1, True)):
            for key, (x, y) in points[run].items():
                colour = colours[key[:2]]
                axis.scatter(x, y, marker=MARKERS.get(key[2], "x"), s=50, linewidths=1.2,
                             facecolors=colour if filled else "none", edgecolors=colour if not filled else "black")
        for key, new_point in points[1].items():
            if key in points[0] and points[0][key] != new_point:
                axis.annotate("", new_point, xytext=points[0][key], arrowprops={"arrowstyle": "->", "color": "tab:gray"})
        runs = [Line2D([], [], linestyle="", marker="o", markerfacecolor="none", markeredgecolor="black",
                       label=f"{labels[0]} (hollow)"),
                Line2D([], [], linestyle="", marker="o", color="black", label=f"{labels[1]} (filled)")]
        artifacts = _artifact_handles(sorted({key[2] for key in keys}))
        _legend_beside(axis, _model_handles(colours) + artifacts + runs)
        _log_x(axis)
        axis.set_xlabel("median latency per invoke, batch 1 (ms, log scale)")
        axis.set_ylabel("test accuracy (%)")
    axis.set_title(f"Accuracy against latency per dataset/model, {labels[0]} and {labels[1]}")
    _save(figure, path)


def training_curves(histories, path):
    """`histories`: {"dataset/model": history table with epoch, accuracy, val_accuracy, loss,
    val_loss}. One colour per dataset/model; training solid, validation dashed."""
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colours = _model_colours_of(histories)
    for label, history in histories.items():
        for axis, metric in zip(axes, ["accuracy", "loss"], strict=True):
            axis.plot(history.epoch, history[metric], marker="o", markersize=3, color=colours[label])
            axis.plot(history.epoch, history[f"val_{metric}"], marker="o", markersize=3, linestyle="--",
                      color=colours[label])
    for axis, metric in zip(axes, ["accuracy", "loss"], strict=True):
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(metric)
        axis.set_title(f"{metric} per epoch")
    if histories:
        styles = [Line2D([], [], color="black", label="training"),
                  Line2D([], [], color="black", linestyle="--", label="validation")]
        _legend_beside(axes[1], _model_handles(colours) + styles)
    else:
        _say(axes[0], "No model was trained in this run")
    figure.suptitle("Training curves per dataset/model")
    _save(figure, path)


def edgetpu_ops(table, path):
    """Ops the compiler mapped to the Edge TPU against ops left on the CPU, per model; where
    nothing was compiled, the placement prediction instead, hatched and marked as predicted."""
    models = table.drop_duplicates(["dataset", "model"])
    shown = [bars for row in models.itertuples() if (bars := _placement_bars(row)) is not None]
    figure, axis = plt.subplots(figsize=(11, _bar_chart_height(len(shown))))
    if not shown:
        reasons = sorted(set(models.compile_status.fillna("no compile status")))
        _say(axis, "No compiled model and no prediction:\n" + "\n".join(reasons))
    else:
        positions = np.arange(len(shown))[::-1]
        for position, (_label, counts, predicted) in zip(positions, shown, strict=True):
            left = 0
            for (name, color), count in zip(PLACEMENTS, counts, strict=True):
                if count:
                    axis.barh(position, count, left=left, color=color, hatch="//" if predicted else None,
                              edgecolor="white" if predicted else None, label=name)
                left += count
        axis.set_yticks(positions, [label for label, _, _ in shown], fontsize=8)
        axis.set_ylim(-0.7, len(shown) - 0.3)
        first = {}  # one legend entry per placement: the first model's bar
        for handle, name in zip(*axis.get_legend_handles_labels(), strict=True):
            first.setdefault(name, handle)
        _legend_beside(axis, list(first.values()))
        axis.set_xlabel("ops" + (" (hatched: predicted, not compiled)" if any(p for _, _, p in shown) else ""))
    axis.set_title("Ops on the Edge TPU and on the CPU per dataset/model")
    _save(figure, path)


PLACEMENTS = [("on the Edge TPU", "tab:green"), ("on the CPU", "tab:orange"), ("uncertain", "tab:gray")]


def _placement_bars(row):
    """(label, (edgetpu, cpu, uncertain) counts, predicted?) of one model, or None without data."""
    if _known(getattr(row, "ops_total", None)):
        return f"{row.dataset}/{row.model}", (row.ops_edgetpu, row.ops_cpu, 0), False
    if _known(getattr(row, "predicted_ops_edgetpu", None)):
        uncertain = getattr(row, "predicted_ops_uncertain", 0)
        counts = (row.predicted_ops_edgetpu, row.predicted_ops_cpu, uncertain if _known(uncertain) else 0)
        return f"{row.dataset}/{row.model} (predicted)", counts, True
    return None


def confusion_matrix(metrics, dataset, model, path, artifact="int8"):
    """The confusion matrix of one model's `artifact` from its metrics.json: each row (true class)
    shaded by its share of the class's test images, with the counts written in the cells while
    they fit."""
    evaluated = metrics["artifacts"].get(artifact, {})
    classes = metrics["classes"]
    side = min(24.0, max(5.5, 0.32 * len(classes) + 3))
    figure, axis = plt.subplots(figsize=(side + 1.2, side))
    title = f"{dataset}/{model}: confusion matrix of the {artifact} model (test split)"
    if "confusion_matrix" not in evaluated:
        _say(axis, f"Not evaluated: {evaluated.get('not_evaluated', f'no {artifact} model')}")
    else:
        counts = np.asarray(evaluated["confusion_matrix"], dtype=np.int64)
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
        figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label="share of the true class's test images")
        if len(classes) <= 20:
            for (true, predicted), count in np.ndenumerate(counts):
                if count:
                    axis.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                              color="white" if shares[true, predicted] > 0.5 else "black")
        _class_ticks(axis, classes, (side - 2.5) / len(classes))
        axis.set_xlabel("predicted class")
        axis.set_ylabel("true class")
        title += f", {int(counts.sum())} images, accuracy {100 * evaluated['accuracy']:.2f}%"
    axis.set_title(title, fontsize=10, wrap=True)
    _save(figure, path)


def per_class_recall(metrics, path, artifact="int8", reference="float32"):
    """Per class, the recall of every model's `artifact` (bars), and of its `reference` (a black
    tick), so that a class the conversion hurt shows as a bar below its tick. `metrics`:
    {(dataset, model): metrics.json}. One panel per dataset (their classes differ)."""
    datasets = sorted({dataset for dataset, _ in metrics})
    # Each class takes a bar per model and a bar's width of space; the widest dataset sets the width.
    bars = max([len(metrics[key]["classes"]) * (_models_of(metrics, key[0]) + 1) for key in metrics] or [1])
    width = min(40.0, max(9.0, 0.07 * bars + 4))
    figure, axes = plt.subplots(len(datasets) or 1, 1, figsize=(width, 3.8 * max(len(datasets), 1)), squeeze=False)
    if not datasets:
        _say(axes[0, 0], "No model was scored on a dataset's classes")
    for axis, dataset in zip(axes[: len(datasets), 0], datasets, strict=True):
        models = sorted(model for name, model in metrics if name == dataset)
        classes = metrics[dataset, models[0]]["classes"]
        bar = 0.8 / len(models)
        colours = _model_colours_of([(dataset, model) for model in models])
        for number, model in enumerate(models):
            figures = metrics[dataset, model]["artifacts"]
            positions = np.arange(len(classes)) - 0.4 + bar * (number + 0.5)
            label = f"{dataset}/{model} {artifact}"
            recall = _recalls(figures.get(artifact), classes)
            if recall is None:
                label += " (not evaluated, see its confusion matrix)"
                recall = [np.nan] * len(classes)
            axis.bar(positions, 100 * np.asarray(recall, dtype=float), width=bar, color=colours[dataset, model],
                     label=label)
            before = _recalls(figures.get(reference), classes)
            if before is not None:
                first_tick = f"{reference} recall" not in axis.get_legend_handles_labels()[1]
                axis.scatter(positions, 100 * np.asarray(before, dtype=float), marker="_", color="black",
                             s=max(20, 300 * bar), zorder=3, label=f"{reference} recall" if first_tick else None)
        axis.set_xlim(-0.6, len(classes) - 0.4)
        axis.set_ylim(0, 105)
        _class_ticks(axis, classes, (width - 4) / len(classes), y=False)
        axis.set_xlabel(f"class of {dataset}")
        axis.set_ylabel("recall (%)")
        axis.set_title(f"{dataset}: per-class recall on the test split, {artifact} models "
                       f"(black tick: {reference} model)", fontsize=10)
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
    _save(figure, path)


def _recalls(figures, classes):
    """The per-class recalls of one artifact's metrics (None where a class has no test images), or
    None when the artifact was not evaluated."""
    if not figures or "per_class" not in figures:
        return None
    return [figures["per_class"][name]["recall"] if figures["per_class"][name]["recall"] is not None else np.nan
            for name in classes]


def _models_of(metrics, dataset):
    return sum(1 for name, _ in metrics if name == dataset)


def _class_ticks(axis, classes, inches_per_class, y=True):
    """Class names on the x axis (and the y axis): every one while they fit (at most 60), else
    every n-th; turned upright when a name is wider than the space of its class."""
    step = max(1, math.ceil(len(classes) / 60))
    positions = list(range(0, len(classes), step))
    names = [classes[index] for index in positions]
    fontsize = 7 if len(classes) > 30 else 8
    widest = max(len(name) for name in names) * 0.62 * fontsize / 72  # inches, at about 0.62 em a character
    upright = widest > 0.9 * inches_per_class * step
    axis.set_xticks(positions, names, rotation=90 if upright else 0, fontsize=fontsize)
    if y:
        axis.set_yticks(positions, names, fontsize=fontsize)


def _log_x(axis):
    """A log x axis labelled 1, 2, 5 per decade in plain numbers: by default every minor tick of
    a range under a decade is labelled, in exponent form, and the labels run into each other."""
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 5)))
    axis.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    axis.xaxis.set_minor_formatter(NullFormatter())


def _model_colours(table):
    return _model_colours_of(zip(table.dataset, table.model, strict=True))


def _model_colours_of(models):
    """A colour per model key ((dataset, model) or "dataset/model"), in sorted order; 20 distinct
    colours, then they repeat."""
    models = sorted(set(models))
    palette = plt.get_cmap("tab20" if len(models) > 10 else "tab10").colors
    return {key: palette[index % len(palette)] for index, key in enumerate(models)}


def _model_handles(colours):
    return [Line2D([], [], linestyle="", marker="o", color=colour,
                   label=key if isinstance(key, str) else "/".join(key)) for key, colour in colours.items()]


def _artifact_handles(artifacts):
    return [Line2D([], [], linestyle="", marker=MARKERS.get(artifact, "x"), color="gray", markeredgecolor="black",
                   label=artifact) for artifact in sorted(set(artifacts), key=_artifact_order)]


def _artifact_order(artifact):
    return list(MARKERS).index(artifact) if artifact in MARKERS else len(MARKERS)


def _legend_beside(axis, handles):
    axis.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)


def _bar_chart_height(rows):
    return max(3.0, ROW_INCHES * rows + 1.5)


def _say(axis, text):
    """A figure with nothing to draw states why instead of empty axes."""
    axis.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9, transform=axis.transAxes)
    axis.set_axis_off()


def _known(value):
    return value is not None and value == value  # NaN (an empty cell) is not equal to itself


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: same bytes every run
    plt.close(figure)
