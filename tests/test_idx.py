import hashlib
import json

import numpy as np
import pytest

from conftest import MNIST, run_script, write_idx
from coralbuild.data.formats.idx import load_pair
from coralbuild.data.idx_reader import read_idx
from coralbuild.data.prepared import load_info, load_split
from coralbuild.errors import BadInput

MNIST_SHA256 = {
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
}


def test_vendored_mnist_reads_with_known_labels_and_checksums():
    train_labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz", 1, MNIST_SHA256["train-labels-idx1-ubyte.gz"])
    test_labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz", 1, MNIST_SHA256["t10k-labels-idx1-ubyte.gz"])
    test_images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz", 3, MNIST_SHA256["t10k-images-idx3-ubyte.gz"])
    assert train_labels.shape == (60000,) and test_images.shape == (10000, 28, 28)
    assert list(train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(test_labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert test_images.dtype == np.uint8 and test_images.max() == 255


def test_uncompressed_file_reads_the_same(tmp_path):
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    content = write_idx(tmp_path / "images.idx", images, compress=False)
    array = read_idx(tmp_path / "images.idx", 3, hashlib.sha256(content).hexdigest())
    np.testing.assert_array_equal(array, images)


def test_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 256, 1000))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(BadInput, match=r"labels\.gz: truncated or corrupt gzip"):
        read_idx(path, 1)


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.zeros(5), magic=0x00000803)
    with pytest.raises(BadInput, match=r"labels\.gz: IDX magic number is 0x00000803, expected 0x00000801"):
        read_idx(path, 1)


def test_wrong_checksum(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(5))
    with pytest.raises(BadInput, match=r"labels\.gz: sha256 of the uncompressed content is [0-9a-f]{64}, expected 0+"):
        read_idx(path, 1, "0" * 64)


def test_content_shorter_than_header_declares(tmp_path):
    path = tmp_path / "images.idx"
    content = write_idx(path, np.zeros((3, 2, 2)), compress=False)
    path.write_bytes(content[:-1])
    with pytest.raises(BadInput, match=r"images\.idx: IDX header declares shape \(3, 2, 2\)"):
        read_idx(path, 3)


def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match=r"nothing\.gz: file not found"):
        read_idx(tmp_path / "nothing.gz", 1)


def test_image_and_label_counts_must_agree(tmp_path):
    write_idx(tmp_path / "images.gz", np.zeros((4, 2, 2)))
    write_idx(tmp_path / "labels.gz", np.zeros(3))
    with pytest.raises(BadInput, match=r"images\.gz holds 4 images but .*labels\.gz holds 3 labels"):
        load_pair(tmp_path / "images.gz", tmp_path / "labels.gz", None, None)


def write_idx_dataset(folder, train=40, test=12, shape=(8, 8), classes=3):
    """Four small IDX files; each image is distinct (its first pixel is its number)."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (train + test, *shape), dtype=np.uint8)
    images[:, 0, 0] = np.arange(train + test)
    labels = np.arange(train + test) % classes
    parts = {"train_images": images[:train], "train_labels": labels[:train],
             "test_images": images[train:], "test_labels": labels[train:]}
    source, sha256 = {}, {}
    for part, array in parts.items():
        source[part] = str(folder / f"{part}.gz")
        sha256[part] = hashlib.sha256(write_idx(folder / f"{part}.gz", array)).hexdigest()
    return source, sha256, images, labels


def prepare_idx(tmp_path, name, **settings):
    source, sha256, images, labels = write_idx_dataset(tmp_path)
    settings = {"sha256": sha256, "validation_size": 5, "seed": 0, **settings}
    result = run_script("prepare_dataset.py", "--format", "idx", "--source", json.dumps(source),
                        "--settings", json.dumps(settings), "--threads", 2, "--output", tmp_path / name)
    assert result.returncode == 0, result.stderr
    return tmp_path / name, images, labels


def test_idx_at_its_own_size_keeps_the_pixels_and_the_given_test_set(tmp_path):
    folder, images, labels = prepare_idx(tmp_path, "data")
    split = load_split(folder)
    assert [len(split[f"x_{name}"]) for name in ("train", "val", "test")] == [35, 5, 12]
    for name in ("train", "val", "test"):
        assert split[f"x_{name}"].shape[1:] == (8, 8, 1)
        numbers = split[f"x_{name}"][:, 0, 0, 0]
        np.testing.assert_array_equal(split[f"x_{name}"][..., 0], images[numbers])  # untouched pixels
        np.testing.assert_array_equal(split[f"y_{name}"], labels[numbers])  # each with its label
    assert sorted(split["x_test"][:, 0, 0, 0].tolist()) == list(range(40, 52))
    info = load_info(folder)
    assert info["classes"] == ["0", "1", "2"] and info["image_shape"] == [8, 8, 1]
    assert info["counts"] == {"train": 35, "val": 5, "test": 12}


def test_idx_resized_to_rgb(tmp_path):
    folder, _, labels = prepare_idx(tmp_path, "data", image_size=[32, 32], color="rgb")
    split = load_split(folder)
    assert split["x_train"].shape == (35, 32, 32, 3) and split["x_test"].shape == (12, 32, 32, 3)
    assert split["x_val"].shape == (5, 32, 32, 3) and split["x_train"].dtype == np.uint8
    # Grey replicated into the three channels.
    np.testing.assert_array_equal(split["x_train"][..., 0], split["x_train"][..., 2])
    assert load_info(folder)["image_shape"] == [32, 32, 3]
    np.testing.assert_array_equal(np.sort(split["y_test"]), np.sort(labels[40:]))


def test_idx_preparation_is_byte_identical(tmp_path):
    first, _, _ = prepare_idx(tmp_path, "first", image_size=[12, 10], color="rgb")
    second, _, _ = prepare_idx(tmp_path, "second", image_size=[12, 10], color="rgb")
    names = sorted(path.name for path in first.iterdir())
    assert names == sorted(path.name for path in second.iterdir())
    assert all((first / name).read_bytes() == (second / name).read_bytes() for name in names)


def test_an_idx_dataset_whose_training_labels_are_one_class_is_refused(tmp_path):
    """Every prediction of a one-class model is right: 100% would be a figure, not a model."""
    source, sha256, _, _ = write_idx_dataset(tmp_path, classes=1)
    settings = {"sha256": sha256, "validation_size": 5, "seed": 0}
    result = run_script("prepare_dataset.py", "--format", "idx", "--source", json.dumps(source),
                        "--settings", json.dumps(settings), "--output", tmp_path / "data")
    assert result.returncode == 1 and not (tmp_path / "data").exists()
    assert result.stderr.strip().splitlines()[-1] == (f"error: {source['train_labels']}: every training label is 0; "
                                                      "a classifier needs at least two classes")
