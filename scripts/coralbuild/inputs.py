"""Files a user brings are read only when they are regular files no larger than their format can
hold: a FIFO named `.jpg` would hang its reader forever, a symlink to /dev/zero never ends, and a
64 GiB sparse file exhausts memory before any format check. YAML files are read refusing a key
given twice."""

import os
import stat

import yaml

from coralbuild.errors import BadInput, first_line

# A .tflite is a FlatBuffer, which addresses at most 2 GiB.
MODEL_BYTES = 2**31 - 1
# An image file past this is no photo for a 96-640 px model (Pillow's own pixel limit guards the decoded size).
IMAGE_BYTES = 256 * 2**20
# A YOLO label file: a line per box, far fewer than a million of them.
LABEL_BYTES = 64 * 2**20


def regular_file(path, limit, what):
    """`path`, when it is a regular file of at most `limit` bytes (symlinks followed), else BadInput naming it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or type(error).__name__})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise BadInput(f"{path}: {kind}; give the {what} itself")
    if info.st_size > limit:
        raise BadInput(f"{path}: {info.st_size:,} bytes, more than a {what} can be ({limit:,})")
    return path


# A YAML file a user writes (a config, a thresholds file, a data.yaml): far below this.
YAML_BYTES = 16 * 2**20


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping: PyYAML keeps the last
    silently, so a setting written twice would quietly lose one value. Merge keys (`<<`) still
    override as YAML defines."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the safe loader's own error names it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (YAML would keep only the last)", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path):
    """The YAML (or JSON) file at `path` as data; BadInput naming the file, line and problem
    when it is not a readable YAML file or gives a key twice."""
    regular_file(path, YAML_BYTES, "YAML file")
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_UniqueKeyLoader)
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{path}{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise BadInput(f"{path}: not a readable YAML file ({first_line(error)})") from None
