"""A run to compare: its benchmark table, read and checked, and its manifest where it has one."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coralbuild.errors import BadInput, first_line
from coralbuild.layout import ARTIFACT_FILES, benchmark_table_candidates
from coralbuild.reporting.manifest_check import read_manifest

KEY = ["dataset", "model", "artifact", "device"]
# Columns of benchmark.csv the comparison reads; a table without them comes from another version.
REQUIRED_COLUMNS = KEY + [
    "status", "size_bytes", "accuracy", "agreement", "median_ms", "p90_ms", "p99_ms", "std_ms", "compile_status",
    "ops_edgetpu", "ops_cpu", "edgetpu_segments", "onchip_bytes", "offchip_bytes", "predicted_ops_edgetpu",
    "predicted_ops_cpu", "predicted_segments", "predicted_parameter_bytes", "predicted_parameter_memory",
]

# Those of them the comparison computes with, and the estimate's band where a table has it (tables
# written before the latency estimate have no such columns).
NUMERIC_COLUMNS = [column for column in REQUIRED_COLUMNS
                   if column not in (*KEY, "status", "compile_status", "predicted_parameter_memory")]
OPTIONAL_NUMERIC_COLUMNS = ["estimate_low_ms", "estimate_high_ms"]


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
        raise BadInput(f"{table_path}: not a readable benchmark table ({label}: {first_line(error)})") from None
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise BadInput(f"{table_path}: not a benchmark table of this workflow's version ({label}): "
                       f"no column {', '.join(missing)}")
    _check_values(table, table_path, label)
    duplicated = table[table.duplicated(KEY)]
    if not duplicated.empty:
        row = duplicated.iloc[0]
        raise BadInput(f"{table_path}: row {'/'.join(str(row[key]) for key in KEY)} appears twice ({label})")
    return Run(label, table_path, table, _read_manifest(table_path.parent / "manifest.json", label))


def _read_manifest(path, label):
    return read_manifest(path, label) if path.is_file() else None


def _check_values(table, table_path, label):
    """Numbers where the comparison computes (a hand-edited `accuracy=abc` or `ops=inf` is named,
    not a traceback), and artifacts it knows."""
    for column in NUMERIC_COLUMNS + [column for column in OPTIONAL_NUMERIC_COLUMNS if column in table.columns]:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = table[column].notna() & ~np.isfinite(values.astype(float))
        if bad.any():
            row = table[bad].iloc[0]
            raise BadInput(f"{table_path}: row {'/'.join(str(row[key]) for key in KEY)}: {column} is "
                           f"{row[column]!r}, not a finite number ({label})")
        table[column] = values
    unknown = sorted(set(table["artifact"].astype(str)) - set(ARTIFACT_FILES))
    if unknown:
        raise BadInput(f"{table_path}: unknown artifact {unknown[0]!r} ({label}; known: {', '.join(ARTIFACT_FILES)})")
