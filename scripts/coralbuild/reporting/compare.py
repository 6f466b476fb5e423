"""Two runs side by side: every figure of every benchmark row with its change, why it changed
(from the runs' manifests), and a gate of thresholds for CI."""

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import pandas as pd
import yaml
from tabulate import tabulate

from coralbuild.errors import BadInput
from coralbuild.reporting.manifest import by_path, changed_upstream
from coralbuild.reporting.table import COMPILED_MODEL, benchmark_table_candidates
from coralbuild.stages import STAGES

KEY = ["dataset", "model", "artifact", "device"]
# Columns of benchmark.csv the comparison reads; a table without them comes from another version.
REQUIRED_COLUMNS = KEY + [
    "status", "size_bytes", "accuracy", "agreement", "median_ms", "p90_ms", "p99_ms", "std_ms", "compile_status",
    "ops_edgetpu", "ops_cpu", "edgetpu_segments", "onchip_bytes", "offchip_bytes", "predicted_ops_edgetpu",
    "predicted_ops_cpu", "predicted_segments", "predicted_parameter_bytes", "predicted_parameter_memory",
]
MEASURED = "measured"


@dataclass(frozen=True)
class Run:
    label: str  # "BASE" or "NEW"
    table_path: Path
    table: pd.DataFrame
    manifest: dict | None  # None where the run has no manifest.json


def load_run(path, label):
    """A run from a results folder (or the project folder holding `results/`) or its benchmark.csv."""
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder ({label})")
    table_path = path if path.is_file() else next(
        (candidate for candidate in benchmark_table_candidates(path) if candidate.is_file()), None)
    if table_path is None:
        raise BadInput(f"{path}: not a results folder ({label}): no benchmark.csv in it or in its results/")
    try:
        table = pd.read_csv(table_path)
    except (ValueError, OSError) as error:  # not a CSV, empty, unreadable
        raise BadInput(f"{table_path}: not a readable benchmark table ({label}: {error})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise BadInput(f"{table_path}: not a benchmark table of this workflow's version ({label}): "
                       f"no column {', '.join(missing)}")
    duplicated = table[table.duplicated(KEY)]
    if not duplicated.empty:
        row = duplicated.iloc[0]
        raise BadInput(f"{table_path}: row {'/'.join(str(row[key]) for key in KEY)} appears twice ({label})")
    return Run(label, table_path, table, _read_manifest(table_path.parent / "manifest.json", label))


def _read_manifest(path, label):
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except ValueError as error:
        raise BadInput(f"{path}: not a manifest of this workflow ({label}: {error})") from None
    if not isinstance(manifest, dict) or "artifacts" not in manifest:  # the one key the comparison needs
        raise BadInput(f"{path}: not a manifest of this workflow ({label}: no artifacts)")
    return manifest


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
    try:
        settings = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise BadInput(f"{path}: not a readable YAML file ({error})") from None
    if not isinstance(settings, dict):
        raise BadInput(f"{path}: expected a mapping of thresholds, found {type(settings).__name__}")
    known = {field.name: field for field in fields(Thresholds)}
    for key, value in settings.items():
        if key not in known:
            raise BadInput(f"{path}: unknown threshold {key!r} (known: {', '.join(known)})")
        flag = isinstance(known[key].default, bool)
        valid = isinstance(value, bool) if flag else isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        if not valid:
            raise BadInput(f"{path}: {key} must be {'true or false' if flag else 'a number >= 0'}, got {value!r}")
    return settings


@dataclass(frozen=True)
class Figure:
    name: str
    base: object
    new: object
    change: str  # how NEW differs, in the figure's own unit ("" when equal or not comparable)
    within_noise: bool = False  # a latency that moved less than the runs' measured spread


