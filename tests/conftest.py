import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
SCRIPTS = PROJECT / "scripts"
SHARED = PROJECT.parent / "shared"
MNIST = PROJECT / "resources" / "datasets" / "mnist"
sys.path.insert(0, str(SCRIPTS))

# What a temporary copy of the project needs to run the workflow.
PROJECT_ENTRIES = ["Snakefile", "rules", "scripts", "config", "envs", "resources", "profiles"]


def write_idx(path, array, magic=None, compress=True):
    """An IDX file of unsigned bytes; `magic` overrides the header's magic number."""
    import numpy as np

    array = np.asarray(array, dtype=np.uint8)
    header = (magic if magic is not None else (0x08 << 8) | array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    content = header + array.tobytes()
    path.write_bytes(gzip.compress(content, mtime=0) if compress else content)
    return content


def run_snakemake(project, *args):
    """Snakemake as a user runs it: with this environment's python first on PATH, as the jobs'
    shell commands call `python`."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=project, capture_output=True, text=True, env=env)


def run_script(name, *args, cwd=PROJECT):
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *map(str, args)],
        cwd=cwd, capture_output=True, text=True,
    )


def copy_project(destination):
    """A copy of the project to run Snakemake in, without results or state of the checkout."""
    destination.mkdir(exist_ok=True)
    for entry in PROJECT_ENTRIES:
        source = PROJECT / entry
        if source.is_dir():
            shutil.copytree(source, destination / entry, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, destination / entry)
    return destination


@pytest.fixture
def project_copy(tmp_path):
    return copy_project(tmp_path / "project")


def shared_path(*parts):
    """A path under ../shared, or skip: a user's clone does not have that folder."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared exists only beside the development checkout)")
    return path
