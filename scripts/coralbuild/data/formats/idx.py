"""The IDX format (MNIST and its relatives): four files, train and test images and labels.

Images are grayscale at their stored size unless the dataset sets `image_size` and `color`
(for example MNIST at 96x96 RGB for a MobileNet); then each is resized like an image file.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from coralbuild.data.idx_reader import IDX_BYTES, read_idx, read_idx_shape
from coralbuild.data.images import CHANNELS, fit_image
from coralbuild.data.prepared import save_labels, write_images, write_info
from coralbuild.data.split import assign_splits, few_images_warnings
from coralbuild.errors import BadInput, ConfigError
from coralbuild.layout import download

TASK = "classify"  # what its datasets measure (coralbuild/tasks/)

# Part -> number of IDX dimensions.
PARTS = {"train_images": 3, "train_labels": 1, "test_images": 3, "test_labels": 1}
STANDARD_FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def file_names(settings):
    """The four file names: the standard MNIST names unless `files` overrides them."""
    return {**STANDARD_FILE_NAMES, **settings.get("files", {})}


def check_config(name, settings):
    sources = [key for key in ("path", "url") if key in settings]
    if len(sources) != 1:
        raise ConfigError(f"invalid config at datasets.{name}: give exactly one of 'path' or 'url'")
    if "path" in settings:
        for file_name in file_names(settings).values():
            if not (Path(settings["path"]) / file_name).is_file():
                raise ConfigError(f"invalid config at datasets.{name}.path: {Path(settings['path']) / file_name} not found")


def image_size(settings):
    """(height, width) of the prepared images: `image_size`, else the stored size read from the
    train images' IDX header (None for a dataset not downloaded yet)."""
    if settings.get("image_size"):
        return tuple(settings["image_size"])
    if "path" not in settings:
        return None
    try:
        return read_idx_shape(Path(settings["path"]) / file_names(settings)["train_images"])[1:]
    except BadInput:
        return None  # the prepare step names the broken file


def rule_inputs(name, settings):
    """Where the prepare step reads each part: the local folder, or the verified download."""
    if "path" in settings:
        return {part: str(Path(settings["path"]) / file_name) for part, file_name in file_names(settings).items()}
    return {part: download(file_name, name) for part, file_name in file_names(settings).items()}


def prepare_source(name, settings):
    """The four files by part: the prepare job's inputs."""
    return rule_inputs(name, settings)


def source_digest(name, settings):
    """Nothing beyond the inputs: the four files are the prepare job's inputs."""
    return None


def download_source(settings, file_name):
    """(url, sha256, largest size) of one file of a URL dataset."""
    part = {file: part for part, file in file_names(settings).items()}[file_name]
    return settings["url"].rstrip("/") + "/" + file_name, settings["download_sha256"][part], IDX_BYTES


def load_pair(images_path, labels_path, images_sha256, labels_sha256):
    """Read matching image and label files and check that their counts agree."""
    images = read_idx(images_path, PARTS["train_images"], images_sha256)
    labels = read_idx(labels_path, PARTS["train_labels"], labels_sha256)
    if len(images) != len(labels):
        raise BadInput(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    return images, labels


def prepare(settings, source, folder, threads):
    sha256 = settings["sha256"]
    train = load_pair(source["train_images"], source["train_labels"], sha256["train_images"], sha256["train_labels"])
    test = load_pair(source["test_images"], source["test_labels"], sha256["test_images"], sha256["test_labels"])
    if train[0].shape[1:] != test[0].shape[1:]:
        raise BadInput(f"{source['train_images']} holds images of {train[0].shape[1:]} but "
                       f"{source['test_images']} holds {test[0].shape[1:]}")
    print(f"verified {len(train[0])} training and {len(test[0])} test examples of shape {train[0].shape[1:]}")
    images = np.concatenate([train[0], test[0]])
    labels = np.concatenate([train[1], test[1]]).astype(np.int64)
    classes = [str(index) for index in range(int(labels.max()) + 1)]
    train_classes = np.unique(labels[:len(train[0])])
    if len(train_classes) < 2:  # every prediction would be right: a figure, not a model
        raise BadInput(f"{source['train_labels']}: every training label is {train_classes[0] if len(train_classes) else '-'}; "
                       "a classifier needs at least two classes")
    splits = assign_splits(labels, settings, given={"test": np.arange(len(train[0]), len(labels))}, class_names=classes)
    size = tuple(settings.get("image_size") or images.shape[1:3])
    color = settings.get("color", "grayscale")

    def load(item, decode):
        return None, fit_image(Image.fromarray(images[item], "L"), size, color) if decode else None

    write_images(folder, splits, (*size, CHANNELS[color]), load, len(images), threads)
    for split, chosen in splits.items():
        save_labels(folder, split, labels[chosen])
    write_info(folder, classes, (*size, CHANNELS[color]), {split: len(chosen) for split, chosen in splits.items()},
               source_digest=None, warnings=few_images_warnings(labels, splits, classes), format="idx",
               source_parts_sha256=dict(sorted(sha256.items())))