def compare_runs(base, new):
    """One row per dataset x model x artifact x device present in either run."""
    keyed = {run.label: {tuple(row[key] for key in KEY): row for _, row in run.table.iterrows()} for run in (base, new)}
    keys = sorted(set(keyed[base.label]) | set(keyed[new.label]), key=lambda key: tuple(map(str, key)))
    why = _Provenance(base, new)
    rows = []
    for key in keys:
        old, current = keyed[base.label].get(key), keyed[new.label].get(key)
        presence = "both" if old is not None and current is not None else f"only in {base.label if current is None else new.label}"
        sources = [_source(row) for row in (old, current) if row is not None]
        mapping = " -> ".join(dict.fromkeys(source or "-" for source in sources))  # one name when the same
        rows.append({**dict(zip(KEY, key)), "presence": presence, "figures": _figures(old, current), "mapping": mapping,
                     "why": why.of_row(*key) if presence == "both" else None})
    return rows


def _value(row, column):
    if row is None:
        return None
    value = row[column]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _figures(old, new):
    figures = [_text("status", old, new, "status")]
    figures += [_points(name, old, new, column) for name, column in (("accuracy", "accuracy"), ("agreement", "agreement"))]
    figures.append(_ratio("size_bytes", _value(old, "size_bytes"), _value(new, "size_bytes"), bytes_diff=True))
    figures.append(_latency(old, new))
    figures.append(_ratio("p99_ms", _measured(old, "p99_ms"), _measured(new, "p99_ms")))
    for name in ("ops_edgetpu", "ops_cpu", "segments"):
        # Counts come back as floats from a column with empty cells.
        base, current = (None if count is None else int(count) for count in (_mapping(row).get(name) for row in (old, new)))
        figures.append(_count(name, base, current, sources=(_source(old), _source(new))))
    figures.append(_ratio("parameters_cached_bytes", _value(old, "onchip_bytes"), _value(new, "onchip_bytes"), bytes_diff=True))
    figures.append(_ratio("parameters_streamed_bytes", _value(old, "offchip_bytes"), _value(new, "offchip_bytes"), bytes_diff=True))
    figures.append(_text("predicted_parameter_memory", old, new, "predicted_parameter_memory"))
    figures.append(_text("compile_status", old, new, "compile_status"))
    return {figure.name: figure for figure in figures}


def _measured(row, column):
    return _value(row, column) if _value(row, "status") == MEASURED else None


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
    base, current = _measured(old, "median_ms"), _measured(new, "median_ms")
    figure = _ratio("median_ms", base, current)
    if None in (base, current):
        return figure
    noise = latency_noise(old, new)
    if abs(current - base) <= noise:
        return Figure(figure.name, base, current, f"{figure.change}, within noise ±{noise:.2g} ms", within_noise=True)
    return figure


def _source(row):
    """Where a row's Edge TPU mapping comes from: the compiler's output, else the prediction."""
    if _value(row, "ops_edgetpu") is not None:
        return "compiled"
    return "predicted" if _value(row, "predicted_ops_edgetpu") is not None else None


def _mapping(row):
    columns = {"compiled": ("ops_edgetpu", "ops_cpu", "edgetpu_segments"),
               "predicted": ("predicted_ops_edgetpu", "predicted_ops_cpu", "predicted_segments")}.get(_source(row))
    if columns is None:
        return {}
    return dict(zip(("ops_edgetpu", "ops_cpu", "segments"), (_value(row, column) for column in columns)))


def _count(name, base, new, sources):
    if None in (base, new):
        return Figure(name, base, new, "")
    change = f"{new - base:+d}" if new != base else ""
    if sources[0] != sources[1]:
        change = f"{change or '+0'} ({sources[0]} -> {sources[1]})"
    return Figure(name, base, new, change)


