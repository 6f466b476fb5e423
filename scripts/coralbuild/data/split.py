"""Prepare a dataset of IDX files into one reproducible train/validation/test split."""

import io
import zipfile

import numpy as np

from coralbuild.data.files import PARTS
from coralbuild.errors import BadInput
from coralbuild.data.idx import read_idx

SPLIT_ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
# A fixed zip entry time makes the .npz byte-identical from run to run.
ZIP_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def load_idx_pair(images_path, labels_path, images_sha256, labels_sha256):
    """Read matching image and label files and check that their counts agree."""
    images = read_idx(images_path, PARTS["train_images"], images_sha256)
    labels = read_idx(labels_path, PARTS["train_labels"], labels_sha256)
    if len(images) != len(labels):
        raise BadInput(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    return images, labels


def split_dataset(train, test, validation_size, seed, max_train_size=None, max_test_size=None):
    """Split (images, labels) pairs into train/validation/test arrays.

    The validation set is a seeded random sample of the training data; `max_*_size` keep the
    first examples of the (shuffled) train and of the test set, for quick runs.
    """
    (train_images, train_labels), (test_images, test_labels) = train, test
    if validation_size >= len(train_images):
        raise BadInput(
            f"validation_size {validation_size} leaves no training data "
            f"({len(train_images)} training examples)"
        )
    order = np.random.default_rng(seed).permutation(len(train_images))
    val_index, train_index = order[:validation_size], order[validation_size:]
    train_index = train_index[:max_train_size]
    return {
        "x_train": train_images[train_index],
        "y_train": train_labels[train_index],
        "x_val": train_images[val_index],
        "y_val": train_labels[val_index],
        "x_test": test_images[:max_test_size],
        "y_test": test_labels[:max_test_size],
    }


def save_split(path, arrays):
    """Write arrays as a .npz (readable by numpy.load) with fixed zip entry times."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_ENTRY_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, buffer.getvalue())


def load_split(path):
    """Read a prepared split; never unpickles."""
    with np.load(path, allow_pickle=False) as archive:
        missing = [name for name in SPLIT_ARRAYS if name not in archive.files]
        if missing:
            raise BadInput(f"{path}: not a prepared split (missing {', '.join(missing)})")
        return {name: archive[name] for name in SPLIT_ARRAYS}


def num_classes(labels):
    return int(labels.max()) + 1
