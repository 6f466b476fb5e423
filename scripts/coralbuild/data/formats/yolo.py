"""The yolo format: a detection dataset as Ultralytics reads it, to measure a detector's mAP.

    <path>                      data.yaml: `names` (a list, or index -> name), `val` and/or
                                `test` (image folders, relative to its `path` key, itself
                                relative to the data.yaml's folder; default: that folder)
    .../images/<...>/<image>    the split's images (JPEG, PNG, BMP or GIF, nested or not)
    .../labels/<...>/<stem>.txt one line per box: `class x_center y_center width height`, the
                                four normalised to [0, 1] by the image's width and height; no
                                file, or an empty one: an image without boxes

The prepare step checks every label line and writes the split's ground truth in COCO's format
(`annotations.json`, boxes in pixels, categories by class index) beside `dataset.json`; the
images stay where they are (the evaluation letterboxes them to each model's own input size).
"""

import json
import os
from pathlib import Path

from coralbuild.atomic import write_text
from coralbuild.data.formats.image_folder import planned_folder_sha256
from coralbuild.data.images import IMAGE_FORMATS, is_image_name
from coralbuild.data.labels import unwritable
from coralbuild.data.prepared import INFO_FILE
from coralbuild.data.walk import walk
from coralbuild.errors import BadInput, ConfigError
from coralbuild.inputs import IMAGE_BYTES, LABEL_BYTES, read_text, regular_file
from coralbuild.yaml_input import read_yaml

TASK = "detect"  # what its datasets measure (coralbuild/tasks/)

ANNOTATIONS_FILE = "annotations.json"
DIGEST_CACHE = Path(".snakemake/coralbuild/yolo_sha256")
DEFAULT_SPLIT = "val"


def read_data_yaml(path):
    """(class names, the data.yaml's dataset root) or BadInput naming the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: data.yaml not found")
    data = read_yaml(path)
    if not isinstance(data, dict) or "names" not in data:
        raise BadInput(f"{path}: no `names` (the class names, as Ultralytics' data.yaml has them)")
    names = data["names"]
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        names = [names[index] for index in range(len(names))]
    if not isinstance(names, list) or not names or not all(isinstance(name, str) and name for name in names):
        raise BadInput(f"{path}: `names` must list the class names (or map 0, 1, ... to them)")
    for name in names:
        if unwritable(name):
            raise BadInput(f"{path}: class name {name!r} cannot be written to labels.txt ({unwritable(name)})")
    root = path.parent / str(data.get("path") or ".")
    return names, root, data


def split_folder(path, split):
    """The image folder of `split` ("val" or "test") that the data.yaml at `path` names."""
    _, root, data = read_data_yaml(path)
    if not isinstance(data.get(split), str):
        raise BadInput(f"{path}: no `{split}` folder in it (datasets.*.split chooses val or test)")
    folder = root / data[split]
    if folder.suffix == ".txt":
        raise BadInput(f"{path}: `{split}: {data[split]}` is a list of images; give the folder holding them")
    if not folder.is_dir():
        raise BadInput(f"{path}: `{split}: {data[split]}` names {folder}, which is not a folder")
    return folder


def images_below(folder):
    """Relative paths of the images below `folder`, sorted (hidden files and folders left out)."""
    images = []
    for parent, files in walk(folder):
        relative = Path(parent).relative_to(folder)
        images += [(relative / name).as_posix() for name in files if is_image_name(name)]
    return images


def label_file(image):
    """Ultralytics' rule: the last `images` folder of the path becomes `labels`, the suffix `.txt`."""
    parts = list(Path(image).parts)
    if "images" not in parts:
        return Path(image).with_suffix(".txt")
    index = len(parts) - 1 - parts[::-1].index("images")
    return Path(*parts[:index], "labels", *parts[index + 1:]).with_suffix(".txt")