class _Provenance:
    """Why a row changed, from the two runs' manifests: what differs on the way to its benchmark
    file (config sections, code digests), and which artifacts' bytes differ."""

    def __init__(self, base, new):
        self.available = base.manifest is not None and new.manifest is not None
        if self.available:
            self.base, self.new = by_path(base.manifest), by_path(new.manifest)

    def of_row(self, dataset, model, artifact, device):
        """What differs on the way to the row's model file, and in the settings and code of the
        stages that measured it (evaluate, the benchmark) themselves."""
        if not self.available:
            return None
        folder = f"results/{dataset}/{model}"
        model_file = {"float32": f"{folder}/model_float32.tflite", "int8": f"{folder}/model_int8.tflite",
                      "edgetpu": f"{folder}/edgetpu/{COMPILED_MODEL}"}[artifact]
        if model_file not in self.new:  # nothing compiled: the row is about the int8 model
            model_file = f"{folder}/model_int8.tflite"
        benchmark = "benchmark_cpu" if device == "cpu" else "benchmark_edgetpu"
        upstream, measuring = (changed_upstream(path, self.base, self.new)
                               for path in (model_file, f"{folder}/{benchmark}.csv"))
        if upstream is None or measuring is None:
            return None
        own = {f"config {part}" for rule in ("evaluate", benchmark) for part in STAGES[rule].config}
        own |= {f"code {STAGES[rule].script}" for rule in ("evaluate", benchmark)}
        return upstream + [reason for reason in measuring if reason in own and reason not in upstream]

    def changed_artifacts(self):
        """Artifacts (measurements and code digests aside) whose bytes differ, with the reasons."""
        if not self.available:
            return []
        return [{"path": path, "why": changed_upstream(path, self.base, self.new)} for path, old in self.base.items()
                if path in self.new and not old["measurement"] and old["rule"] != "code_digest"
                and old["sha256"] != self.new[path]["sha256"]]


def version_changes(base, new):
    """Tool versions that differ between the runs' manifests: name -> (BASE, NEW)."""
    if base.manifest is None or new.manifest is None:
        return {}
    old, current = base.manifest.get("versions", {}), new.manifest.get("versions", {})
    return {name: (old.get(name), current.get(name)) for name in sorted(set(old) | set(current))
            if old.get(name) != current.get(name)}


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
        if thresholds.max_size_ratio is not None and None not in (size.base, size.new) and size.base > 0:
            if size.new / size.base > thresholds.max_size_ratio:
                found.append(f"{name}: size {size.base:,.0f} -> {size.new:,.0f} bytes ({size.new / size.base:.2f}x > "
                             f"--max-size-ratio {thresholds.max_size_ratio:g})")
        latency = figures["median_ms"]
        if thresholds.max_latency_ratio is not None and None not in (latency.base, latency.new) and latency.base > 0:
            ratio = latency.new / latency.base
            if ratio > thresholds.max_latency_ratio and not latency.within_noise:
                found.append(f"{name}: median latency {latency.base:.4g} -> {latency.new:.4g} ms ({ratio:.2f}x > "
                             f"--max-latency-ratio {thresholds.max_latency_ratio:g}, beyond the runs' noise)")
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


def as_json(base, new, rows, found, thresholds):
    provenance = _Provenance(base, new)
    return {
        "base": str(base.table_path), "new": str(new.table_path),
        "rows": [{**{key: row[key] for key in (*KEY, "presence", "mapping", "why")},
                  "figures": {name: {"base": f.base, "new": f.new, "change": f.change} for name, f in row["figures"].items()}}
                 for row in rows],
        "changed_artifacts": provenance.changed_artifacts(),
        "version_changes": {name: {"base": old, "new": now} for name, (old, now) in version_changes(base, new).items()},
        "thresholds": {name: value for name, value in asdict(thresholds).items() if name in thresholds.given()},
        "violations": found,
    }


# How the readable and Markdown tables show each figure: (column title, figure, format of a value).
COLUMNS = [
    ("status", "status", "text"), ("accuracy", "accuracy", "percent"), ("agreement", "agreement", "percent"),
    ("size (bytes)", "size_bytes", "bytes"), ("median (ms)", "median_ms", "ms"), ("p99 (ms)", "p99_ms", "ms"),
    ("ops Edge TPU", "ops_edgetpu", "count"), ("ops CPU", "ops_cpu", "count"), ("segments", "segments", "count"),
    ("params cached", "parameters_cached_bytes", "bytes"), ("params streamed", "parameters_streamed_bytes", "bytes"),
    ("param memory (predicted)", "predicted_parameter_memory", "text"), ("compile", "compile_status", "text"),
]
TEXT_WIDTH = 32  # longer statuses (skip reasons) are cut in the tables; --json has them whole


