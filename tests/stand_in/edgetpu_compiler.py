"""STAND-IN for Coral's edgetpu_compiler, for tests only: it does not compile anything.

It follows the real command line (-o, -m, -s, -d, -k, -a, --timeout_sec, --version), prints in
the real output format, and for a success writes `<stem>_edgetpu.tflite` (the input's ops
replaced by one `edgetpu-custom-op` whose options hold a DWN1 package, like a real compiled
model) and `<stem>_edgetpu.log`. The STAND_IN_MODE environment variable picks the outcome:
success (default), partial (the last op stays on the CPU), mismatch (the log claims every op
mapped, the model leaves one on the CPU), and the known failures: not_quantized,
op_version, large_activations, internal_error, compilation_failed, hang, no_output,
zero_subgraphs.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import flatbuffers
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

VERSION = "16.0.384591198"
HEADER = f"Edge TPU Compiler version {VERSION}\n"
TIMER = "Started a compilation timeout timer of {timeout} seconds.\n"
FAILURES = {
    "not_quantized": "Invalid model: {model}\nModel not quantized\n",
    "op_version": ("ERROR: Didn't find op for builtin opcode 'QUANTIZE' version '3'. An older version of this "
                   "builtin might be supported. Are you using an old TFLite binary with a newer model?\n\n"
                   "ERROR: Registration failed.\n\nInvalid model: {model}\nModel could not be parsed\n"),
    "large_activations": ("{timer}ERROR: Restored original execution plan after delegate application failure.\n"
                          "Compilation failed: Compilation failed due to large activation tensors in model.\n"
                          "Compilation child process completed within timeout period.\nCompilation failed! \n"),
    "internal_error": "{timer}Internal compiler error. Aborting! \n",
    "compilation_failed": "{timer}Compilation child process completed within timeout period.\nCompilation failed! \n",
}


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*")
    parser.add_argument("-o", "--out_dir", default=".")
    parser.add_argument("-m", "--min_runtime_version", type=int, default=14)
    parser.add_argument("-s", "--show_operations", action="store_true")
    parser.add_argument("-a", "--enable_multiple_subgraphs", action="store_true")
    parser.add_argument("-d", "--search_delegate", action="store_true")
    parser.add_argument("-k", "--delegate_search_step", type=int)
    parser.add_argument("--timeout_sec", type=int, default=180)
    parser.add_argument("-v", "--version", action="store_true")
    return parser.parse_args()


def package(min_runtime_version):
    builder = flatbuffers.Builder(0)
    version = builder.CreateString("cl/stand-in")
    builder.StartObject(7)  # libedgetpu executable.fbs: table Package
    builder.PrependInt32Slot(0, min_runtime_version, 0)
    builder.PrependUOffsetTRelativeSlot(4, version, 0)
    builder.Finish(builder.EndObject(), file_identifier=b"DWN1")
    return bytes(builder.Output())


def op_name(model, op):
    code = model.operatorCodes[op.opcodeIndex]
    number = max(code.builtinCode, code.deprecatedBuiltinCode)
    return next(name for name, value in vars(schema.BuiltinOperator).items() if value == number)


def compiled_model(source, keep_on_cpu, min_runtime_version):
    """The source with its first ops replaced by one edgetpu-custom-op; `keep_on_cpu` last ops stay."""
    model = schema.ModelT.InitFromPackedBuf(source, 0)
    graph = model.subgraphs[0]
    mapped, left = graph.operators[:len(graph.operators) - keep_on_cpu], graph.operators[len(graph.operators) - keep_on_cpu:]
    names = [op_name(model, op) for op in graph.operators]
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode, code.version = "edgetpu-custom-op", 1
    model.operatorCodes.append(code)
    segment = schema.OperatorT()
    segment.opcodeIndex = len(model.operatorCodes) - 1
    segment.inputs = list(graph.inputs)
    segment.outputs = list(left[0].inputs[:1]) if left else list(graph.outputs)
    segment.customOptions = list(flexbuffers.Dumps({"4": package(min_runtime_version)}))
    segment.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    graph.operators = [segment, *left]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), names[:len(mapped)], names[len(mapped):]


def table(mapped, left):
    rows = ["Operator                       Count      Status", ""]
    for names, status in [(mapped, "Mapped to Edge TPU"), (left, "More than one subgraph is not supported")]:
        for name in sorted(set(names)):
            rows.append(f"{name:<31}{names.count(name):<11}{status}")
    return "\n".join(rows) + "\n"


def main():
    args = parse_args()
    if args.version:
        print(HEADER, end="")
        return 0
    mode = os.environ.get("STAND_IN_MODE", "success")
    source_path = Path(args.models[0])
    timer = TIMER.format(timeout=args.timeout_sec)
    sys.stdout.write(HEADER)
    if mode in FAILURES:
        sys.stdout.write(FAILURES[mode].format(model=source_path, timer=timer))
        return 1
    if mode == "hang":
        sys.stdout.write(timer)
        sys.stdout.flush()
        time.sleep(3600)
    keep = {"partial": 1, "mismatch": 1, "zero_subgraphs": None}.get(mode, 0)
    source = source_path.read_bytes()
    names_total = len(schema.ModelT.InitFromPackedBuf(source, 0).subgraphs[0].operators)
    if keep is None:
        content, mapped, left = source, [], None
    else:
        content, mapped, left = compiled_model(source, keep, args.min_runtime_version)
    out = Path(args.out_dir) / f"{source_path.stem}_edgetpu.tflite"
    log = Path(args.out_dir) / f"{source_path.stem}_edgetpu.log"
    if mode != "no_output":
        out.write_bytes(content)
    claimed_left = [] if mode == "mismatch" else (left or [])
    ops_table = table(mapped, claimed_left) if left is not None else ""
    log.write_text(f"{HEADER}Input: {source_path.name}\nOutput: {out.name}\n\n{ops_table}")
    summary = [timer, "", "Model compiled successfully in 12 ms.", "",
               f"Input model: {source_path}", f"Input size: {len(source) / 1024:.2f}KiB",
               f"Output model: {out}", f"Output size: {len(content) / 1024:.2f}KiB",
               "On-chip memory used for caching model parameters: 62.50KiB",
               "On-chip memory remaining for caching model parameters: 7.85MiB",
               "Off-chip memory used for streaming uncached model parameters: 0.00B",
               f"Number of Edge TPU subgraphs: {0 if keep is None else 1}",
               f"Total number of operations: {names_total}",
               f"Operation log: {log}", ""]
    if claimed_left:
        summary += ["Model successfully compiled but not all operations are supported by the Edge TPU.",
                    f"Number of operations that will run on Edge TPU: {len(mapped)}",
                    f"Number of operations that will run on CPU: {len(claimed_left)}", ""]
    sys.stdout.write("\n".join(summary) + "\n")
    if args.show_operations:
        sys.stdout.write(ops_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
