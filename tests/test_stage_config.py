"""Each rule reads only the config sections its stage declares (coralbuild/stages.py, `Stage.config`),
so that what the manifest records of an artifact's settings cannot drift from what its rule
passes. Read from the rules as Snakemake compiles them (`--print-compilation`): every `config[...]`
in a rule's directives, directly or through the helpers of rules/common.smk and the names it
derives from the config."""

import ast
import subprocess
import sys

import pytest

from conftest import PROJECT, environment
from coralbuild import stages

# What a config access stands for in a stage's declaration: a dataset's or model's own entry
# (the wildcards'), or a top-level section. A model's stages read its `train` overrides with the
# `train` section: the "model" part covers both (stages.upstream_config).
PART_OF_SECTION = {"datasets": "dataset", "models": "model", "train": "model"}
# Parts that are one key of a section: config["quantize"]["representative_samples"].
PART_OF_KEY = {("quantize", "representative_samples"): "calibration"}
# Reads of the whole config that are structure, not settings: which models are trained, which
# datasets each model runs on, the baseline run. They choose rules and jobs, not what a job gets.
STRUCTURE = {"TRAINED", "TRAINED_MODELS", "INT8_MODELS", "BASELINE", "all_models"}


def compiled(path):
    """The Python Snakemake compiles a rules file to."""
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(path), "--print-compilation"],
                            cwd=PROJECT, capture_output=True, text=True, env=environment())
    assert result.returncode == 0, result.stderr[-2000:]
    return ast.parse(result.stdout)


@pytest.fixture(scope="module")
def modules():
    return {path.stem: compiled(path) for path in sorted((PROJECT / "rules").glob("*.smk"))}


def direct_reads(node):
    """The parts `node` reads itself: `config["section"]` subscripts."""
    parts, keys = set(), set()
    for child in ast.walk(node):
        if (isinstance(child, ast.Subscript) and isinstance(child.value, ast.Subscript)
                and isinstance(child.slice, ast.Constant) and _is_config_section(child.value)):
            key = (child.value.slice.value, child.slice.value)
            if key in PART_OF_KEY:
                parts.add(PART_OF_KEY[key])
                keys.add(id(child.value))
    for child in ast.walk(node):
        if _is_config_section(child) and id(child) not in keys:
            parts.add(PART_OF_SECTION.get(child.slice.value, child.slice.value))
    return parts


def _is_config_section(node):
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "config"
            and isinstance(node.slice, ast.Constant))


def names_used(node):
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name)}


def reads_by_name(common):
    """Helper function or derived name of rules/common.smk -> the parts it reads, transitively."""
    bodies, pending = {}, list(common.body)
    while pending:  # module-level statements, and those under a module-level `if`
        statement = pending.pop()
        if isinstance(statement, ast.FunctionDef):
            bodies[statement.name] = statement
        elif isinstance(statement, ast.Assign):  # NAME = ... or A, B = ... (not os.environ[...] = ...)
            for target in statement.targets:
                for name in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(name, ast.Name):
                        bodies[name.id] = statement.value
        elif isinstance(statement, ast.If):
            pending += statement.body + statement.orelse
    reads = {name: direct_reads(body) for name, body in bodies.items() if name not in STRUCTURE}
    changed = True
    while changed:  # through the helpers each one calls
        changed = False
        for name, body in bodies.items():
            if name in STRUCTURE:
                continue
            more = set().union(*(reads.get(used, set()) for used in names_used(body) if used != name))
            if not more <= reads[name]:
                reads[name] |= more
                changed = True
    return reads


def rule_reads(modules):
    """Rule -> the parts its directives read (output, log and benchmark paths read none)."""
    helpers = reads_by_name(modules["common"])
    found = {}
    for module in modules.values():
        for function in (node for node in module.body if isinstance(node, ast.FunctionDef)):
            decorators = {decorator.func.attr: decorator for decorator in function.decorator_list
                          if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)}
            if "rule" not in decorators:
                continue
            name = next(keyword.value.value for keyword in decorators["rule"].keywords if keyword.arg == "name")
            read = set()
            for directive, decorator in decorators.items():
                if directive in ("rule", "output", "log", "benchmark"):
                    continue
                read |= direct_reads(decorator)
                read |= set().union(*(helpers.get(used, set()) for used in names_used(decorator)))
            found[name] = read
    return found


def declared(rule):
    if rule in stages.SUMMARY_RULES:  # made from the whole run: they depend on the whole config
        return set(stages.WHOLE_CONFIG) | {"dataset", "model", "baseline"}
    return set(stages.STAGES[rule].config)


def test_every_rule_reads_only_the_config_its_stage_declares(modules):
    reads = rule_reads(modules)
    assert set(reads) - {"all", "code_digest"} == set(stages.STAGES)
    undeclared = {rule: sorted(read - declared(rule)) for rule, read in reads.items()
                  if rule in stages.STAGES and read - declared(rule)}
    assert not undeclared, f"rules reading config their stage does not declare (stages.py): {undeclared}"


def test_the_check_sees_reads_through_helpers(modules):
    """Not vacuous: the model's training reads its model entry through model_settings(), the Edge
    TPU benchmark the benchmark section through edgetpu_devices() and the compile decision."""
    reads = rule_reads(modules)
    assert {"model"} <= reads["train"]
    assert {"benchmark", "compile"} <= reads["benchmark_edgetpu"]
    assert {"compile", "predict"} <= reads["predict_edgetpu"]
