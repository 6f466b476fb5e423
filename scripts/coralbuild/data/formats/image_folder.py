"""The image_folder format: a folder of photos, one subfolder per class.

    <path>/<class>/<image>                  one folder per class: test_size, then validation_size
                                            of the rest, are split off (seeded, stratified)
    <path>/train/<class>/<image>            split folders, as people keep them: train/ with any of
    <path>/val/<class>/<image>                the validation set as given (or validation/); without
                                              it, validation_size is split off train/
    <path>/test/<class>/<image>               the test set as given; without it, test_size is
                                              split off train/

Class names are the sorted subfolder names (of train/ in the split layout; val/ and test/ may
lack a class, which is then a warning, but not add one). JPEG, PNG, BMP and GIF files (by
extension, in any case) are images; any other file, and hidden files, are skipped and counted.
Folders are walked as data/walk.py does for every format (links followed, loops and names that
are not UTF-8 refused).
Images may sit in nested folders below their class folder; when no class folder holds an image
directly and the folders below look like datasets of their own (a parent folder of datasets
given as `path`), planning refuses the folder naming the likely right path, unless the config
says `nested: true`.
"""

import functools
import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np

from coralbuild.atomic import write_text
from coralbuild.data.images import CHANNELS, is_image_name, read_image_file
from coralbuild.data.labels import unwritable
from coralbuild.data.prepared import save_labels, source_listing, write_images, write_info
from coralbuild.data.split import assign_splits, few_images_warnings
from coralbuild.data.walk import check_names, walk
from coralbuild.errors import BadInput, ConfigError
from coralbuild.inputs import IMAGE_BYTES, regular_file, shown

TASK = "classify"  # what its datasets measure (coralbuild/tasks/)

# The split each top-level folder name stands for; any one of them makes the split layout.
SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
# What each split is called in messages, and the config key that splits it off train/ without its folder.
SPLIT_NAMES = {"val": "validation", "test": "test"}
SIZE_KEYS = {"val": "validation_size", "test": "test_size"}
# Where planning keeps the sha256 of each image by its file's stat (size, times, inode): a DAG
# build hashes only the images that are new or whose stat changed since the last one.
DIGEST_CACHE = Path(".snakemake/coralbuild/image_folder_sha256")


class Scan:
    """The images of a folder: relative paths and labels (the training pool first, then each
    given split), class names, the split folders found, and the files skipped."""

    def __init__(self, root, refuse_nested=False):
        self.root = Path(root)
        if not self.root.is_dir():
            raise BadInput(f"{shown(self.root)}: folder not found")
        self._real_folders = set()  # each folder walked, as its real path: a second visit is a loop
        try:
            self._scan(refuse_nested)
        except OSError as error:  # a symlink loop, a folder that cannot be listed
            raise BadInput(f"{shown(error.filename or self.root)}: cannot be read ({error.strerror or error})") from None

    def _scan(self, refuse_nested):
        self.split_folders = _split_folders(self.root)  # split -> its folder's name; {} for one folder per class
        self.paths, self.labels, self.skipped, self.given = [], [], [], {}
        if self.split_folders:
            self.classes, empty = self._scan_classes(self.root / "train")
            for split in ("val", "test"):
                if split in self.split_folders:
                    self._scan_given_split(split)
        else:
            self.classes, empty = self._scan_classes(self.root)
            if refuse_nested:
                _refuse_nested(self.root, self.paths)
        if empty:
            raise BadInput(f"{empty[0]}: class folder with no images (JPEG, PNG, BMP or GIF)")
        if len(self.classes) < 2:
            raise BadInput(f"{self.root}: a classifier needs at least two class folders, found "
                           f"{len(self.classes)} ({', '.join(self.classes) or 'none'})")

    def _class_folders(self, folder):
        """The sorted class folder names in `folder`; its files go to `skipped`."""
        entries = list(os.scandir(folder))
        check_names(folder, [entry.name for entry in entries])
        self.skipped += [folder / entry.name for entry in entries if not entry.is_dir()]
        classes = sorted(entry.name for entry in entries if entry.is_dir() and not entry.name.startswith("."))
        if not classes:
            raise BadInput(f"{folder}: no class folders (expected <class>/<image> inside)")
        for name in classes:
            why = unwritable(name)
            if why:
                raise BadInput(f"{folder / name}: the class name cannot be written to labels.txt ({why}); rename the folder")
        return classes

    def _scan_classes(self, folder):
        """(class names, class folders without images) of the training pool's folder."""
        classes = self._class_folders(folder)
        empty = []
        for label, name in enumerate(classes):
            images = self._images_in(folder / name)
            if not images:
                empty.append(folder / name)
            self.paths += images
            self.labels += [label] * len(images)
        return classes, empty

    def _scan_given_split(self, split):
        """The images of val/ or test/, labelled by train/'s classes (a class it lacks is a warning
        after the split; one train/ lacks is an error)."""
        folder = self.root / self.split_folders[split]
        start = len(self.paths)
        for name in self._class_folders(folder):
            if name not in self.classes:
                raise BadInput(f"{folder / name}: no class {name} in {self.root / 'train'} "
                               f"(its classes: {', '.join(self.classes)})")
            images = self._images_in(folder / name)
            self.paths += images
            self.labels += [self.classes.index(name)] * len(images)
        if len(self.paths) == start:
            raise BadInput(f"{folder}: no images in its class folders (the {SPLIT_NAMES[split]} set)")
        self.given[split] = range(start, len(self.paths))

    def _images_in(self, folder):
        """Relative paths of the images below `folder`, sorted; other files go to `skipped`."""
        images, top, prefix = [], str(folder), folder.relative_to(self.root).as_posix()
        for parent, files in walk(top, self._real_folders):
            # Strings, not pathlib (ten times the cost): planning scans every image of the folder.
            relative = prefix + parent[len(top):].replace(os.sep, "/") + "/"
            for name in files:
                if is_image_name(name):
                    images.append(relative + name)
                else:
                    self.skipped.append(Path(parent) / name)
        return images

    def layout(self):
        """The layout in words, for the prepare log."""
        if not self.split_folders:
            return "one folder per class"
        names = [f"{name}/" for name in self.split_folders.values()]
        return (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]) + " folders"


