"""Parse what `edgetpu_compiler` prints (stdout) and writes (`<stem>_edgetpu.log`).

The summary lines reach stdout only; the `.log` holds the header and the op table; `-s` copies
the table to stdout. Real outputs of compilers 14 to 21 are in tests/data/compiler-output.
Standard library only.
"""

import re
from dataclasses import asdict, dataclass, field

SIZE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
SIZE = r"([\d.]+)\s*(B|KiB|MiB|GiB)"

# Summary lines: field -> pattern; sizes are converted to bytes.
SUMMARY_PATTERNS = {
    "compiler_version": r"Edge TPU Compiler version (\S+)",
    "compile_time_ms": r"Model compiled successfully in (\d+) ms",
    "input_model": r"^Input(?: model)?: (.+?)\s*$",
    "output_model": r"^Output(?: model)?: (.+?)\s*$",
    "input_size_bytes": rf"Input size: {SIZE}",
    "output_size_bytes": rf"Output size: {SIZE}",
    "onchip_used_bytes": rf"On-chip memory used for caching model parameters: {SIZE}",
    # Compilers 2.0.x wrote "available for caching" where later ones write "remaining".
    "onchip_remaining_bytes": rf"On-chip memory (?:remaining|available) for caching model parameters: {SIZE}",
    "offchip_bytes": rf"Off-chip memory used for streaming uncached model parameters: {SIZE}",
    "edgetpu_subgraphs": r"Number of Edge TPU subgraphs: (\d+)",
    "ops_total": r"Total number of operations: (\d+)",
    "ops_edgetpu": r"Number of operations that will run on Edge TPU: (\d+)",
    "ops_cpu": r"Number of operations that will run on CPU: (\d+)",
}
TABLE_HEADER = re.compile(r"^Operator\s+Count\s+Status\s*$")
TABLE_ROW = re.compile(r"^(\S+)\s+(\d+)\s+(\S.*?)\s*$")
SUCCESS_LINE = "Model compiled successfully"

# Known failures, most specific first: kind, pattern, what to tell the user.
FAILURES = [
    ("op_version_not_parsed",
     r"Didn't find op for builtin opcode '(?P<op>\w+)' version '(?P<version>\d+)'",
     "the compiler does not know op {op} version {version} (the TFLite converter is newer than "
     "the compiler); convert with an older TensorFlow or avoid that op"),
    ("model_not_quantized", r"Model not quantized",
     "the compiler says 'Model not quantized': a float tensor or a dynamic (batch) dimension is left; "
     "quantize fully to int8 with a static batch-1 input"),
    ("model_not_parsed", r"Model could not be parsed", "the compiler could not parse the model"),
    ("large_activations", r"Compilation failed due to large activation tensors",
     "compilation failed due to large activation tensors; try compile.search_delegate: true or "
     "intermediate tensors (-i) in compile.extra_args"),
    ("internal_compiler_error", r"Internal compiler error", "internal compiler error (the compiler aborted)"),
    ("timeout", r"(?i)timed out", "the compiler's own timeout expired (raise compile.timeout_s)"),
    ("compilation_failed", r"Compilation failed!", "the compiler reported 'Compilation failed!' without a reason"),
]


@dataclass
class CompilerReport:
    compiler_version: str | None = None
    succeeded: bool = False  # the "Model compiled successfully" line was printed
    compile_time_ms: int | None = None
    input_model: str | None = None
    output_model: str | None = None
    input_size_bytes: int | None = None
    output_size_bytes: int | None = None
    onchip_used_bytes: int | None = None
    onchip_remaining_bytes: int | None = None
    offchip_bytes: int | None = None
    edgetpu_subgraphs: int | None = None
    ops_total: int | None = None
    ops_edgetpu: int | None = None
    ops_cpu: int | None = None
    operations: list = field(default_factory=list)  # {"op", "count", "status"}; an op may repeat
    failure_kind: str | None = None
    failure_message: str | None = None

    def as_dict(self):
        return asdict(self)


def parse_compiler_output(stdout, log_text=""):
    """Everything the compiler said, from its stdout and (when it wrote one) its .log."""
    text = f"{stdout}\n{log_text}"
    report = CompilerReport(succeeded=SUCCESS_LINE in stdout)
    for name, pattern in SUMMARY_PATTERNS.items():
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            setattr(report, name, _value(name, match))
    # The .log holds the whole table; stdout's copy (with -s) can be cut short by a caller.
    report.operations = parse_operation_table(log_text) or parse_operation_table(stdout)
    if report.succeeded and report.ops_total is not None and report.ops_edgetpu is None:
        # The per-device counts are printed only when some op stays on the CPU.
        report.ops_edgetpu, report.ops_cpu = report.ops_total, 0
    report.failure_kind, report.failure_message = classify_failure(text) if not report.succeeded else (None, None)
    return report


def parse_operation_table(text):
    rows, in_table = [], False
    for line in text.splitlines():
        if TABLE_HEADER.match(line):
            in_table = True
            continue
        if in_table and line.strip():
            match = TABLE_ROW.match(line)
            if not match:
                break
            rows.append({"op": match.group(1), "count": int(match.group(2)), "status": match.group(3)})
    return rows


def classify_failure(text):
    """(kind, message) of the first known failure in the compiler's output, else (None, None)."""
    for kind, pattern, message in FAILURES:
        match = re.search(pattern, text)
        if match:
            return kind, message.format(**match.groupdict())
    return None, None


def _value(name, match):
    if name.endswith("_bytes"):
        return round(float(match.group(1)) * SIZE_UNITS[match.group(2)])
    if name in {"compiler_version", "input_model", "output_model"}:
        return match.group(1)
    return int(match.group(1))
