"""Compile one int8 model with edgetpu_compiler, decide the outcome from what it printed and
wrote, and cross-check its log against an inspection of the compiled model."""

import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

from coralbuild.edgetpu.compiler import compile_arguments
from coralbuild.edgetpu.compiler_output import SIZE_UNITS, parse_compiler_output
from coralbuild.edgetpu.inspection import inspect_compiled
from coralbuild.layout import compiled_name
from coralbuild.statuses import COMPILED, failed

MAPPED = "Mapped to Edge TPU"

def hard_timeout_s(settings):
    """The compiler enforces compile.timeout_s itself; past this limit it is stopped from outside.
    The margin covers start-up, and a container's."""
    return settings["timeout_s"] + max(5, settings["timeout_s"] // 4)


def compiler_version(compiler, folder):
    """What `edgetpu_compiler --version` prints, e.g. "Edge TPU Compiler version 16.0.384591198"."""
    _, output, _, _ = run_compiler(compiler, ["--version"], folder, timeout_s=60)
    return output.strip().splitlines()[-1] if output.strip() else None


def run_compiler(compiler, arguments, folder, timeout_s):
    """run() the compiler (natively or in a named container); a container still running at the
    timeout is removed."""
    name = compiler.container_name()
    argv = compiler.command(arguments, folder, name)
    output, exit_code, timed_out = run(argv, timeout_s)
    if timed_out and name:
        removal = subprocess.run(compiler.remove_container_command(name), capture_output=True, text=True, timeout=60)
        output += f"\n[coralbuild] timed out: container {name} removed (exit code {removal.returncode})\n"
    return argv, output, exit_code, timed_out


def run(argv, timeout_s):
    """(combined stdout and stderr, exit code, timed out?); a hung compiler is killed with its children."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout_s)
        return output, process.returncode, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return output, process.returncode, True


def compile_model(compiler, settings, model, out_dir):
    """Run the compiler on `model`, writing into `out_dir`; return the compile record (a dict)."""
    model, out_dir = Path(model).resolve(), Path(out_dir).resolve()
    folder = os.path.commonpath([model.parent, out_dir])
    argv, output, exit_code, timed_out = run_compiler(compiler, compile_arguments(settings, str(model), str(out_dir)),
                                                      folder, hard_timeout_s(settings))
    (out_dir / "compiler.stdout").write_text(output)
    compiled = out_dir / compiled_name(model.name)
    log = compiled.with_suffix(".log")
    parsed = parse_compiler_output(output, log.read_text(errors="replace") if log.is_file() else "")
    failure = failure_reason(parsed, compiled, timed_out, exit_code, settings)
    inspection = inspect_compiled(compiled, model) if compiled.is_file() else None
    return {
        "status": failed(failure) if failure else COMPILED,
        "compiler": compiler.describe(),
        "command": argv,
        "exit_code": exit_code,
        "log": parsed.as_dict(),
        "inspection": inspection.as_dict() if inspection else None,
        "disagreements": disagreements(parsed, inspection) if inspection and not failure else [],
    }


def failure_reason(parsed, compiled, timed_out, exit_code, settings):
    """Why the compile failed, or None. Decided from the output, not the exit code alone."""
    if timed_out:
        return f"timeout: the compiler still ran after {hard_timeout_s(settings)} s and was stopped (compile.timeout_s is {settings['timeout_s']})"
    if parsed.failure_kind:
        return parsed.failure_message
    if not parsed.succeeded:
        return f"unrecognized compiler output (exit code {exit_code}); see compiler.stdout"
    if not compiled.is_file():
        return f"no output file: the compiler reported success but wrote no {compiled.name}"
    if not parsed.edgetpu_subgraphs:
        return "no op mapped to the Edge TPU (0 Edge TPU subgraphs)"
    return None


def disagreements(parsed, inspection):
    """Where the compiler's log and the compiled model disagree (empty when they agree)."""
    found = []
    for what, logged, inspected in [
        ("Edge TPU subgraphs", parsed.edgetpu_subgraphs, inspection.edgetpu_segments),
        ("ops on the CPU", parsed.ops_cpu, inspection.ops_cpu),
        ("ops in the source model", parsed.ops_total, inspection.source_ops),
    ]:
        if logged is not None and logged != inspected:
            found.append(f"{what}: the compiler's log says {logged}, the compiled model has {inspected}")
    for what, logged, inspected in [
        ("parameters cached on chip", parsed.onchip_used_bytes, inspection.onchip_bytes),
        ("parameters streamed from the host", parsed.offchip_bytes, inspection.offchip_bytes),
    ]:
        if logged is not None and inspected is not None and abs(logged - inspected) > printed_size_step(logged) / 2:
            found.append(f"{what}: the compiler's log says {logged:,} B (as rounded in its summary), "
                         f"the compiled model's executables hold {inspected:,} B")
    if parsed.operations:
        table = Counter()
        for row in parsed.operations:
            if row["status"] != MAPPED:
                table[row["op"]] += row["count"]
        if dict(table) != inspection.ops_on_cpu:
            found.append(f"ops on the CPU by type: the log's table says {dict(sorted(table.items()))}, "
                         f"the compiled model has {inspection.ops_on_cpu}")
    return found


def printed_size_step(size_bytes):
    """The rounding step of a size in the compiler's summary: two decimals of the largest unit
    not above it ("41.75KiB", "1.22MiB", "0.00B")."""
    unit = max((unit for unit in SIZE_UNITS.values() if unit <= size_bytes), default=1)
    return unit / 100