def read_labels(path, classes):
    """[(class, x_center, y_center, width, height), ...] of one label file, or BadInput naming the
    file, the line and what is wrong with it."""
    if not path.exists():
        return []
    boxes = []
    for number, line in enumerate(read_text(path, LABEL_BYTES, "label file").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}, line {number}"
        if len(fields) != 5:
            raise BadInput(f"{where}: {len(fields)} fields, expected 5 (class x_center y_center width height; "
                           "segment polygons are not read)")
        try:
            label, values = int(fields[0]), [float(field) for field in fields[1:]]
        except ValueError:
            raise BadInput(f"{where}: not a class index and four numbers: {line.strip()!r}") from None
        if not 0 <= label < classes:
            raise BadInput(f"{where}: class {label}, and data.yaml names {classes} classes (0 to {classes - 1})")
        if not all(0.0 <= value <= 1.0 for value in values) or values[2] <= 0 or values[3] <= 0:
            raise BadInput(f"{where}: coordinates {fields[1:]} must lie in [0, 1] (normalised by the image's "
                           "size), with a width and height above 0")
        boxes.append((label, *values))
    return boxes


def _split(settings):
    return settings.get("split", DEFAULT_SPLIT)


def _files(settings):
    """The folder holding the split's images and labels, and the paths below it of each image and
    its label file (images/val/a.jpg, labels/val/a.txt)."""
    folder = split_folder(settings["path"], _split(settings))
    found = images_below(folder)
    if not found:
        raise BadInput(f"{folder}: no images (JPEG, PNG, BMP or GIF) below it")
    base = Path(os.path.commonpath([folder, label_file(folder / found[0]).parent]))
    images = [(folder / image).relative_to(base).as_posix() for image in found]
    return base, images, [label_file(base / image).relative_to(base).as_posix() for image in images]


def check_config(name, settings):
    try:
        _files(settings)
    except BadInput as error:
        raise ConfigError(f"invalid config at datasets.{name}.path: {error}") from None


def image_size(settings):
    return None  # each model letterboxes the images to its own input


def rule_inputs(name, settings):
    return {"data_yaml": settings["path"]}


def prepare_source(name, settings):
    return {"data_yaml": settings["path"], "split": _split(settings)}


class _Listing:
    """What planned_folder_sha256 reads: a root and the files below it."""

    def __init__(self, root, paths):
        self.root, self.paths = root, paths


def source_digest(name, settings):
    """The sha256 of the split's images and label files as they are now: an edit reruns the prepare step."""
    folder, images, labels = _files(settings)
    present = [label for label in labels if (folder / label).is_file()]
    return planned_folder_sha256(_Listing(folder, images + present), DIGEST_CACHE)


def prepare(settings, source, folder, threads):
    from PIL import Image

    classes, _, _ = read_data_yaml(source["data_yaml"])
    root, images, labels = _files({"path": source["data_yaml"], "split": source["split"]})
    coco = {"images": [], "annotations": [], "categories": [{"id": index, "name": name}
                                                            for index, name in enumerate(classes)]}
    for image_id, (image, label) in enumerate(zip(images, labels, strict=True)):
        try:
            with Image.open(regular_file(root / image, IMAGE_BYTES, "image"), formats=IMAGE_FORMATS) as opened:
                width, height = opened.size
        except (OSError, ValueError) as error:
            raise BadInput(f"{root / image}: not a readable image ({error})") from None
        coco["images"].append({"id": image_id, "file_name": image, "width": width, "height": height})
        for label_index, x, y, w, h in read_labels(root / label, len(classes)):
            box = [(x - w / 2) * width, (y - h / 2) * height, w * width, h * height]
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": image_id,
                                        "category_id": label_index, "bbox": box, "area": box[2] * box[3],
                                        "iscrowd": 0})
    boxes = len(coco["annotations"])
    warnings = [] if boxes else [f"{root}: no boxes in any label file: the mAP is undefined"]
    for warning in warnings:
        print(f"warning: {warning}")
    write_text(Path(folder) / ANNOTATIONS_FILE, json.dumps(coco, indent=1) + "\n")
    info = {"format": "yolo", "task": TASK, "classes": classes, "split": source["split"],
            "images_root": str(root), "counts": {"images": len(images), "boxes": boxes}, "warnings": warnings}
    write_text(Path(folder) / INFO_FILE, json.dumps(info, indent=2, sort_keys=True) + "\n")
    print(f"{root}: {len(images)} images, {boxes} boxes in {len(classes)} classes ({source['split']} split)")
