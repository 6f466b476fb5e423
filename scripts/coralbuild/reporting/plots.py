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
    """Ops the compiler mapped to the Edge TPU against ops left on the CPU, per model."""
    models = table.drop_duplicates(["dataset", "model"])
    compiled = models[models.ops_total.notna()]
    figure, axis = plt.subplots(figsize=(7, 4))
    if compiled.empty:
        reasons = sorted(set(models.compile_status.fillna("no compile status")))
        axis.text(0.5, 0.5, "No compiled model:\n" + "\n".join(reasons), ha="center", va="center", wrap=True, fontsize=9)
        axis.set_axis_off()
    else:
        labels = [f"{row.dataset}/{row.model}" for row in compiled.itertuples()]
        axis.bar(labels, compiled.ops_edgetpu, label="on the Edge TPU", color="tab:green")
        axis.bar(labels, compiled.ops_cpu, bottom=compiled.ops_edgetpu, label="on the CPU", color="tab:orange")
        axis.set_ylabel("ops")
        axis.legend()
    axis.set_title("Ops on the Edge TPU and on the CPU")
    _save(figure, path)


def _save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: same bytes every run
    plt.close(figure)
