"""The jobs run the Python of the Snakemake that starts them, whatever `python` comes first on
PATH (.venv/bin/snakemake run without activating the environment), or the run stops at once."""

import site
import subprocess
import sys
from pathlib import Path

# A `python` first on PATH that is not the environment's: a STAND-IN for a system Python without
# the workflow's packages, failing as one would.
STAND_IN_PYTHON = "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy' (STAND-IN python)\" >&2\nexit 1\n"


def path_without_the_environment(tmp_path):
    """A PATH holding the system folders and, first, a folder with the STAND-IN `python`."""
    folder = tmp_path / "other-python"
    folder.mkdir()
    (folder / "python").write_text(STAND_IN_PYTHON)
    (folder / "python").chmod(0o755)
    return f"{folder}:/usr/bin:/bin"


def run(command, project, **variables):
    return subprocess.run([*map(str, command)], cwd=project, capture_output=True, text=True,
                          env={"HOME": str(Path.home()), **variables})


def test_jobs_run_the_python_of_the_snakemake_that_starts_them(project_copy, tmp_path):
    snakemake = Path(sys.executable).parent / "snakemake"  # .venv/bin/snakemake, not activated
    target = "results/code/digest_code.sha256"  # one quick real job
    result = run([snakemake, "--cores", "1", target], project_copy, PATH=path_without_the_environment(tmp_path))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "ModuleNotFoundError" not in output
    assert (project_copy / target).is_file()


def test_a_python_with_no_python_beside_it_stops_at_once(project_copy, tmp_path):
    """An interpreter whose folder has no `python` (python3.11 alone, as some systems install
    it): the jobs could only get PATH's, so the run stops before any job, saying what to do."""
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "python3.11").symlink_to(sys._base_executable)
    packages = site.getsitepackages()[0]  # this environment's Snakemake, for that interpreter
    result = run([folder / "python3.11", "-m", "snakemake", "--cores", "1"], project_copy,
                 PATH=path_without_the_environment(tmp_path), PYTHONPATH=packages)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"the jobs run `python`, and this Snakemake's Python ({folder / 'python3.11'}) has no `python` beside it" in output
    assert "ModuleNotFoundError" not in output
    assert not (project_copy / "results").exists()
