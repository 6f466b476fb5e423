"""compare_results.py and verify_manifest.py on tampered inputs: a benchmark.csv with a cell
changed to text, infinity or an unknown artifact, and a manifest.json with nodes of the wrong type,
keys missing, paths leaving results/ and brackets nested without end. Seeded mutations, run
in-process: every run ends with its documented exit status (0 or 1 for a comparison made, 2
with one `error:` line for input it cannot read), never a traceback, and nothing outside
results/ is read."""

import contextlib
import copy
import hashlib
import importlib.util
import io
import json
import random

import pytest
from test_compare_results import MEASURED_ROW, write_run

from conftest import SCRIPTS

CELLS = ["abc", "inf", "-inf", "nan", "", "1e400", "12,5", "gadget", "\"", "x" * 300]
NODES = [None, 1, -1, "x", [], {}, True, 1.5, "../../etc/passwd", "/etc/hostname"]
MUTATIONS = 60


def script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exit_status(main, argv):
    """(exit status, stderr) of a CLI's main run in-process; any other exception fails the test."""
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as stop:
            return stop.code or 0, errors.getvalue()
    return 0, errors.getvalue()


def assert_documented(status, stderr, made):
    """A comparison made: `made` statuses; unreadable input: 2 and one `error:` line."""
    if status == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    else:
        assert status in made, (status, stderr)


def a_run(folder):
    """A results folder with a two-row benchmark.csv and a manifest.json listing one file."""
    write_run(folder, [{}, {"model": "mlp"}])
    (folder / "mnist").mkdir()
    (folder / "mnist" / "model.bin").write_bytes(b"model")
    entry = {"path": "results/mnist/model.bin", "size": 5, "sha256": hashlib.sha256(b"model").hexdigest(),
             "rule": "train", "measurement": False, "config_sections": {"train": "0123"}, "code": []}
    (folder / "manifest.json").write_text(json.dumps({"versions": {}, "artifacts": [entry]}))
    return folder


def test_tampered_tables_give_a_comparison_or_one_line(tmp_path):
    compare_results = script("compare_results")
    base = a_run(tmp_path / "base")
    generator = random.Random(0)
    lines = (base / "benchmark.csv").read_text().splitlines()
    header = lines[0].split(",")
    statuses = set()
    for number in range(MUTATIONS):
        rows = [line.split(",") for line in lines[1:]]
        row, column = generator.randrange(len(rows)), generator.randrange(len(header))
        rows[row][column] = generator.choice(CELLS)
        new = a_run(tmp_path / f"new{number}")
        (new / "benchmark.csv").write_text("\n".join([lines[0], *(",".join(cells) for cells in rows)]) + "\n")
        status, stderr = exit_status(compare_results.main, [str(base), str(new), "--max-latency-ratio", "1.5"])
        assert_documented(status, stderr, made={0, 1})
        statuses.add(status)
    assert statuses >= {2} and statuses & {0, 1}  # both kinds of mutation were met


def mutate(node, generator, depth=0):
    """`node` with one random change somewhere inside it."""
    if isinstance(node, dict) and node and generator.random() < 0.7:
        key = generator.choice(sorted(node))
        if generator.random() < 0.3:
            return {name: value for name, value in node.items() if name != key}
        return {**node, key: mutate(node[key], generator, depth + 1)}
    if isinstance(node, list) and node and generator.random() < 0.7:
        index = generator.randrange(len(node))
        return [*node[:index], mutate(node[index], generator, depth + 1), *node[index + 1:]]
    return copy.deepcopy(generator.choice(NODES))


@pytest.mark.parametrize("cli", ["verify_manifest", "compare_results"])
def test_tampered_manifests_give_an_answer_or_one_line(tmp_path, cli):
    main = script(cli).main
    run = a_run(tmp_path / "results")
    manifest = json.loads((run / "manifest.json").read_text())
    generator = random.Random(1)
    statuses = set()
    for _ in range(MUTATIONS):
        (run / "manifest.json").write_text(json.dumps(mutate(manifest, generator)))
        if cli == "verify_manifest":
            status, stderr = exit_status(main, [str(run / "manifest.json"), "--root", str(tmp_path)])
        else:
            status, stderr = exit_status(main, [str(run), str(run)])
        assert_documented(status, stderr, made={0, 1})
        statuses.add(status)
    assert 2 in statuses


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/hostname", "results/../../etc/passwd"])
def test_a_manifest_naming_a_file_outside_results_is_refused_unread(tmp_path, path):
    run = a_run(tmp_path / "results")
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["artifacts"][0]["path"] = path
    (run / "manifest.json").write_text(json.dumps(manifest))
    status, stderr = exit_status(script("verify_manifest").main, [str(run / "manifest.json"), "--root", str(tmp_path)])
    assert status == 2 and "at artifacts.0.path: " in stderr and "does not match" in stderr


def test_brackets_nested_without_end_are_one_line(tmp_path):
    run = a_run(tmp_path / "results")
    (run / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    status, stderr = exit_status(script("verify_manifest").main, [str(run / "manifest.json")])
    assert status == 2 and stderr.startswith(f"error: {run / 'manifest.json'}: not a manifest of this workflow")


def test_the_untampered_run_compares_equal(tmp_path):
    """The fuzzers' starting point is a valid run: they mutate something that works."""
    run = a_run(tmp_path / "results")
    assert exit_status(script("verify_manifest").main, [str(run / "manifest.json"), "--root", str(tmp_path)])[0] == 0
    assert exit_status(script("compare_results").main, [str(run), str(run)])[0] == 0
    assert MEASURED_ROW["status"] == "measured"
