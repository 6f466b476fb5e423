import numpy as np
import pytest

from coralbuild.data.split import SPLIT_ARRAYS, load_split, save_split, split_dataset
from coralbuild.errors import BadInput


def toy_data(train=100, test=20):
    images = np.repeat(np.arange(train, dtype=np.uint8), 4).reshape(train, 2, 2)  # unique rows
    return (images, np.arange(train) % 10), (images[:test], np.arange(test) % 10)


def test_split_is_seeded_disjoint_and_limited():
    train, test = toy_data()
    split = split_dataset(train, test, validation_size=10, seed=3, max_train_size=50, max_test_size=5)
    again = split_dataset(train, test, validation_size=10, seed=3, max_train_size=50, max_test_size=5)
    other = split_dataset(train, test, validation_size=10, seed=4, max_train_size=50, max_test_size=5)
    assert [len(split[name]) for name in SPLIT_ARRAYS] == [50, 50, 10, 10, 5, 5]
    assert all(np.array_equal(split[name], again[name]) for name in SPLIT_ARRAYS)
    assert not np.array_equal(split["y_val"], other["y_val"])
    train_rows = {row.tobytes() for row in split["x_train"]}
    assert not train_rows & {row.tobytes() for row in split["x_val"]}


def test_validation_size_must_leave_training_data():
    train, test = toy_data(train=10)
    with pytest.raises(BadInput, match="validation_size 10 leaves no training data"):
        split_dataset(train, test, validation_size=10, seed=0)


def test_saved_split_round_trips_and_is_byte_identical(tmp_path):
    train, test = toy_data()
    split = split_dataset(train, test, validation_size=10, seed=0)
    save_split(tmp_path / "a.npz", split)
    save_split(tmp_path / "b.npz", split)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = load_split(tmp_path / "a.npz")
    assert all(np.array_equal(loaded[name], split[name]) for name in SPLIT_ARRAYS)


def test_load_split_rejects_other_archives_and_pickles(tmp_path):
    np.savez(tmp_path / "other.npz", x_train=np.zeros(2))
    with pytest.raises(BadInput, match="other.npz: not a prepared split"):
        load_split(tmp_path / "other.npz")
    arrays = {name: np.zeros(2) for name in SPLIT_ARRAYS}
    arrays["y_test"] = np.array([{"a": 1}], dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(ValueError, match="allow_pickle"):
        load_split(tmp_path / "pickled.npz")
