"""Scripts stop on bad input with exit status 1, one `error:` line, and no output file."""

import json

import numpy as np
import pandas as pd

from conftest import run_script, write_idx, write_prepared


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_prepare_dataset_rejects_mismatched_counts(tmp_path):
    write_idx(tmp_path / "train-images.gz", np.zeros((5, 2, 2)))
    write_idx(tmp_path / "train-labels.gz", np.zeros(4))
    write_idx(tmp_path / "test-images.gz", np.zeros((2, 2, 2)))
    write_idx(tmp_path / "test-labels.gz", np.zeros(2))
    parts = ["train_images", "train_labels", "test_images", "test_labels"]
    source = {part: str(tmp_path / f"{part.replace('_', '-')}.gz") for part in parts}
    settings = {"sha256": dict.fromkeys(parts), "validation_size": 1, "seed": 0}
    result = run_script(
        "prepare_dataset.py", "--format", "idx", "--source", json.dumps(source),
        "--settings", json.dumps(settings), "--output", tmp_path / "data",
    )
    assert_one_line_error(result, "train-images.gz holds 5 images", "train-labels.gz holds 4 labels")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["test-images.gz", "test-labels.gz", "train-images.gz", "train-labels.gz"]


def test_benchmark_turns_a_file_that_is_not_a_model_into_a_failed_row(tmp_path):
    write_prepared(tmp_path / "data", {name: np.zeros((3, 28, 28) if name.startswith("x") else 3, np.uint8)
                                       for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")})
    (tmp_path / "metrics.json").write_text(json.dumps({"artifacts": {"int8": {"accuracy": 1, "agreement_with_keras": 1}}}))
    (tmp_path / "model.tflite").write_bytes(np.random.default_rng(0).bytes(4096))
    settings = {"devices": ["cpu"], "require_device": False, "threads": 1, "warmup": 1, "iterations": 2, "timeout_s": 60}
    result = run_script(
        "benchmark.py", "--dataset", "d", "--model", "m", "--data", tmp_path / "data",
        "--metrics", tmp_path / "metrics.json", "--tflite", f"int8={tmp_path / 'model.tflite'}",
        "--devices", "cpu", "--settings", json.dumps(settings), "--output", tmp_path / "benchmark.csv",
    )
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(tmp_path / "benchmark.csv").iloc[0]
    assert row.status.startswith("failed: ") and "model.tflite: the LiteRT interpreter cannot load it" in row.status
    assert pd.isna(row.median_ms) and pd.isna(row.accuracy)
