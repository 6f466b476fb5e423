"""The comparison as readable text or Markdown (a CI comment), as JSON, and as a flat table of
one line per row (comparison.csv)."""

from dataclasses import asdict

import pandas as pd
from tabulate import tabulate

from coralbuild.reporting.compare.provenance import Provenance, version_changes
from coralbuild.reporting.compare.rows import row_name
from coralbuild.reporting.compare.runs import KEY

# How the readable and Markdown tables show each figure: (column title, figure, format of a value).
COLUMNS = [
    ("status", "status", "text"), ("accuracy", "accuracy", "percent"), ("agreement", "agreement", "percent"),
    ("size (bytes)", "size_bytes", "bytes"), ("median (ms)", "median_ms", "ms"), ("p99 (ms)", "p99_ms", "ms"),
    ("ops Edge TPU", "ops_edgetpu", "count"), ("ops CPU", "ops_cpu", "count"), ("segments", "segments", "count"),
    ("params cached", "parameters_cached_bytes", "bytes"), ("params streamed", "parameters_streamed_bytes", "bytes"),
    ("param memory (predicted)", "predicted_parameter_memory", "text"), ("compile", "compile_status", "text"),
]
TEXT_WIDTH = 32  # longer statuses (skip reasons) are cut in the tables; --json has them whole


def as_json(base, new, rows, found, thresholds):
    provenance = Provenance(base, new)
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
        changed = Provenance(base, new).changed_artifacts()
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