def _split_folders(root):
    """split -> folder name of the split folders at the top of `root` ({} when there is none):
    train/ must be one of them, val/ and validation/ not both, and nothing else beside them (a
    class of that name beside class folders would be a guess)."""
    folders = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))
    named = [name for name in folders if name in SPLIT_FOLDERS]
    if not named:
        return {}
    others = [name for name in folders if name not in SPLIT_FOLDERS]
    if "train" not in named or others or {"val", "validation"} <= set(named):
        problem = ("both val/ and validation/" if {"val", "validation"} <= set(named) else
                   f"{_folders(others)} beside {_folders(named)}" if others else f"{_folders(named)} without train/")
        raise BadInput(f"{root}: {problem}: give either one folder per class, or train/ with val/ (or validation/) "
                       "and test/ as you have them, each holding class folders")
    return {SPLIT_FOLDERS[name]: name for name in ("train", "val", "validation", "test") if name in named}


def _refuse_nested(root, paths):
    """BadInput when `root` looks like a folder of datasets rather than of classes: no class folder
    holds an image directly, and at least one holds split folders or two or more folders of
    images (that is, classes of its own). Names the first such folder as the likely `path`."""
    parts = [path.split("/") for path in paths]
    if any(len(part) == 2 for part in parts):
        return
    below = {}  # class folder -> its subfolders holding images directly, or named as a split
    for part in parts:
        if len(part) == 3 or part[1] in SPLIT_FOLDERS:
            below.setdefault(part[0], set()).add(part[1])
    datasets = [name for name, folders in sorted(below.items()) if len(folders) >= 2 or folders & set(SPLIT_FOLDERS)]
    if datasets:
        tops = sorted({part[0] for part in parts})
        meant = f"; set nested: true if {_some(tops)} are the classes" if len(tops) > 1 else ""
        raise BadInput(f"{root}: the images sit two levels down (e.g. {paths[0]}), as in a folder of datasets: "
                       f"path is likely {root / datasets[0]}{meant}")


def _folders(names):
    return ", ".join(f"{name}/" for name in names)


def _some(names, limit=3):
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


@functools.lru_cache(maxsize=None)  # planning asks more than once per dataset: scan once
def planned_scan(path, refuse_nested):
    return Scan(path, refuse_nested)


def _planning_key(settings):
    """(path, whether a folder of datasets is refused): what planning scans, once per DAG build."""
    return settings["path"], not settings.get("nested", False)


@functools.lru_cache(maxsize=None)  # once per DAG build, however often Snakemake asks
def _planned_sha256(path, refuse_nested):
    return planned_folder_sha256(planned_scan(path, refuse_nested), DIGEST_CACHE)


def check_config(name, settings):
    key = f"datasets.{name}"
    if "path" not in settings:
        raise ConfigError(f"invalid config at {key}: an image_folder dataset needs 'path'")
    try:
        scan = planned_scan(*_planning_key(settings))
        _planned_sha256(*_planning_key(settings))  # the job's parameter: an unreadable image is named here
    except BadInput as error:
        raise ConfigError(f"invalid config at {key}.path: {error}") from None
    # A split folder is that split: the size that would split it off train/ is refused, and
    # without the folder it is required.
    for split, size_key in SIZE_KEYS.items():
        folder = scan.split_folders.get(split)
        if folder and size_key in settings:
            raise ConfigError(f"invalid config at {key}.{size_key}: {settings['path']} has a {folder}/ folder, "
                              f"which is the {SPLIT_NAMES[split]} set; remove {size_key}")
        if not folder and size_key not in settings:
            folders = "val/ or validation/" if split == "val" else "test/"
            raise ConfigError(f"invalid config at {key}: {settings['path']} has no {folders} folder; "
                              f"set {size_key} to split off a {SPLIT_NAMES[split]} set")


