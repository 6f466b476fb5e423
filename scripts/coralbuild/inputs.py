"""Files a user brings are read only when they are regular files no larger than their format can
hold: a FIFO named `.jpg` would hang its reader forever, a symlink to /dev/zero never ends, and a
64 GiB sparse file exhausts memory before any format check. Standard library only: the device
benchmark's Python 3.9 environment reads models through it."""

import os
import stat

from coralbuild.errors import BadInput

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


def read_text(path, limit, what):
    """The UTF-8 text of the regular file at `path` (at most `limit` bytes); BadInput naming it when
    it cannot be read or is not UTF-8 text."""
    regular_file(path, limit, what)
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(f"{shown(path)}: not UTF-8 text (byte {error.start}); save the {what} as UTF-8") from None
    except OSError as error:
        raise BadInput(f"{shown(path)}: cannot read ({error.strerror or type(error).__name__})") from None


def shown(path):
    """`path` for a message: a name that is not UTF-8 with its bytes as \\x escapes (printing the
    surrogates Python decodes it to would fail)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
