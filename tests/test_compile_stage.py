"""The compile script with a STAND-IN for edgetpu_compiler (tests/stand_in), in each known outcome.

The stand-in follows the real command line and output format; it is not Coral's compiler.
"""

import json
import sys

import pytest

from conftest import PROJECT, run_script, skip_if_a_real_compiler_is_installed
from coralbuild.edgetpu.inspection import inspect_compiled

MODEL = PROJECT / "tests/data/cnn_int8.tflite"
SETTINGS = {"compiler": "auto", "container_image": None, "min_runtime_version": 13, "search_delegate": False,
            "delegate_search_step": None, "timeout_s": 30, "extra_args": []}


def compile_with(tmp_path, path_first, *arguments, mode="success", **settings):
    model = tmp_path / "model_int8.tflite"
    model.write_bytes(MODEL.read_bytes())
    result = run_script("compile_edgetpu.py", "--model", model, "--settings", json.dumps({**SETTINGS, **settings}),
                        "--output", tmp_path / "edgetpu", *arguments, path_first=path_first, STAND_IN_MODE=mode)
    record_path = tmp_path / "edgetpu" / "compile.json"
    return result, json.loads(record_path.read_text()) if record_path.exists() else None


def test_success_keeps_model_log_output_and_a_parsed_record(tmp_path, stand_in_compiler):
    result, record = compile_with(tmp_path, [stand_in_compiler])
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "edgetpu"
    assert sorted(path.name for path in folder.iterdir()) == [
        "compile.json", "compiler.stdout", "model_int8_edgetpu.log", "model_int8_edgetpu.tflite"]
    assert record["status"] == "compiled" and record["disagreements"] == []
    assert record["version"] == "Edge TPU Compiler version 16.0.384591198"
    arguments = record["command"][1:]
    assert arguments[:2] == ["-s", "-o"] and arguments[3:7] == ["-m", "13", "--timeout_sec", "30"]
    assert record["log"]["ops_total"] == 10 and record["log"]["ops_edgetpu"] == 10 and record["log"]["ops_cpu"] == 0
    assert [row["op"] for row in record["log"]["operations"]][:2] == ["CONV_2D", "FULLY_CONNECTED"]
    assert "Operator                       Count      Status" in (folder / "compiler.stdout").read_text()  # -s
    inspection = inspect_compiled(folder / "model_int8_edgetpu.tflite", tmp_path / "model_int8.tflite")
    assert record["inspection"] == inspection.as_dict()
    assert inspection.min_runtime_version == 13 and inspection.ops_mapped == 10
    assert "compile status: compiled" in result.stdout


def test_compiler_options_reach_the_command_line(tmp_path, stand_in_compiler):
    _, record = compile_with(tmp_path, [stand_in_compiler], min_runtime_version=14, search_delegate=True,
                             delegate_search_step=5, extra_args=["-a"])
    arguments = record["command"][1:]
    assert arguments[arguments.index("-m") + 1] == "14"
    assert arguments[arguments.index("-d") + 1:arguments.index("-d") + 3] == ["-k", "5"]
    assert "-a" in arguments and arguments[-1].endswith("model_int8.tflite")
    assert record["inspection"]["min_runtime_version"] == 14


def test_partial_mapping_is_parsed_and_agrees_with_the_model(tmp_path, stand_in_compiler):
    _, record = compile_with(tmp_path, [stand_in_compiler], mode="partial")
    assert record["status"] == "compiled" and record["disagreements"] == []
    assert (record["log"]["ops_edgetpu"], record["log"]["ops_cpu"]) == (9, 1)
    assert record["inspection"]["ops_on_cpu"] == {"QUANTIZE": 1}


def test_log_and_model_disagreeing_is_said_where(tmp_path, stand_in_compiler):
    result, record = compile_with(tmp_path, [stand_in_compiler], mode="mismatch")
    assert any("ops on the CPU: the compiler's log says 0, the compiled model has 1" in line
               for line in record["disagreements"])
    assert "warning: the compiler's log and the compiled model differ" in result.stdout


@pytest.mark.parametrize("mode, reason", [
    ("not_quantized", "the compiler says 'Model not quantized'"),
    ("op_version", "does not know op QUANTIZE version 3"),
    ("large_activations", "large activation tensors; try compile.search_delegate"),
    ("internal_error", "internal compiler error"),
    ("compilation_failed", "'Compilation failed!' without a reason"),
    ("no_output", "no output file: the compiler reported success but wrote no model_int8_edgetpu.tflite"),
    ("zero_subgraphs", "no op mapped to the Edge TPU (0 Edge TPU subgraphs)"),
    ("hang", "timeout: the compiler still ran after 6 s and was stopped"),
])
def test_each_known_failure_is_recorded_with_its_reason(tmp_path, stand_in_compiler, mode, reason):
    result, record = compile_with(tmp_path, [stand_in_compiler], mode=mode, timeout_s=1 if mode == "hang" else 30)
    assert result.returncode == 0
    assert record["status"].startswith("failed: ") and reason in record["status"]
    assert "compile status: failed: " in result.stdout
    assert (tmp_path / "edgetpu/compiler.stdout").read_text().startswith("Edge TPU Compiler version")


def test_required_compiler_turns_a_failure_into_an_error(tmp_path, stand_in_compiler):
    result, record = compile_with(tmp_path, [stand_in_compiler], mode="not_quantized", compiler="required")
    assert result.returncode == 1 and record is None
    assert result.stderr.strip().splitlines() == [
        next(line for line in result.stderr.splitlines() if line.startswith("error: "))]
    assert "Model not quantized" in result.stderr and "compile status: failed:" in result.stdout
    assert not list(tmp_path.glob(".edgetpu.tmp-*")) and not (tmp_path / "edgetpu").exists()


