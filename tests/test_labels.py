"""labels.txt maps every index to its class name exactly as Coral's read_label_file reads it, for
any name it accepts, and names no line can carry are refused (generated hostile names)."""

import io
import random
import re

import pytest

from conftest import write_image_folder
from coralbuild.data.formats.image_folder import Scan
from coralbuild.data.labels import labels_text, unwritable
from coralbuild.errors import BadInput


def coral_read_label_file(text):
    """pycoral.utils.dataset.read_label_file's parsing rule, on the file's text."""
    labels = {}
    for row_number, content in enumerate(io.StringIO(text, newline=None).readlines()):  # as open(file, "r")
        pair = re.split(r"[:\s]+", content.strip(), maxsplit=1)
        if len(pair) == 2 and pair[0].strip().isdigit():
            labels[int(pair[0])] = pair[1].strip()
        else:
            labels[row_number] = pair[0].strip()
    return labels


def test_names_that_read_as_indices_one_per_line_are_written_so_they_do_not():
    classes = ["2 dogs", "10 cats", "bird: small", "7"]
    assert coral_read_label_file("".join(f"{name}\n" for name in classes)) != dict(enumerate(classes))  # the old way
    assert coral_read_label_file(labels_text(classes)) == dict(enumerate(classes))


# Mostly ordinary characters (digits, spaces and colons among them: what fools Coral's reader),
# now and then one no line can carry.
ORDINARY, HOSTILE = "ab 1:é日-_.0", "\t\n\r\u00a0\u2028\x00"


def generated_name(generator):
    return "".join(generator.choice(HOSTILE if generator.random() < 0.05 else ORDINARY)
                   for _ in range(generator.randint(0, 6)))


def test_every_generated_name_is_written_exactly_or_refused():
    generator = random.Random(0)
    written = refused = 0
    for _ in range(2000):
        names = [generated_name(generator) for _ in range(3)]
        if any(unwritable(name) for name in names):
            with pytest.raises(BadInput, match="cannot be written to labels.txt"):
                labels_text(names)
            refused += 1
        else:
            assert coral_read_label_file(labels_text(names)) == dict(enumerate(names)), names
            written += 1
    assert written > 100 and refused > 100


def test_a_class_folder_with_a_line_break_is_refused_while_planning(tmp_path):
    write_image_folder(tmp_path / "photos", classes={"red": (200, 0, 0), "two\nlines": (0, 200, 0)})
    with pytest.raises(BadInput, match=r"two\nlines: the class name cannot be written to labels.txt \(it holds a line break"):
        Scan(tmp_path / "photos")
