"""The gate for CI: thresholds (from the options or a YAML file) and one line per threshold a
row of the comparison breaks."""

import reprlib
from dataclasses import dataclass, fields

from coralbuild.errors import BadInput
from coralbuild.reporting.compare.rows import row_name
from coralbuild.statuses import MEASURED
from coralbuild.yaml_input import read_yaml


@dataclass(frozen=True)
class Thresholds:
    max_accuracy_drop: float | None = None  # percentage points of test accuracy
    max_latency_ratio: float | None = None  # NEW median / BASE median, beyond the runs' noise
    max_size_ratio: float | None = None  # NEW bytes / BASE bytes
    no_new_cpu_ops: bool = False  # no model may leave more ops on the CPU
    require_measured: bool = False  # every row BASE measured, NEW measured too

    def given(self):
        return [field.name for field in fields(self) if getattr(self, field.name) not in (None, False)]


def read_thresholds(path):
    """Thresholds from a YAML file whose keys are Thresholds' fields (the options' names with _)."""
    settings = read_yaml(path) or {}
    if not isinstance(settings, dict):
        raise BadInput(f"{path}: expected a mapping of thresholds, found {type(settings).__name__}")
    known = {field.name: field for field in fields(Thresholds)}
    for key, value in settings.items():
        if key not in known:
            raise BadInput(f"{path}: unknown threshold {key!r} (known: {', '.join(known)})")
        flag = isinstance(known[key].default, bool)
        valid = isinstance(value, bool) if flag else isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if not valid:
            # reprlib: a value an alias bomb expanded is shown cut short, not walked whole.
            raise BadInput(f"{path}: {key} must be {'true or false' if flag else 'a number >= 0'}, got {reprlib.repr(value)}")
    return settings


def violations(rows, thresholds, base_label="BASE", new_label="NEW"):
    """One line per threshold a row breaks."""
    found = []
    for row in rows:
        name = row_name(row)
        figures = row["figures"]
        if thresholds.require_measured and figures["status"].base == MEASURED and figures["status"].new != MEASURED:
            now = "missing" if row["presence"] != "both" else figures["status"].new
            found.append(f"{name}: measured in {base_label}, {now} in {new_label} (--require-measured)")
        if row["presence"] != "both":
            continue
        accuracy = figures["accuracy"]
        if thresholds.max_accuracy_drop is not None and None not in (accuracy.base, accuracy.new):
            drop = 100 * (accuracy.base - accuracy.new)
            if drop > thresholds.max_accuracy_drop:
                found.append(f"{name}: accuracy {100 * accuracy.base:.2f}% -> {100 * accuracy.new:.2f}% "
                             f"(-{drop:.2f} points > --max-accuracy-drop {thresholds.max_accuracy_drop:g})")
        size = figures["size_bytes"]
        if (thresholds.max_size_ratio is not None and None not in (size.base, size.new) and size.base > 0
                and size.new / size.base > thresholds.max_size_ratio):
            found.append(f"{name}: size {size.base:,.0f} -> {size.new:,.0f} bytes ({size.new / size.base:.2f}x > "
                         f"--max-size-ratio {thresholds.max_size_ratio:g})")
        latency = figures["median_ms"]
        if thresholds.max_latency_ratio is not None and None not in (latency.base, latency.new) and latency.base > 0:
            ratio = latency.new / latency.base
            if ratio > thresholds.max_latency_ratio and not latency.within_noise:
                what, beyond = ("estimated", "beyond the estimate's band") if latency.estimated else ("", "beyond the runs' noise")
                found.append(f"{name}: {what + ' ' if what else ''}median latency {latency.base:.4g} -> {latency.new:.4g} ms "
                             f"({ratio:.2f}x > --max-latency-ratio {thresholds.max_latency_ratio:g}, {beyond})")
    if thresholds.no_new_cpu_ops:
        found += _new_cpu_ops(rows)
    return found


def _new_cpu_ops(rows):
    """Models that leave more ops on the CPU than before (one line per model, not per row)."""
    found, seen = [], set()
    for row in rows:
        model = (row["dataset"], row["model"])
        cpu_ops = row["figures"]["ops_cpu"]
        if row["presence"] != "both" or model in seen or None in (cpu_ops.base, cpu_ops.new):
            continue
        seen.add(model)
        if cpu_ops.new > cpu_ops.base:
            found.append(f"{model[0]}/{model[1]}: {cpu_ops.base} -> {cpu_ops.new} ops on the CPU ({cpu_ops.change}; "
                         "--no-new-cpu-ops)")
    return found
