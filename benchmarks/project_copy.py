"""A fresh copy of the checkout's workflow for the benchmark scripts to run in (no results, no
Snakemake state)."""

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
ENTRIES = ["Snakefile", "rules", "scripts", "config", "envs", "resources", "profiles", "report"]


def copy_project(folder):
    """Copy the workflow's files into `folder` (created if needed; its parent must exist) and return it."""
    folder.mkdir(exist_ok=True)
    for entry in ENTRIES:
        source = PROJECT / entry
        if source.is_dir():
            shutil.copytree(source, folder / entry, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, folder / entry)
    return folder
