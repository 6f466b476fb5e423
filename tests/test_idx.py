import hashlib

import numpy as np
import pytest

from conftest import MNIST, write_idx
from coralbuild.data.split import load_idx_pair
from coralbuild.errors import BadInput
from coralbuild.data.idx import read_idx

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
        load_idx_pair(tmp_path / "images.gz", tmp_path / "labels.gz", None, None)
