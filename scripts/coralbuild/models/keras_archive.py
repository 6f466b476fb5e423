"""Make a saved .keras file the same bytes for the same model (standard library only).

Keras writes three things that change from run to run although the model does not: the zip
entry time of the weights, `date_saved` in metadata.json, and `shared_object_id` values in
config.json, which are memory addresses. Weights and every other byte stay as Keras wrote them.
"""

import json
import zipfile

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FIXED_DATE_SAVED = "1980-01-01@00:00:00"


def normalize_keras_archive(source, destination):
    """Copy the .keras zip at `source` to `destination` with the varying fields made fixed."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(destination, "w") as normalized:
        for entry in original.infolist():
            content = original.read(entry.filename)
            if entry.filename == "metadata.json":
                content = _fixed_date(content)
            elif entry.filename == "config.json":
                content = _renumbered_shared_objects(content)
            fixed = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
            fixed.compress_type, fixed.external_attr = entry.compress_type, entry.external_attr
            normalized.writestr(fixed, content)


def _fixed_date(content):
    metadata = json.loads(content)
    if "date_saved" in metadata:
        metadata["date_saved"] = FIXED_DATE_SAVED
    return json.dumps(metadata).encode()


def _renumbered_shared_objects(content):
    """Number shared objects 1, 2, ... in order of appearance; equal ids stay equal."""
    numbers = {}

    def renumber(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "shared_object_id":
                    node[key] = numbers.setdefault(value, len(numbers) + 1)
                else:
                    renumber(value)
        elif isinstance(node, list):
            for item in node:
                renumber(item)

    config = json.loads(content)
    renumber(config)
    return json.dumps(config).encode()
