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
from coralbuild.measure.targets import all_targets

# What a config access stands for in a stage's declaration: a dataset's or model's own entry
# (the wildcards'), or a top-level section. A model's stages read its `train` overrides with the
# `train` section: the "model" part covers both (stages.upstream_config).
PART_OF_SECTION = {"datasets": "dataset", "models": "model", "train": "model"}
# The helpers that give a rule its stage's settings (rules/common.smk): a call reads the parts the
# named stage declares.
STAGE_HELPERS = {"stage_config", "stage_settings"}
# Reads of the whole config that are structure, not settings: which models are trained, which
# datasets each model runs on, the baseline run. They choose rules and jobs, not what a job gets.
# The compile decision (rules/common.smk, from edgetpu.compiler.find_compiler) reads these keys of
# the compile section alone; the analysis sees only `find_compiler(config["compile"])`.
COMPILE_DECISION = {"compile.compiler", "compile.container_image"}
DECISIONS = {"COMPILER": COMPILE_DECISION, "NO_COMPILER": COMPILE_DECISION}
STRUCTURE = {"TRAINED", "TRAINED_MODELS", "INT8_MODELS", "BASELINE", "all_models", *STAGE_HELPERS}


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
    """The parts `node` reads itself: `config["section"]` subscripts, and `config["section"]["key"]`
    of a section that is not per dataset or model as the part "section.key"."""
    parts, keys = set(), set()
    for child in ast.walk(node):
        if (isinstance(child, ast.Subscript) and isinstance(child.value, ast.Subscript)
                and isinstance(child.slice, ast.Constant) and _is_config_section(child.value)
                and child.value.slice.value not in PART_OF_SECTION):
            parts.add(f"{child.value.slice.value}.{child.slice.value}")
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
    reads.update(DECISIONS)
    changed = True
    while changed:  # through the helpers each one calls
        changed = False
        for name, body in bodies.items():
            if name in STRUCTURE or name in DECISIONS:
                continue
            more = set().union(*(reads.get(used, set()) for used in names_used(body) if used != name))
            if not more <= reads[name]:
                reads[name] |= more
                changed = True
    return reads


def stage_reads(node, own_name, rule):
    """The parts `node`, a directive of `rule`, reads through the stage helpers: those its stage
    declares for a call naming the rule's own name (`own_name`, source text); a call naming
    another stage is reported as such."""
    parts = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in STAGE_HELPERS:
            named = ast.unparse(child.args[0])
            parts |= declared(rule) if named == own_name else {f"another stage's settings: {named}"}
    return parts


def rules_named(name):
    """The rules a rule's name (source text) stands for: itself, or for the rule generated per
    device target (`target.RULE`), each target's."""
    if name == "target.RULE":
        return [target.RULE for target in all_targets()]
    return [ast.literal_eval(name)]


def compile_decision_unused(rule):
    """The generated rule reads the compile decision for the compiled model alone: a target that
    does not take it does not read it."""
    target = {target.RULE: target for target in all_targets()}.get(rule)
    return COMPILE_DECISION if target and "compiled" not in target.INPUTS else set()


def rule_reads(modules):
    """Rule -> the parts its directives read (output, log and benchmark paths read none). The rule
    generated per device target reads, for each, what the generated rule reads."""
    helpers = reads_by_name(modules["common"])
    found = {}
    for module in modules.values():
        for function in (node for node in ast.walk(module) if isinstance(node, ast.FunctionDef)):
            decorators = {decorator.func.attr: decorator for decorator in function.decorator_list
                          if isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)}
            if "rule" not in decorators:
                continue
            # rule X: compiles to @workflow.rule(name="X"); a generated rule's `name:` to @workflow.name(...)
            named = decorators["name"].args[0] if "name" in decorators else next(
                keyword.value for keyword in decorators["rule"].keywords if keyword.arg == "name")
            name = ast.unparse(named)
            directives = [decorator for directive, decorator in decorators.items()
                          if directive not in ("rule", "name", "output", "log", "benchmark")]
            read = set()
            for decorator in directives:
                read |= direct_reads(decorator)
                read |= set().union(*(helpers.get(used, set()) for used in names_used(decorator)))
            for rule in rules_named(name):
                own = set().union(*(stage_reads(decorator, name, rule) for decorator in directives))
                found[rule] = (read - compile_decision_unused(rule)) | own
    return found


def undeclared(rule, reads):
    """The parts of `reads` the stage of `rule` does not declare ("section.key" is declared by
    its section)."""
    return sorted(part for part in reads if part not in declared(rule) and part.split(".")[0] not in declared(rule))


def declared(rule):
    if rule in stages.SUMMARY_RULES:  # made from the whole run: they depend on the whole config
        return set(stages.WHOLE_CONFIG) | {"dataset", "model", "baseline"}
    return set(stages.STAGES[rule].config)


def test_every_rule_reads_only_the_config_its_stage_declares(modules):
    reads = rule_reads(modules)
    assert set(reads) - {"all", "code_digest"} == set(stages.STAGES)
    found = {rule: undeclared(rule, read) for rule, read in reads.items() if rule in stages.STAGES}
    found = {rule: parts for rule, parts in found.items() if parts}
    assert not found, f"rules reading config their stage does not declare (stages.py): {found}"


def test_the_check_sees_reads_through_helpers(modules):
    """Not vacuous: the model's training reads its model entry through model_settings(), the Edge
    TPU benchmark the compile decision through target_inputs() and its settings through
    stage_settings()."""
    reads = rule_reads(modules)
    assert {"model"} <= reads["train"]
    assert COMPILE_DECISION <= reads["benchmark_edgetpu"] and "benchmark" in reads["benchmark_edgetpu"]
    assert {"compile", "predict"} <= reads["predict_edgetpu"]


def test_a_target_taking_the_compiled_model_declares_the_compile_decision():
    """What compile_decision_unused assumes: whether a compiled model exists is the compile decision's."""
    for target in all_targets():
        assert ("compiled" in target.INPUTS) <= (COMPILE_DECISION <= set(target.CONFIG)), target.RULE


def test_a_rule_given_another_stage_s_settings_is_caught():
    rule = ast.parse('@workflow.params(settings=stage_settings("train"))\ndef f(): pass').body[0].decorator_list[0]
    assert stage_reads(rule, ast.unparse(ast.Constant("train")), "train") == {"model"}
    assert stage_reads(rule, ast.unparse(ast.Constant("evaluate")), "evaluate") == {"another stage's settings: 'train'"}
