"""Each rule's conda environment provides what its code imports, at the pins of requirements.txt."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, SCRIPTS
from coralbuild.workflow import code_files

# Import name -> PyPI package, for the third-party modules the scripts use.
PACKAGE_OF = {"tensorflow": "tensorflow-cpu", "keras": "keras", "ai_edge_litert": "ai-edge-litert",
              "numpy": "numpy", "pandas": "pandas", "tqdm": "tqdm", "tflite": "tflite", "yaml": "pyyaml",
              "flatbuffers": "flatbuffers"}
RULE = re.compile(r'^rule (\w+):(.*?)(?=^rule |\Z)', re.MULTILINE | re.DOTALL)


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements():
    pins = {}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalized(name)] = version.strip()
    return pins


def environment_pins(env_file):
    dependencies = yaml.safe_load(env_file.read_text())["dependencies"]
    pip = next(item["pip"] for item in dependencies if isinstance(item, dict))
    return {normalized(name): version for name, version in (entry.split("==") for entry in pip)}


def third_party_imports(files):
    modules = set()
    for path in files:
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names and module != "coralbuild"}


def rules_with_code():
    for rules_file in sorted((PROJECT / "rules").glob("*.smk")):
        for name, body in RULE.findall(rules_file.read_text()):
            script = re.search(r'code\("([\w.]+)"\)', body)
            env = re.search(r'conda:\s*"\.\./(envs/[\w.]+)"', body)
            if script:
                yield name, script.group(1), env.group(1) if env else None


@pytest.mark.parametrize("rule, script, env", list(rules_with_code()))
def test_rule_environment_covers_its_imports(rule, script, env):
    assert env, f"rule {rule} names no conda environment"
    needed = {PACKAGE_OF[module] for module in third_party_imports(code_files(SCRIPTS / script))}
    assert needed <= set(environment_pins(PROJECT / env)), f"{env} lacks {needed - set(environment_pins(PROJECT / env))}"


@pytest.mark.parametrize("env_file", sorted((PROJECT / "envs").glob("*.yaml")), ids=lambda path: path.name)
def test_environment_pins_match_requirements(env_file):
    pins = pinned_requirements()
    for name, version in environment_pins(env_file).items():
        assert pins.get(name) == version, f"{env_file.name}: {name}=={version}, requirements.txt has {pins.get(name)}"