def test_a_required_compile_that_fails_keeps_its_evidence_beside_the_log(tmp_path, stand_in_compiler):
    kept = tmp_path / "logs/compile_edgetpu_failed"
    result, _ = compile_with(tmp_path, [stand_in_compiler], "--failed-evidence", kept, mode="not_quantized",
                             compiler="required")
    assert result.returncode == 1 and not (tmp_path / "edgetpu").exists()
    assert f"the compiler's log and compile.json are in {kept}" in result.stderr
    assert sorted(path.name for path in kept.iterdir()) == ["compile.json", "compiler.stdout"]  # the compiler wrote no .log
    assert json.loads((kept / "compile.json").read_text())["status"].startswith("failed: the compiler says 'Model not quantized'")
    result, _ = compile_with(tmp_path, [stand_in_compiler], "--failed-evidence", kept, compiler="required")
    assert result.returncode == 0 and not kept.exists()  # a compile that succeeds removes the old evidence


def test_no_compiler_says_how_to_get_one(tmp_path):
    skip_if_a_real_compiler_is_installed()
    result, record = compile_with(tmp_path, [])
    assert result.returncode == 1 and record is None
    assert "no edgetpu_compiler on PATH" in result.stderr and "Coral's apt repository" in result.stderr
    assert "Colab" in result.stderr and "container_image" in result.stderr


@pytest.fixture
def stand_in_docker(tmp_path, stand_in_compiler):
    """A folder with a STAND-IN `docker` (tests only) that records each call in calls.jsonl, checks
    `run --rm --name N --user U:G --volume D:D --workdir D IMAGE edgetpu_compiler ...` and runs
    the stand-in compiler for it, and accepts `rm --force N`. The stand-in compiler itself is not
    on PATH: only the container can provide it."""
    skip_if_a_real_compiler_is_installed()
    bin_dir = tmp_path / "container-bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open("{bin_dir / 'calls.jsonl'}", "a") as calls:
    calls.write(json.dumps(args) + "\\n")
if args[0] == "rm":
    assert args[1] == "--force" and len(args) == 3, args
    sys.exit(0)
assert args[:3] == ["run", "--rm", "--name"] and args[4] == "--user", args
folder = args[7].split(":")[0]
assert args[6] == "--volume" and args[7] == f"{{folder}}:{{folder}}" and args[8:10] == ["--workdir", folder], args
assert args[10] == "coral/edgetpu-compiler:16" and args[11] == "edgetpu_compiler", args
os.execv("{stand_in_compiler / 'edgetpu_compiler'}", ["edgetpu_compiler", *args[12:]])
""")
    docker.chmod(0o755)
    return bin_dir


def docker_calls(bin_dir):
    return [json.loads(line) for line in (bin_dir / "calls.jsonl").read_text().splitlines()]


def test_container_route_mounts_the_model_folder(tmp_path, stand_in_docker):
    result, record = compile_with(tmp_path, [stand_in_docker], container_image="coral/edgetpu-compiler:16")
    assert result.returncode == 0, result.stdout + result.stderr
    assert record["status"] == "compiled"
    assert record["compiler"].startswith("edgetpu_compiler in container image coral/edgetpu-compiler:16 (docker)")
    names = [call[3] for call in docker_calls(stand_in_docker)]  # --version, then the compile
    assert len(names) == 2 and len(set(names)) == 2 and all(name.startswith("coralbuild-edgetpu-compiler-") for name in names)


def test_a_container_still_running_at_the_timeout_is_removed(tmp_path, stand_in_docker):
    result, record = compile_with(tmp_path, [stand_in_docker], mode="hang", timeout_s=1,
                                  container_image="coral/edgetpu-compiler:16")
    assert result.returncode == 0 and record["status"].startswith("failed: timeout")
    *_, compile_call, removal = docker_calls(stand_in_docker)
    assert removal == ["rm", "--force", compile_call[3]]
    assert f"container {compile_call[3]} removed (exit code 0)" in (tmp_path / "edgetpu/compiler.stdout").read_text()


@pytest.mark.parametrize("onchip_off, offchip_off, expected", [
    (2000, 4, []),  # within the summary's rounding: 5.90MiB is +-5,243 B, 41.75KiB +-5.12 B
    (9000, 0, ["parameters cached on chip"]),
    (0, 20, ["parameters streamed from the host"]),
])
def test_parameter_bytes_of_the_log_and_the_packages_are_compared_to_the_logs_rounding(onchip_off, offchip_off, expected):
    from types import SimpleNamespace

    from coralbuild.edgetpu.compile import disagreements
    from coralbuild.edgetpu.compiler_output import parse_compiler_output

    parsed = parse_compiler_output((PROJECT / "tests/data/compiler-output/v16_streaming_partial_table.stdout").read_text(), "")
    assert (parsed.onchip_used_bytes, parsed.offchip_bytes) == (round(5.90 * 2**20), round(41.75 * 1024))
    inspection = SimpleNamespace(edgetpu_segments=parsed.edgetpu_subgraphs, ops_cpu=parsed.ops_cpu,
                                 source_ops=parsed.ops_total, ops_on_cpu=None,
                                 onchip_bytes=parsed.onchip_used_bytes + onchip_off,
                                 offchip_bytes=parsed.offchip_bytes + offchip_off)
    parameter_lines = [line for line in disagreements(parsed, inspection) if line.startswith("parameters")]
    assert [line.split(":")[0] for line in parameter_lines] == expected
