"""labels.txt, written so that Coral's `read_label_file` (pycoral.utils.dataset) maps every index
to its class name exactly.

Coral's reader splits each line at the first run of spaces or colons and takes the first part as
the index when it is all digits, else the line number. One name per line (`2 dogs`) would read
as index 2; so every line is `<index> <name>`, which its rule reads back whole. A name that no line
can carry (a line break or other control character, leading or trailing space, none at all) is
refused, naming it; so is one starting with a colon, which the reader's separator would swallow.
"""

import unicodedata

from coralbuild.errors import BadInput

# Unicode's line and paragraph separators: line breaks to most readers but Coral's.
LINE_BREAKING = {"Zl", "Zp"}


def unwritable(name):
    """Why `name` cannot be a line of labels.txt, or None."""
    if not name:
        return "it is empty"
    if any(unicodedata.category(character) in LINE_BREAKING or unicodedata.category(character).startswith("C")
           for character in name):
        return "it holds a line break or other control character"
    if name != name.strip():
        return "it starts or ends with a space"
    if name.startswith(":"):
        return "it starts with a colon, which Coral's reader takes as part of the separator"
    return None


def labels_text(classes):
    """labels.txt's text for the class names in index order."""
    for name in classes:
        why = unwritable(name)
        if why:
            raise BadInput(f"class name {name!r} cannot be written to labels.txt: {why}")
    return "".join(f"{index} {name}\n" for index, name in enumerate(classes))