def _format(value, kind):
    if value is None:
        return "-"
    if kind == "percent":
        return f"{100 * value:.2f}%"
    if kind == "bytes":
        return f"{value:,.0f}"
    if kind == "ms":
        return f"{value:.4g}"
    if kind == "count":
        return f"{value:d}"
    text = str(value)
    return text if len(text) <= TEXT_WIDTH else text[:TEXT_WIDTH - 3] + "..."


def _cell(figure, kind):
    base, new = _format(figure.base, kind), _format(figure.new, kind)
    if figure.base == figure.new:
        return base if figure.base is None else f"{base} ="
    return f"{base} -> {new}" + (f" ({figure.change})" if figure.change and kind != "text" else "")


def row_name(row):
    return f"{row['dataset']}/{row['model']} {row['artifact']} {row['device']}"


def table_rows(rows):
    headers = ["row", *(title for title, _, _ in COLUMNS), "mapping", "why"]
    body = []
    for row in rows:
        name = row_name(row)
        if row["presence"] != "both":
            body.append([name, row["presence"], *[""] * (len(COLUMNS) - 1), "", ""])
            continue
        cells = [_cell(row["figures"][figure], kind) for _, figure, kind in COLUMNS]
        body.append([name, *cells, row["mapping"], _why_text(row["why"]) if row["why"] else ""])
    # Columns with no figure in any row (nothing compiled, say) are left out.
    shown = [index for index in range(len(headers)) if any(line[index] not in ("-", "") for line in body)]
    return [headers[index] for index in shown], [[line[index] for index in shown] for line in body]


def _why_text(reasons):
    if reasons is None:
        return "not recorded (a manifest from an older version, or none)"
    return ", ".join(reasons) or "nothing on its way differs (tool versions?)"


def render(base, new, rows, found, thresholds, markdown=False):
    """The comparison as readable text, or as Markdown for a CI comment."""
    headers, body = table_rows(rows)
    lines = ["### Results compared" if markdown else "Results compared",
             f"BASE: `{base.table_path}`  NEW: `{new.table_path}`" if markdown else f"BASE: {base.table_path}\nNEW:  {new.table_path}",
             "", tabulate(body, headers, tablefmt="github" if markdown else "simple", disable_numparse=True), ""]
    bullet = "- " if markdown else "  "
    if base.manifest is None or new.manifest is None:
        lines.append(f"Why: not known ({' and '.join(run.label for run in (base, new) if run.manifest is None)} "
                     "has no manifest.json beside its benchmark.csv)")
    else:
        changed = _Provenance(base, new).changed_artifacts()
        lines.append(f"Artifacts whose bytes differ: {len(changed)}" + (" (why: the config sections and code on their way "
                                                                       "that differ)" if changed else ""))
        lines += [f"{bullet}{item['path']}: {_why_text(item['why'])}" for item in changed]
        versions = version_changes(base, new)
        lines.append("Tool versions that differ: " + (", ".join(f"{name} {old} -> {now}" for name, (old, now) in versions.items())
                                                      if versions else "none"))
    if thresholds.given():
        lines.append("")
        lines.append(f"Gate ({', '.join(thresholds.given())}): " + (f"{len(found)} regression(s)" if found else "passed"))
        lines += [f"{bullet}regression: {line}" for line in found]
    return "\n".join(lines) + "\n"


def flat_table(rows):
    """One line per row, each figure as <name>_base, <name>_new and <name>_change columns."""
    lines = []
    for row in rows:
        line = {**{key: row[key] for key in (*KEY, "presence", "mapping")},
                "why": "; ".join(row["why"]) if row["why"] is not None else "not recorded"}
        for name, figure in row["figures"].items():
            line.update({f"{name}_base": figure.base, f"{name}_new": figure.new, f"{name}_change": figure.change})
        lines.append(line)
    return pd.DataFrame(lines)
