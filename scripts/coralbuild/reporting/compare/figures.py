"""One row's figures in both runs, each with how NEW differs in its own unit: the status,
accuracy and agreement, size, latency (with the runs' noise), the Edge TPU mapping (compiled,
else predicted), parameter memory and the compile status."""

import math
from dataclasses import dataclass

from coralbuild.statuses import MEASURED, is_estimated

# Where a row's Edge TPU mapping comes from, as the comparison shows it ("compiled -> predicted"):
# the compiler's output, else the prediction. Names of a source, not row statuses.
FROM_COMPILER = "compiled"
FROM_PREDICTION = "predicted"


@dataclass(frozen=True)
class Figure:
    name: str
    base: object
    new: object
    change: str  # how NEW differs, in the figure's own unit ("" when equal or not comparable)
    within_noise: bool = False  # a latency that moved less than the runs' measured spread (an estimate: its band)
    estimated: bool = False  # a latency estimated without a device, not measured


def row_figures(old, new):
    """Every figure of a row, by name, from its BASE and NEW rows (either None where absent)."""
    figures = [_text("status", old, new, "status")]
    figures += [_points(name, old, new, column) for name, column in (("accuracy", "accuracy"), ("agreement", "agreement"))]
    figures.append(_ratio("size_bytes", _value(old, "size_bytes"), _value(new, "size_bytes"), bytes_diff=True))
    figures.append(_latency(old, new))
    figures.append(_ratio("p99_ms", _measured(old, "p99_ms"), _measured(new, "p99_ms")))
    for name in ("ops_edgetpu", "ops_cpu", "segments"):
        # Counts come back as floats from a column with empty cells.
        base, current = (None if count is None else int(count) for count in (_mapping(row).get(name) for row in (old, new)))
        figures.append(_count(name, base, current, sources=(mapping_source(old), mapping_source(new))))
    figures.append(_ratio("parameters_cached_bytes", _value(old, "onchip_bytes"), _value(new, "onchip_bytes"), bytes_diff=True))
    figures.append(_ratio("parameters_streamed_bytes", _value(old, "offchip_bytes"), _value(new, "offchip_bytes"), bytes_diff=True))
    figures.append(_text("predicted_parameter_memory", old, new, "predicted_parameter_memory"))
    figures.append(_text("compile_status", old, new, "compile_status"))
    return {figure.name: figure for figure in figures}


def _value(row, column):
    if row is None:
        return None
    value = row.get(column)  # None where an older table lacks the column
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _measured(row, column):
    return _value(row, column) if _value(row, "status") == MEASURED else None


def _latency_of(row):
    """A row's median latency: measured, or estimated (an estimated row only ever meets another)."""
    return _value(row, "median_ms") if _value(row, "status") == MEASURED or is_estimated(_value(row, "status")) else None


def _text(name, old, new, column):
    base, current = _value(old, column), _value(new, column)
    return Figure(name, base, current, "changed" if None not in (base, current) and base != current else "")


def _points(name, old, new, column):
    base, current = _measured(old, column), _measured(new, column)
    change = f"{100 * (current - base):+.2f} points" if None not in (base, current) else ""
    return Figure(name, base, current, change)


def _ratio(name, base, new, bytes_diff=False):
    if None in (base, new):
        return Figure(name, base, new, "")
    if base == 0:
        return Figure(name, base, new, "" if new == 0 else f"{new - base:+,.0f} bytes" if bytes_diff else "from 0")
    ratio = new / base
    return Figure(name, base, new, f"{ratio:.2f}x" + (f" ({new - base:+,.0f} bytes)" if bytes_diff and new != base else ""))


def latency_noise(old, new):
    """The latency spread the two runs measured: the larger of their p90 - median (std where a run
    has no p90). A median that moves less than this is not a change the runs can tell apart."""
    spreads = []
    for row in (old, new):
        median, p90, std = _measured(row, "median_ms"), _measured(row, "p90_ms"), _measured(row, "std_ms")
        if median is not None and p90 is not None:
            spreads.append(p90 - median)
        elif std is not None:
            spreads.append(std)
    return max(spreads, default=0.0)


def _latency(old, new):
    base, current = _latency_of(old), _latency_of(new)
    figure = _ratio("median_ms", base, current)
    if None in (base, current):
        return figure
    if is_estimated(_value(new, "status")):
        # An estimate's noise is its band: a NEW estimate inside BASE's band is no change it can tell.
        low, high = _value(old, "estimate_low_ms"), _value(old, "estimate_high_ms")
        within = low is not None and high is not None and low <= current <= high
        change = f"{figure.change} (estimated)" + (f", within the estimate's band {low:.4g}-{high:.4g} ms" if within else "")
        return Figure(figure.name, base, current, change, within_noise=within, estimated=True)
    noise = latency_noise(old, new)
    if abs(current - base) <= noise:
        return Figure(figure.name, base, current, f"{figure.change}, within noise ±{noise:.2g} ms", within_noise=True)
    return figure


def mapping_source(row):
    """Where a row's Edge TPU mapping comes from: the compiler's output, else the prediction."""
    if _value(row, "ops_edgetpu") is not None:
        return FROM_COMPILER
    return FROM_PREDICTION if _value(row, "predicted_ops_edgetpu") is not None else None


def _mapping(row):
    columns = {FROM_COMPILER: ("ops_edgetpu", "ops_cpu", "edgetpu_segments"),
               FROM_PREDICTION: ("predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_segments")}.get(mapping_source(row))
    if columns is None:
        return {}
    return dict(zip(("ops_edgetpu", "ops_cpu", "segments"), (_value(row, column) for column in columns), strict=True))


def _count(name, base, new, sources):
    if None in (base, new):
        return Figure(name, base, new, "")
    change = f"{new - base:+d}" if new != base else ""
    if sources[0] != sources[1]:
        change = f"{change or '+0'} ({sources[0]} -> {sources[1]})"
    return Figure(name, base, new, change)
