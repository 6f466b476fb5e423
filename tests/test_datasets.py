"""The split (coralbuild.data.split) and the prepared dataset folder (coralbuild.data.prepared)."""

import sys
from pathlib import Path

import numpy as np
import pytest

from coralbuild.data import prepared
from coralbuild.data.prepared import SPLIT_ARRAYS, load_split, save_labels, write_images
from coralbuild.data.row_store import StoredImages
from coralbuild.data.split import SPLITS, assign_splits, few_images_warnings
from coralbuild.errors import BadInput

# Classes of unequal sizes: 50, 30, 13 and 7 examples, interleaved.
LABELS = np.array([0] * 50 + [1] * 30 + [2] * 13 + [3] * 7)[np.random.default_rng(1).permutation(100)]


def settings(**overrides):
    return {"test_size": 0.2, "validation_size": 0.1, "seed": 0, **overrides}


def as_lists(splits):
    return {name: list(indices) for name, indices in splits.items()}


def test_same_seed_same_split_other_seed_other_split():
    first = assign_splits(LABELS, settings(seed=3))
    assert as_lists(first) == as_lists(assign_splits(LABELS, settings(seed=3)))
    other = assign_splits(LABELS, settings(seed=4))
    for name in SPLITS:
        assert list(first[name]) != list(other[name]), name


def test_splits_are_disjoint_and_cover_every_example():
    splits = assign_splits(LABELS, settings())
    together = np.concatenate([splits[name] for name in SPLITS])
    assert len(set(together.tolist())) == len(together) == len(LABELS)


@pytest.mark.parametrize("test_size, validation_size", [(0.25, 0.1), (0.3, 0.2), (17, 9), (0.1, 23)])
def test_each_class_keeps_its_share_of_test_and_validation(test_size, validation_size):
    splits = assign_splits(LABELS, settings(test_size=test_size, validation_size=validation_size, seed=5))
    pool = np.concatenate([splits["train"], splits["val"]])
    for label in range(4):
        in_class = np.sum(LABELS == label)
        test_share = np.sum(LABELS[splits["test"]] == label)
        assert abs(test_share - len(splits["test"]) * in_class / len(LABELS)) < 1, (label, test_share)
        val_share = np.sum(LABELS[splits["val"]] == label)
        assert abs(val_share - len(splits["val"]) * np.sum(LABELS[pool] == label) / len(pool)) < 1, (label, val_share)


def test_integer_sizes_are_exact_counts():
    splits = assign_splits(LABELS, settings(test_size=17, validation_size=9))
    assert [len(splits[name]) for name in SPLITS] == [100 - 17 - 9, 9, 17]


def test_fractions_below_one_are_shares():
    splits = assign_splits(LABELS, settings(test_size=0.2, validation_size=0.1))
    # 20 of 100 for test, then 8 of the 80 left for validation.
    assert [len(splits[name]) for name in SPLITS] == [72, 8, 20]


def test_a_given_test_set_is_kept_and_validation_comes_from_the_training_pool():
    labels = np.concatenate([LABELS, np.arange(20) % 4])
    splits = assign_splits(labels, settings(validation_size=10), given={"test": range(100, 120)})
    assert sorted(splits["test"].tolist()) == list(range(100, 120))
    assert len(splits["val"]) == 10 and max(splits["val"]) < 100 and max(splits["train"]) < 100
    assert len(splits["train"]) == 90


def test_a_given_validation_set_is_kept_and_the_test_set_comes_from_the_training_pool():
    labels = np.concatenate([LABELS, np.arange(12) % 4])
    splits = assign_splits(labels, settings(test_size=0.2), given={"val": range(100, 112)})
    assert splits["val"].tolist() == list(range(100, 112))
    assert len(splits["test"]) == 20 and max(splits["test"]) < 100 and len(splits["train"]) == 80
    assert np.bincount(labels[splits["test"]]).tolist() == [10, 6, 3, 1]  # stratified: 50, 30, 13, 7 of 100


