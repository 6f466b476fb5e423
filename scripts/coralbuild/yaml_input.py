"""YAML files a user writes (a config, a thresholds file, a data.yaml), read refusing a key given
twice: PyYAML keeps the last silently, so a setting written twice would quietly lose one value."""

import yaml

from coralbuild.errors import BadInput, first_line
from coralbuild.inputs import read_text

# A YAML file a user writes (a config, a thresholds file, a data.yaml): far below this.
YAML_BYTES = 16 * 2**20


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader (libyaml's parser where PyYAML has it: the config is read at every DAG
    build), refusing a key given twice in one mapping. Merge keys (`<<`) still override as YAML
    defines."""

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
    text = read_text(path, YAML_BYTES, "YAML file")
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{path}{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise BadInput(f"{path}: not a readable YAML file ({first_line(error)})") from None
