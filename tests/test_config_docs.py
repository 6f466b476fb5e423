"""config/README.md and config/schema.yaml describe the same keys: a key added to one and not the
other fails here."""

import re

import yaml

from conftest import PROJECT

SCHEMA = yaml.safe_load((PROJECT / "config/schema.yaml").read_text())
README = (PROJECT / "config/README.md").read_text()


def schema_keys(node):
    """Every property name anywhere in the schema (sections, blocks of formats, architectures and sources)."""
    keys = set()
    if isinstance(node, dict):
        keys |= set(node.get("properties", {}))
        for value in node.values():
            keys |= schema_keys(value)
    elif isinstance(node, list):
        for item in node:
            keys |= schema_keys(item)
    return keys


def documented_keys():
    """Keys in the first column of the README's tables, and its `## \\`section\\`` headings."""
    rows = set(re.findall(r"^\| `([a-z_0-9]+)` \|", README, re.MULTILINE))
    sections = set(re.findall(r"^## `([a-z_]+)", README, re.MULTILINE))
    return rows | sections


def test_every_schema_key_is_documented():
    # The four IDX parts are keys of sha256/download_sha256/files, documented in their rows' text.
    parts = {"train_images", "train_labels", "test_images", "test_labels"}
    missing = schema_keys(SCHEMA) - documented_keys() - parts
    assert not missing, f"in config/schema.yaml but not in config/README.md: {sorted(missing)}"
    assert all(f"`{part}`" in README for part in parts)


def test_every_documented_key_is_in_the_schema():
    extra = documented_keys() - schema_keys(SCHEMA)
    assert not extra, f"in config/README.md but not in config/schema.yaml: {sorted(extra)}"


def test_every_registered_name_is_documented():
    from coralbuild.data.formats import FORMATS
    from coralbuild.models.architectures import ARCHITECTURES

    for name in list(FORMATS) + list(ARCHITECTURES):
        assert f"`{name}`" in README, name


# "default `5`", "`auto` (default)", "`false` (the default): ..."
DOCUMENTED_DEFAULT = re.compile(r"default `([^`]*)`|`([^`]*)` \((?:the )?default\b", re.IGNORECASE)


def documented_defaults():
    """(section, key) -> the defaults the README states in the key's table row, or in the
    section's own text for key None, for each `## \\`section\\`` heading."""
    found = {}
    for section, body in re.findall(r"^## `([a-z_]+)`\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL):
        for line in body.splitlines():
            row = re.match(r"\| `([a-z_0-9]+)` \|(.*)", line)
            key, text = (row.group(1), row.group(2)) if row else (None, line)
            values = [yaml.safe_load(first or second) for first, second in DOCUMENTED_DEFAULT.findall(text)]
            if values:
                found.setdefault((section, key), []).extend(values)
    return found


def schema_defaults():
    """(section, key) -> the default the schema declares for a top-level section's key, or for the
    section itself (key None) unless that is only `{}` (its keys' defaults fill it)."""
    found = {}
    for section, schema in SCHEMA["properties"].items():
        if schema.get("default", {}) != {}:
            found[section, None] = schema["default"]
        for key, subschema in schema.get("properties", {}).items():
            if "default" in subschema:
                found[section, key] = subschema["default"]
    return found


def test_the_sections_defaults_are_the_documented_ones():
    declared = schema_defaults()
    documented = {place: values for place, values in documented_defaults().items() if place[0] in {s for s, _ in declared}}
    assert {place: [value] for place, value in declared.items()} == documented


def test_the_readme_says_which_input_sizes_have_their_own_imagenet_file():
    from coralbuild.models.architectures import ARCHITECTURES

    readme = " ".join((PROJECT / "README.md").read_text().split())
    for name, architecture in ARCHITECTURES.items():
        if architecture.imagenet:
            assert f"`{name}`" in readme and architecture.imagenet.sizes in readme, name
