"""Compile model_int8.tflite for the Edge TPU into a folder: the compiled model (when it
compiles), the compiler's .log and captured output, and compile.json (parsed outcome)."""

import argparse
import json
import shutil

from coralbuild.atomic import atomic_output
from coralbuild.edgetpu.compile import compile_model, compiler_version
from coralbuild.edgetpu.compiler import HOW_TO_GET_ONE, find_compiler
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.reporting.table import add_row_identity, row_identity
from coralbuild.statuses import is_compiled


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="the int8 .tflite to compile")
    parser.add_argument("--settings", type=json.loads, required=True, help="compile section (JSON)")
    parser.add_argument("--labels", help="labels.txt of the int8 model, copied beside the compiled model")
    parser.add_argument("--output", required=True, help="folder to create")
    add_row_identity(parser)
    parser.add_argument("--failed-evidence", help="with compile.compiler required: folder that keeps the compiler's "
                                                  "log, output and compile.json of a failed compile (the output "
                                                  "folder is not made)")
    return parser.parse_args(argv)


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    compiler, missing = find_compiler(args.settings)
    if compiler is None:
        raise BadInput(f"cannot compile {args.model}: {missing}; {HOW_TO_GET_ONE}")
    read_tflite(args.model)  # a clear error for a file that is not a TFLite model
    with atomic_output(args.output, directory=True) as folder:
        record = {**row_identity(args), "version": compiler_version(compiler, str(folder.parent.resolve())), "options": args.settings}
        record |= compile_model(compiler, args.settings, args.model, folder)
        print(f"{record['compiler']}: {record['version']}")
        print(f"$ {' '.join(record['command'])}\n{(folder / 'compiler.stdout').read_text()}")
        for difference in record["disagreements"]:
            print(f"warning: the compiler's log and the compiled model differ: {difference}")
        print(f"compile status: {record['status']}")
        (folder / "compile.json").write_text(json.dumps(record, indent=2) + "\n")
        if args.labels:
            shutil.copyfile(args.labels, folder / "labels.txt")
        if not is_compiled(record["status"]) and args.settings["compiler"] == "required":
            kept = f"; the compiler's log and compile.json are in {keep_evidence(folder, args.failed_evidence)}" \
                if args.failed_evidence else ""
            raise BadInput(f"{args.model}: {record['status']} (compile.compiler is required){kept}")
    if args.failed_evidence:
        shutil.rmtree(args.failed_evidence, ignore_errors=True)  # what an earlier failed compile kept


def keep_evidence(folder, destination):
    """Copy a failed compile's folder to `destination` (replacing an earlier one), atomically."""
    with atomic_output(destination, directory=True) as kept:
        shutil.copytree(folder, kept, dirs_exist_ok=True)
    return destination


if __name__ == "__main__":
    main()
