"""The report's figures (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402


def latency(table, path):
    """Median latency (bar) and p99 (tick) of every measured artifact x device, per model."""
    measured = table[table.status == "measured"]
    figure, axis = plt.subplots(figsize=(8, 4.5))
    labels = [f"{row.dataset}/{row.model}\n{row.artifact} on {row.device}" for row in measured.itertuples()]
    axis.bar(range(len(measured)), measured.median_ms, color="tab:blue", label="median")
    axis.scatter(range(len(measured)), measured.p99_ms, marker="_", s=300, color="tab:red", label="p99")
    axis.set_xticks(range(len(measured)), labels, fontsize=7)
    axis.set_ylabel("latency per invoke, batch 1 (ms)")
    axis.set_title("Latency per artifact and device")
    axis.legend()
    _save(figure, path)


def accuracy_vs_size(table, path):
    measured = table[table.accuracy.notna()].drop_duplicates(["dataset", "model", "artifact"])
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for row in measured.itertuples():
        axis.scatter(row.size_bytes / 1024, 100 * row.accuracy)
        axis.annotate(f"{row.model} {row.artifact}", (row.size_bytes / 1024, 100 * row.accuracy), fontsize=8,
                      xytext=(4, 4), textcoords="offset points")
    axis.set_xscale("log")
    axis.set_xlabel("model file size (KiB, log scale)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Accuracy against size")
    _save(figure, path)


def accuracy_vs_latency(base, new, path, labels=("BASE", "NEW")):
    """Test accuracy against median latency of every measured row of two runs' tables, an arrow
    from each BASE point to its NEW point."""
    figure, axis = plt.subplots(figsize=(8, 5))
    points = []
    for table, label, style in ((base, labels[0], {"facecolors": "none", "edgecolors": "tab:gray"}),
                                (new, labels[1], {"color": "tab:blue"})):
        measured = table[(table.status == "measured") & table.accuracy.notna() & table.median_ms.notna()]
        axis.scatter(measured.median_ms, 100 * measured.accuracy, label=label, **style)
        points.append({(row.dataset, row.model, row.artifact, row.device): (row.median_ms, 100 * row.accuracy)
                       for row in measured.itertuples()})
    for key, (x, y) in points[1].items():
        axis.annotate(f"{key[1]} {key[2]} {key[3]}", (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
        if key in points[0] and points[0][key] != (x, y):
            axis.annotate("", (x, y), xytext=points[0][key], arrowprops={"arrowstyle": "->", "color": "tab:gray"})
    for key, (x, y) in points[0].items():
        if key not in points[1]:
            axis.annotate(f"{key[1]} {key[2]} {key[3]} ({labels[0]} only)", (x, y), fontsize=7, color="tab:gray",
                          xytext=(4, 4), textcoords="offset points")
    axis.set_xscale("log")
    axis.set_xlabel("median latency per invoke, batch 1 (ms, log scale)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("Accuracy against latency, both runs")
    axis.legend()
    _save(figure, path)


def training_curves(histories, path):
    """`histories`: {label: history table with epoch, accuracy, val_accuracy, loss, val_loss}."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for label, history in histories.items():
        for axis, metric in zip(axes, ["accuracy", "loss"]):
            line, = axis.plot(history.epoch, history[metric], marker="o", label=f"{label} train")
            axis.plot(history.epoch, history[f"val_{metric}"], marker="o", linestyle="--",
                      color=line.get_color(), label=f"{label} validation")
            axis.set_xlabel("epoch")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.set_ylabel(metric)
    axes[0].legend(fontsize=7)
    figure.suptitle("Training curves")
    _save(figure, path)


def edgetpu_ops(table, path):
    """Ops the compiler mapped to the Edge TPU against ops left on the CPU, per model; where
    nothing was compiled, the placement prediction instead, hatched and marked as predicted."""
    models = table.drop_duplicates(["dataset", "model"])
    shown = [bars for row in models.itertuples() if (bars := _placement_bars(row)) is not None]
    figure, axis = plt.subplots(figsize=(7, 4))
    if not shown:
        reasons = sorted(set(models.compile_status.fillna("no compile status")))
        axis.text(0.5, 0.5, "No compiled model and no prediction:\n" + "\n".join(reasons), ha="center", va="center",
                  wrap=True, fontsize=9)
        axis.set_axis_off()
    else:
        for position, (label, counts, predicted) in enumerate(shown):
            bottom = 0
            for (name, color), count in zip(PLACEMENTS, counts):
                axis.bar(position, count, bottom=bottom, color=color, hatch="//" if predicted else None,
                         edgecolor="white" if predicted else None, label=name)
                bottom += count
        axis.set_xticks(range(len(shown)), [label for label, _, _ in shown], fontsize=8)
        handles, names = axis.get_legend_handles_labels()
        unique = dict(zip(names, handles))
        axis.legend(unique.values(), unique.keys())
        axis.set_ylabel("ops")
        if any(predicted for _, _, predicted in shown):
            axis.text(0.0, -0.2, "hatched: predicted (not compiled)", transform=axis.transAxes, fontsize=8)
    axis.set_title("Ops on the Edge TPU and on the CPU")
    _save(figure, path)


PLACEMENTS = [("on the Edge TPU", "tab:green"), ("on the CPU", "tab:orange"), ("uncertain", "tab:gray")]


def _placement_bars(row):
    """(label, (edgetpu, cpu, uncertain) counts, predicted?) of one model, or None without data."""
    if _known(getattr(row, "ops_total", None)):
        return f"{row.dataset}/{row.model}", (row.ops_edgetpu, row.ops_cpu, 0), False
    if _known(getattr(row, "predicted_ops_edgetpu", None)):
        uncertain = getattr(row, "predicted_ops_uncertain", 0)
        counts = (row.predicted_ops_edgetpu, row.predicted_ops_cpu, uncertain if _known(uncertain) else 0)
        return f"{row.dataset}/{row.model}\n(predicted)", counts, True
    return None


def _known(value):
    return value is not None and value == value  # NaN (an empty cell) is not equal to itself


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: same bytes every run
    plt.close(figure)
