"""The config's defaults, read from config/schema.yaml, where each is declared once.

The workflow fills a config's left-out keys from the schema before any job starts
(workflow.validate_config), so the jobs get complete sections; a script run by hand with part of
a section takes the rest from here. Standard library and PyYAML only.
"""

import functools
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


@functools.cache
def load_schema(path=SCHEMA):
    """The schema as data. libyaml's loader where PyYAML has it: the pure-Python one takes 8 times
    as long, and the Snakefile reads the schema at every DAG build."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def section_defaults(pointer):
    """The declared defaults of the object schema at `pointer` (a JSON pointer into the schema,
    e.g. "/properties/train"): key -> default."""
    node = load_schema()
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return {key: spec["default"] for key, spec in node.get("properties", {}).items()
            if isinstance(spec, dict) and "default" in spec}


def with_defaults(pointer, settings):
    """`settings` with the keys it leaves out taken from the schema's defaults at `pointer`."""
    return {**section_defaults(pointer), **(settings or {})}
