"""Each rule's conda environment provides what its code imports, at the pins of requirements.txt
(envs/coral.yaml, Coral's own Python 3.9 stack for the device benchmark, has its own pins)."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, SCRIPTS
from coralbuild.code_digest import code_files
from coralbuild.measure.targets import all_targets
from coralbuild.stages import STAGES

# Import name -> PyPI package, for the third-party modules the scripts use.
PACKAGE_OF = {"tensorflow": "tensorflow-cpu", "keras": "keras", "ai_edge_litert": "ai-edge-litert",
              "numpy": "numpy", "pandas": "pandas", "tqdm": "tqdm", "yaml": "pyyaml", "pooch": "pooch", "requests": "requests", "tabulate": "tabulate",
              "flatbuffers": "flatbuffers", "matplotlib": "matplotlib", "tflite_runtime": "tflite-runtime",
              "pycoral": "pycoral", "PIL": "pillow", "pycocotools": "pycocotools", "jsonschema": "jsonschema"}
CORAL_ENV = "envs/coral.yaml"
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
    return {normalized(name): version for name, version in (entry.split("==") for entry in pip if "==" in entry)}


def imported(nodes):
    modules = set()
    for node in (child for top in nodes for child in ast.walk(top)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return {module for module in modules if module not in sys.stdlib_module_names and module != "coralbuild"}


def import_requirements(files):
    """Sets of modules of which at least one must be installed. `try: import a / except
    ImportError: import b` gives {a, b}; an import whose ImportError is caught without an
    alternative is optional and gives nothing."""
    requirements, in_alternatives = [], set()
    for path in files:
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(handler.type, ast.Name) and handler.type.id == "ImportError" for handler in node.handlers):
                alternatives = imported(node.body) | imported(node.handlers)
                in_alternatives |= imported(node.body) | imported(node.handlers)
                if imported(node.handlers):
                    requirements.append(alternatives)
        requirements += [{module} for module in imported([tree]) - in_alternatives]
    return requirements


def rules_with_code():
    for rules_file in sorted((PROJECT / "rules").glob("*.smk")):
        for name, body in RULE.findall(rules_file.read_text()):
            runs_code = re.search(r'\bcode\("(\w+)"\)', body)
            env = re.search(r'conda:\s*"\.\./(envs/[\w.]+)"', body)
            if runs_code:
                assert runs_code.group(1) == name, f"rule {name} lists the code of rule {runs_code.group(1)}"
                yield name, STAGES[name].script, env.group(1) if env else None
    # The rules generated per device target (rules/benchmark.smk), from their declarations.
    for target in all_targets():
        yield target.RULE, target.SCRIPT, f"envs/{target.ENVIRONMENT}.yaml"


@pytest.mark.parametrize("rule, script, env", list(rules_with_code()))
def test_rule_environment_covers_its_imports(rule, script, env):
    assert env, f"rule {rule} names no conda environment"
    installed = set(environment_pins(PROJECT / env))
    for alternatives in import_requirements(code_files(SCRIPTS / script)):
        assert {PACKAGE_OF[module] for module in alternatives} & installed, f"{env} lacks any of {alternatives}"


@pytest.mark.parametrize("env_file", sorted(path for path in (PROJECT / "envs").glob("*.yaml") if path.name != "coral.yaml"),
                         ids=lambda path: path.name)
def test_environment_pins_match_requirements(env_file):
    pins = pinned_requirements()
    for name, version in environment_pins(env_file).items():
        assert pins.get(name) == version, f"{env_file.name}: {name}=={version}, requirements.txt has {pins.get(name)}"


def test_coral_environment_is_coral_s_supported_stack():
    environment = yaml.safe_load((PROJECT / CORAL_ENV).read_text())
    pip = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert "python=3.9" in environment["dependencies"]
    assert "--extra-index-url https://google-coral.github.io/py-repo/" in pip
    pins = environment_pins(PROJECT / CORAL_ENV)
    assert pins["pycoral"] == "2.0.0" and pins["tflite-runtime"] == "2.5.0.post1" and pins["numpy"].startswith("1.")


@pytest.mark.parametrize("env_file", sorted((PROJECT / "envs").glob("*.yaml")), ids=lambda path: path.name)
def test_environment_header_names_exactly_the_rules_that_use_it(env_file):
    users = set()
    for rules_file in (PROJECT / "rules").glob("*.smk"):
        for name, body in RULE.findall(rules_file.read_text()):
            if f'"../envs/{env_file.name}"' in body:
                users.add(name)
    # The rules generated per device target declare their environment themselves (ENVIRONMENT):
    # the header may name them, and must name no rule that does not use it.
    generated = {target.RULE for target in all_targets() if f"{target.ENVIRONMENT}.yaml" == env_file.name}
    header = " ".join(line.lstrip("# ") for line in env_file.read_text().splitlines() if line.startswith("#"))
    named = re.search(r"\(rules? ([\w ,]+)\)", header)
    assert named, f"{env_file.name}: the header names no rules"
    listed = set(re.split(r"[ ,]+", named.group(1).strip()))
    assert users <= listed <= users | generated