def image_size(settings):
    return tuple(settings["image_size"])


def rule_inputs(name, settings):
    """No files: the images reach the job through source_digest (thousands of inputs would fill its printout)."""
    return {}


def prepare_source(name, settings):
    """The folder, from the config rather than the job's inputs: an image folder's images are not
    inputs, so a new `path` must show in the job's parameters."""
    return {"folder": settings["path"]}


def source_digest(name, settings):
    """The folder's sha256 (what `sha256:` pins) as it is now: editing, adding or removing an
    image changes it, touching one does not."""
    return _planned_sha256(*_planning_key(settings))


def folder_digest(digests):
    """The sha256 of the folder: of its `sha256sum` listing (one line per image, by path)."""
    return hashlib.sha256(source_listing(digests).encode()).hexdigest()


def planned_folder_sha256(scan, cache_folder):
    """folder_digest of `scan`'s images, reading only the images whose stat differs from the one
    recorded in `cache_folder` (a touched image is read again and gives the same sha256)."""
    cache_file = Path(cache_folder) / (hashlib.sha256(str(scan.root.resolve()).encode()).hexdigest()[:32] + ".json")
    try:
        recorded = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        recorded = {}
    recorded = recorded if isinstance(recorded, dict) else {}
    current, root = {}, str(scan.root)
    for path in scan.paths:
        full = os.path.join(root, path)  # not pathlib: ten times the cost, for every image of every plan
        try:
            info = os.stat(full)
            if not stat.S_ISREG(info.st_mode):  # a FIFO named .jpg would hang the hash below
                regular_file(full, IMAGE_BYTES, "image")
            stamp = f"{info.st_size} {info.st_mtime_ns} {info.st_ctime_ns} {info.st_ino}"
            known = recorded.get(path)
            unchanged = isinstance(known, list) and len(known) == 2 and known[0] == stamp
            current[path] = known if unchanged else [stamp, _file_sha256(full)]
        except OSError as error:
            raise BadInput(f"{shown(full)}: cannot read the file ({error.strerror or error})") from None
    if current != recorded:
        try:
            write_text(cache_file, json.dumps(current, sort_keys=True))
        except OSError:
            pass  # a cache only: the next DAG build reads those images again
    return folder_digest({path: digest for path, (_, digest) in current.items()})


def _file_sha256(path):
    """The sha256 of an image file; BadInput naming it when it cannot be read (unreadable for
    this user, or removed since planning)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise BadInput(f"{shown(path)}: cannot read the file ({error.strerror or error})") from None


def prepare(settings, source, folder, threads):
    scan = Scan(source["folder"])
    print(f"{scan.root}: {len(scan.paths)} images in {len(scan.classes)} classes ({scan.layout()});"
          f" {len(scan.skipped)} other files skipped")
    for path in scan.skipped[:20]:
        print(f"  skipped (not an image): {path}")
    labels = np.asarray(scan.labels, dtype=np.int64)
    splits = assign_splits(labels, settings, given=scan.given, class_names=scan.classes)
    size, color = tuple(settings["image_size"]), settings["color"]

    def load(item, decode):
        path = scan.root / scan.paths[item]
        if decode:
            return read_image_file(path, size, color)
        regular_file(path, IMAGE_BYTES, "image")  # a FIFO swapped in since planning would hang the hash
        return _file_sha256(path), None

    image_shape = (*size, CHANNELS[color])
    digests = dict(zip(scan.paths, write_images(folder, splits, image_shape, load, len(scan.paths), threads), strict=True))
    digest = folder_digest(digests)
    expected = settings.get("sha256")
    if expected and digest != expected.lower():
        raise BadInput(f"{scan.root}: sha256 of the folder is {digest}, expected {expected} (datasets.*.sha256)")
    for split, chosen in splits.items():
        save_labels(folder, split, labels[chosen])
    write_info(folder, scan.classes, image_shape, {split: len(chosen) for split, chosen in splits.items()},
               digest, source_listing(digests), warnings=few_images_warnings(labels, splits, scan.classes),
               format="image_folder", skipped_files=len(scan.skipped))
    print(f"folder sha256 {digest}; " + ", ".join(f"{split}: {len(chosen)}" for split, chosen in splits.items()))