def test_given_validation_and_test_sets_leave_the_rest_to_training():
    labels = np.concatenate([LABELS, np.arange(12) % 4, np.arange(8) % 4])
    splits = assign_splits(labels, settings(), given={"val": range(100, 112), "test": range(112, 120)})
    assert splits["val"].tolist() == list(range(100, 112)) and sorted(splits["test"].tolist()) == list(range(112, 120))
    assert sorted(splits["train"].tolist()) == list(range(100))


def test_a_class_with_few_examples_or_none_in_a_split_gets_one_warning_line():
    labels = np.array([0] * 30 + [1] * 30 + [2] * 12)
    splits = {"train": np.arange(0, 20).tolist() + np.arange(30, 50).tolist() + [60, 61],
              "val": np.arange(20, 30).tolist() + [50, 51, 62],
              "test": np.arange(52, 60).tolist()}
    assert few_images_warnings(labels, splits, ["cat", "dog", "bird"]) == [
        "class cat has fewer than 10 images in test (none)",
        "class dog has fewer than 10 images in val (2) and test (8)",
        "class bird has fewer than 10 images in train (2), val (1) and test (none)",
    ]
    assert few_images_warnings(labels, {"train": np.arange(72)}, ["cat", "dog", "bird"]) == []


def test_max_sizes_keep_the_first_examples_of_the_same_order():
    full = assign_splits(LABELS, settings(seed=7))
    limited = assign_splits(LABELS, settings(seed=7, max_train_size=30, max_test_size=5))
    assert list(limited["train"]) == list(full["train"][:30])
    assert list(limited["test"]) == list(full["test"][:5])
    assert list(limited["val"]) == list(full["val"])


def test_training_and_test_orders_are_shuffled():
    # Training reads batches in this order: sorted indices would give batches of one class.
    splits = assign_splits(np.repeat(np.arange(2), 50), settings())
    assert list(splits["train"]) != sorted(splits["train"])
    assert set(np.repeat(np.arange(2), 50)[splits["train"][:20]].tolist()) == {0, 1}


def test_a_class_with_no_training_example_left_is_named():
    labels = np.array([0] * 20 + [1] * 20 + [0, 1, 2, 2])  # "bird" only in the given test set
    with pytest.raises(BadInput, match=r"class bird has no training examples"):
        assign_splits(labels, settings(validation_size=2), given={"test": range(40, 44)}, class_names=["cat", "dog", "bird"])
    with pytest.raises(BadInput, match=r"class (cat|dog) has no training examples"):
        assign_splits(labels[:40], settings(max_train_size=1), class_names=["cat", "dog"])


def test_a_class_whose_only_example_goes_to_test_is_named():
    # test_size 0.9 of 20: 17.1 examples of "common" and 0.9 of "rare"; the larger remainder
    # puts the only "rare" example in the test set.
    labels = np.array([0] * 19 + [1])
    with pytest.raises(BadInput, match=r"class rare has no training examples"):
        assign_splits(labels, settings(test_size=0.9, validation_size=1), class_names=["common", "rare"])


@pytest.mark.parametrize("overrides, message", [
    ({"validation_size": 80}, "validation_size 80 leaves no training data"),
    ({"validation_size": 0.999}, "validation_size 0.999 leaves no training data"),
    ({"test_size": 100}, "test_size 100 leaves no training data"),
    ({"test_size": 0.001}, "test_size 0.001 selects no examples out of 100"),
])
def test_sizes_that_leave_nothing_are_rejected(overrides, message):
    with pytest.raises(BadInput, match=message):
        assign_splits(LABELS, settings(**overrides))


def write_tiny_prepared(folder, counts=None, shape=(4, 4, 3)):
    counts = counts or {"train": 5, "val": 2, "test": 3}
    rng = np.random.default_rng(0)
    arrays = {}
    for split, count in counts.items():
        images = prepared.allocate_images(folder, split, count, shape)
        images[:] = arrays[f"x_{split}"] = rng.integers(0, 256, (count, *shape), dtype=np.uint8)
        images.flush()
        del images
        arrays[f"y_{split}"] = np.arange(count) % 2
        save_labels(folder, split, arrays[f"y_{split}"])
    return arrays


