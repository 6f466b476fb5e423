"""The image_folder format: a folder of photos, one subfolder per class.

    <path>/<class>/<image>                                   split by test_size, seeded, stratified
    <path>/train/<class>/<image> + <path>/test/<class>/...   the test set as given

Class names are the sorted subfolder names. JPEG, PNG, BMP and GIF files (by extension, in any
case) are images; any other file, and hidden files, are skipped and counted. Images may sit in
nested folders below their class folder.
"""

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from coralbuild.data.images import CHANNELS, is_image_name, read_image_file
from coralbuild.data.prepared import save_labels, source_listing, write_images, write_info
from coralbuild.data.split import assign_splits
from coralbuild.errors import BadInput, ConfigError

SPLIT_FOLDERS = ("train", "test")


class Scan:
    """The images of a folder: relative paths and labels (training pool first), class names,
    and the files skipped."""

    def __init__(self, root):
        self.root = Path(root)
        if not self.root.is_dir():
            raise BadInput(f"{self.root}: folder not found")
        self.split_layout = _has_split_folders(self.root)
        self.paths, self.labels, self.skipped = [], [], []
        if self.split_layout:
            train_classes = self._scan_classes(self.root / "train")
            self.test_start = len(self.paths)
            test_classes = self._scan_classes(self.root / "test", expected=train_classes)
            self.classes = train_classes
        else:
            self.test_start = None
            self.classes = self._scan_classes(self.root)
        if len(self.classes) < 2:
            raise BadInput(f"{self.root}: a classifier needs at least two class folders, found "
                           f"{len(self.classes)} ({', '.join(self.classes) or 'none'})")

    def _scan_classes(self, folder, expected=None):
        classes = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))
        self.skipped += [folder / entry.name for entry in os.scandir(folder) if not entry.is_dir()]
        if not classes:
            raise BadInput(f"{folder}: no class folders (expected <class>/<image> inside)")
        if expected is not None and classes != expected:
            raise BadInput(f"{folder} has classes {classes} but {folder.parent / 'train'} has {expected}: "
                           "train and test must have the same class folders")
        for label, name in enumerate(classes):
            images = self._images_in(folder / name)
            if not images:
                raise BadInput(f"{folder / name}: class folder with no images (JPEG, PNG, BMP or GIF)")
            self.paths += images
            self.labels += [label] * len(images)
        return classes

    def _images_in(self, folder):
        """Relative paths of the images below `folder`, sorted; other files go to `skipped`."""
        images = []
        for parent, folders, files in os.walk(folder):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            for name in sorted(files):
                path = Path(parent) / name
                if is_image_name(name):
                    images.append(path.relative_to(self.root).as_posix())
                else:
                    self.skipped.append(path)
        return images


@functools.lru_cache(maxsize=None)  # planning asks twice per dataset: scan once
def planned_scan(path):
    return Scan(path)


def _has_split_folders(root):
    """Whether `root` holds train/ and test/ (then nothing else): half of the pair, or a third
    folder beside them (val/), is an error rather than a class of that name."""
    folders = {entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith(".")}
    split_names = folders & {"train", "test", "val", "validation"}
    if not split_names:
        return False
    if not {"train", "test"} <= folders or folders - set(SPLIT_FOLDERS):
        raise BadInput(f"{root}: give either one folder per class, or exactly train/ and test/ folders of classes "
                       f"(found {', '.join(sorted(folders))})")
    return True


def check_config(name, settings):
    key = f"datasets.{name}"
    if "path" not in settings:
        raise ConfigError(f"invalid config at {key}: an image_folder dataset needs 'path'")
    try:
        scan = planned_scan(settings["path"])
    except BadInput as error:
        raise ConfigError(f"invalid config at {key}.path: {error}") from None
    if scan.split_layout and "test_size" in settings:
        raise ConfigError(f"invalid config at {key}.test_size: {settings['path']} has a test/ folder, "
                          "which is the test set; remove test_size")
    if not scan.split_layout and "test_size" not in settings:
        raise ConfigError(f"invalid config at {key}: {settings['path']} has no train/ and test/ folders; "
                          "set test_size to split off a test set")


def image_size(settings):
    return tuple(settings["image_size"])


def rule_inputs(name, settings):
    """Every image file: an edited, added or removed image reruns the prepare step."""
    scan = planned_scan(settings["path"])
    return {"images": [str(scan.root / path) for path in scan.paths]}


def folder_digest(digests):
    """The sha256 of the folder: of its `sha256sum` listing (one line per image, by path)."""
    return hashlib.sha256(source_listing(digests).encode()).hexdigest()


def prepare(settings, source, folder, threads):
    scan = Scan(source["folder"])
    print(f"{scan.root}: {len(scan.paths)} images in {len(scan.classes)} classes"
          f" ({'train/ and test/ folders' if scan.split_layout else 'one folder per class'});"
          f" {len(scan.skipped)} other files skipped")
    for path in scan.skipped[:20]:
        print(f"  skipped (not an image): {path}")
    labels = np.asarray(scan.labels, dtype=np.int64)
    splits = assign_splits(labels, settings, test_start=scan.test_start, class_names=scan.classes)
    size, color = tuple(settings["image_size"]), settings["color"]

    def load(item, decode):
        path = scan.root / scan.paths[item]
        if decode:
            return read_image_file(path, size, color)
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest(), None

    image_shape = (*size, CHANNELS[color])
    digests = dict(zip(scan.paths, write_images(folder, splits, image_shape, load, len(scan.paths), threads)))
    digest = folder_digest(digests)
    expected = settings.get("sha256")
    if expected and digest != expected.lower():
        raise BadInput(f"{scan.root}: sha256 of the folder is {digest}, expected {expected} (datasets.*.sha256)")
    for split, chosen in splits.items():
        save_labels(folder, split, labels[chosen])
    write_info(folder, scan.classes, image_shape, {split: len(chosen) for split, chosen in splits.items()},
               digest, source_listing(digests), format="image_folder", skipped_files=len(scan.skipped))
    print(f"folder sha256 {digest}; " + ", ".join(f"{split}: {len(chosen)}" for split, chosen in splits.items()))
