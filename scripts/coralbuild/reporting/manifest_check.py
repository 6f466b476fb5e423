"""A manifest someone hands the comparison or verify_manifest.py, read and checked against the
shape the workflow writes before anything relies on it (a separate module: the jobs that write
manifests need no jsonschema)."""

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from coralbuild.errors import BadInput, first_line
from coralbuild.inputs import regular_file

# What the readers of a manifest rely on (one written by hand, or tampered with, is checked
# against it first): every path a relative one under results/, never leaving it.
SAFE_PATH = r"^results/(?!.*(^|/)\.\.(/|$))[^\x00]+$"
ARTIFACT_SCHEMA = {
    "type": "object",
    "required": ["path", "size", "sha256", "rule", "measurement"],
    "properties": {
        "path": {"type": "string", "pattern": SAFE_PATH},
        "size": {"type": "integer", "minimum": 0},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "rule": {"type": "string"},
        "measurement": {"type": "boolean"},
        "config_sections": {"type": "object", "additionalProperties": {"type": "string"}},
        "code": {"type": "array", "items": {"type": "string", "pattern": SAFE_PATH}},
    },
}
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["artifacts"],
    "properties": {
        "versions": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "artifacts": {"type": "array", "items": ARTIFACT_SCHEMA},
    },
}
MANIFEST_BYTES = 256 * 2**20


def read_manifest(path, label=""):
    """The manifest at `path`, checked against MANIFEST_SCHEMA, or BadInput naming the file and
    what is wrong (`label`, BASE or NEW, says which run)."""
    where = f" ({label})" if label else ""
    try:
        manifest = json.loads(Path(regular_file(path, MANIFEST_BYTES, "manifest")).read_text())
    except (OSError, ValueError, RecursionError) as error:  # RecursionError: brackets nested without end
        raise BadInput(f"{path}: not a manifest of this workflow{where}: {first_line(error)}") from None
    error = next(iter(sorted(Draft202012Validator(MANIFEST_SCHEMA).iter_errors(manifest), key=lambda e: list(e.path))),
                 None)
    if error is not None:
        at = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise BadInput(f"{path}: not a manifest of this workflow{where}: at {at}: {first_line(error.message)}")
    return manifest