def test_load_split_reads_images_from_their_files_and_loads_labels(tmp_path):
    arrays = write_tiny_prepared(tmp_path)
    split = load_split(tmp_path)
    assert sorted(split) == sorted(SPLIT_ARRAYS)
    for name, array in split.items():
        np.testing.assert_array_equal(array, arrays[name])
        if name.startswith("x_"):
            assert isinstance(array, StoredImages) and array.dtype == np.uint8
            assert array.shape == arrays[name].shape and len(array) == len(arrays[name])
            assert not hasattr(array, "__setitem__")  # read-only
        else:
            assert isinstance(array, np.ndarray) and not isinstance(array, np.memmap) and array.dtype == np.int64


def test_load_split_names_the_folder_and_the_missing_arrays(tmp_path):
    write_tiny_prepared(tmp_path)
    (tmp_path / "y_val.npy").unlink()
    with pytest.raises(BadInput, match=r"not a prepared dataset \(missing y_val\)"):
        load_split(tmp_path)


@pytest.mark.parametrize("name", ["y_test", "x_train"])
def test_load_split_never_unpickles(tmp_path, name):
    write_tiny_prepared(tmp_path)
    np.save(tmp_path / f"{name}.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_split(tmp_path)


def test_a_truncated_or_foreign_image_file_is_named(tmp_path):
    write_tiny_prepared(tmp_path)
    content = (tmp_path / "x_val.npy").read_bytes()
    (tmp_path / "x_val.npy").write_bytes(content[:-1])
    with pytest.raises(BadInput, match=r"x_val.npy: truncated"):
        load_split(tmp_path)
    (tmp_path / "x_val.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(BadInput, match=r"x_val.npy: not a readable .npy file"):
        load_split(tmp_path)


@pytest.mark.parametrize("chunk, threads", [(3, 4), (1, 2), (1000, 3)])
def test_write_images_puts_each_image_in_its_place_whatever_the_chunks_and_threads(tmp_path, monkeypatch, chunk, threads):
    monkeypatch.setattr(prepared, "CHUNK", chunk)
    count, shape = 23, (2, 3, 1)
    splits = {"train": np.array([5, 0, 22, 9, 1, 14, 3, 7]), "val": np.array([2, 11]), "test": np.array([20, 4, 6])}
    loaded = []

    def load(item, decode):
        loaded.append((item, decode))
        return f"fact {item}", np.full(shape, item, np.uint8) if decode else None

    facts = write_images(tmp_path, splits, shape, load, count, threads)
    assert facts == [f"fact {item}" for item in range(count)]  # every item, in item order
    taken = set(np.concatenate(list(splits.values())).tolist())
    assert sorted(loaded) == [(item, item in taken) for item in range(count)]
    for split, items in splits.items():
        images = np.load(tmp_path / f"x_{split}.npy")
        assert images.shape == (len(items), *shape)
        assert images[:, 0, 0, 0].tolist() == items.tolist()
        # Byte for byte what np.save writes for the same array (the header np.save writes, C order).
        np.save(tmp_path / "expected.npy", np.stack([np.full(shape, item, np.uint8) for item in items]))
        assert (tmp_path / f"x_{split}.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()


@pytest.mark.parametrize("count, shape", [(0, (3, 3, 1)), (1, (1, 1, 1)), (70, (128, 128, 3)), (5, (300, 1, 2))])
def test_an_image_file_is_byte_identical_to_np_save(tmp_path, count, shape):
    images = np.random.default_rng(count).integers(0, 256, (count, *shape), dtype=np.uint8)
    with prepared.allocate_images(tmp_path, "train", count, shape) as stored:
        for row in np.random.default_rng(1).permutation(count):  # in any order
            stored.write(int(row), images[row])
    np.save(tmp_path / "expected.npy", images)
    assert (tmp_path / "x_train.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()
    stored = prepared.allocate_images(tmp_path, "test", count, shape)  # as tests/conftest.py writes one
    stored[:] = images
    stored.flush()
    del stored
    assert (tmp_path / "x_test.npy").read_bytes() == (tmp_path / "expected.npy").read_bytes()


def test_stored_images_index_like_the_array(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (41, 5, 4, 3), dtype=np.uint8)
    with prepared.allocate_images(tmp_path, "train", len(images), images.shape[1:]) as stored:
        stored[:20] = images[:20]
        stored[np.arange(40, 19, -1)] = images[40:19:-1]
    stored = StoredImages(tmp_path / "x_train.npy")
    keys = [0, 40, -1, -41, np.int64(7), slice(None), slice(3, 17), slice(30, 60), slice(17, 3, -1),
            slice(None, None, 4), slice(5, 5), np.array([9, 3, 4, 5, 3, -2]), [1, 2, 3], np.array([], np.int64),
            np.array([[1, 2], [40, 0]]), np.arange(41) % 3 == 0, (slice(None), 0, 0, 0), (2, slice(None), 1),
            (np.array([4, 1]), 0), (np.array([[4], [1]]), slice(None), np.array([0, 2])), (Ellipsis, 2), ()]
    for key in keys:
        np.testing.assert_array_equal(stored[key], images[key], err_msg=repr(key))
        assert stored[key].shape == images[key].shape, key
    for key in (41, -42, np.array([0, 41])):
        with pytest.raises(IndexError):
            stored[key]
    np.testing.assert_array_equal(np.asarray(stored), images)
    np.testing.assert_array_equal(np.stack(list(stored)), images)  # iterating, a few MiB at a time
    assert (stored.shape, stored.dtype, len(stored), stored.ndim) == (images.shape, np.uint8, 41, 4)


def rss_file_kib():
    """This process's file-backed resident memory (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    pytest.skip("no RssFile in /proc/self/status")


FILE_MIB = 48  # far more than the few MiB the assertions allow


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_writing_and_reading_every_image_leaves_file_pages_out_of_the_process(tmp_path):
    shape = (128, 128, 3)
    count = FILE_MIB * 1024 * 1024 // (128 * 128 * 3)
    order = np.random.default_rng(0).permutation(count)
    splits = {"train": order[: count - 20], "val": order[count - 20: count - 10], "test": order[count - 10:]}
    before, seen = rss_file_kib(), []

    def load(item, decode):
        if item % 16 == 0:  # while the files are open for writing
            seen.append(rss_file_kib())
        return None, np.full(shape, item % 251, np.uint8)

    write_images(tmp_path, splits, shape, load, count, 2)
    assert max(seen) - before < 4 * 1024, "the written pages stayed in the process's memory"
    for split, items in splits.items():
        save_labels(tmp_path, split, items % 2)
    images = load_split(tmp_path)["x_train"]
    assert images.nbytes > FILE_MIB * 1024 * 1024 * 0.9
    before = rss_file_kib()
    for batch in np.array_split(np.random.default_rng(1).permutation(len(images)), 32):  # shuffled, as training reads
        assert (images[batch][:, 0, 0, 0] == splits["train"][batch] % 251).all()
    for start in range(0, len(images), 100):  # in order, as evaluation reads
        images[start:start + 100]
    for _image in images:
        pass
    assert rss_file_kib() - before < 4 * 1024, "the read pages stayed in the process's memory"
    # The measurement sees what a memory map does: the same reads through np.load(mmap_mode="r") keep the pages.
    mapped = np.load(tmp_path / "x_train.npy", mmap_mode="r")
    before = rss_file_kib()
    for batch in np.array_split(np.arange(len(mapped)), 32):
        mapped[batch].sum()
    assert rss_file_kib() - before > FILE_MIB * 1024 // 2
