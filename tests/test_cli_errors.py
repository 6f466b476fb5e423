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


def prepare_idx(folder, train_images, train_labels, test_images, test_labels):
    """prepare_dataset.py on four IDX files written from these arrays."""
    parts = {"train_images": train_images, "train_labels": train_labels, "test_images": test_images,
             "test_labels": test_labels}
    source = {}
    for part, array in parts.items():
        path = folder / f"{part.replace('_', '-')}.gz"
        write_idx(path, array)
        source[part] = str(path)
    settings = {"sha256": dict.fromkeys(parts), "validation_size": 1, "seed": 0}
    return run_script("prepare_dataset.py", "--format", "idx", "--source", json.dumps(source),
                      "--settings", json.dumps(settings), "--output", folder / "data")


def test_prepare_dataset_rejects_mismatched_counts(tmp_path):
    result = prepare_idx(tmp_path, np.zeros((5, 2, 2)), np.zeros(4), np.zeros((2, 2, 2)), np.zeros(2))
    assert_one_line_error(result, "train-images.gz holds 5 images", "train-labels.gz holds 4 labels")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["test-images.gz", "test-labels.gz", "train-images.gz", "train-labels.gz"]


def test_prepare_dataset_rejects_train_and_test_images_of_different_shapes(tmp_path):
    result = prepare_idx(tmp_path, np.zeros((5, 2, 2)), np.arange(5) % 2, np.zeros((2, 3, 3)), np.arange(2))
    assert_one_line_error(result, "train-images.gz holds images of (2, 2) but", "test-images.gz holds (3, 3)")
    assert not (tmp_path / "data").exists()


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
