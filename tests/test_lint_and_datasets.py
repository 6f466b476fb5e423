from pathlib import Path

import numpy as np
import pytest

from conftest import run_snakemake
from coralbuild.data.prepared import load_split

FASHION = Path("/usr/share/datasets/fashion-mnist")


def test_snakemake_lint_is_clean(project_copy):
    result = run_snakemake(project_copy, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_fashion_mnist_from_debian_prepares_beside_mnist(project_copy):
    if not FASHION.is_dir():
        pytest.skip(f"{FASHION} is absent (Debian package dataset-fashion-mnist)")
    args = ["--configfile", "config/config.yaml", "config/fashion_mnist.yaml"]
    result = run_snakemake(project_copy, "results/fashion_mnist/data", "--cores", "1", *args)
    assert result.returncode == 0, result.stderr[-2000:]
    split = load_split(project_copy / "results/fashion_mnist/data")
    assert split["x_train"].shape == (55000, 28, 28, 1) and len(split["x_test"]) == 10000
    assert set(np.unique(split["y_test"])) == set(range(10))
