"""How the placement prediction does on real compiled models, op by op, and per rule: how many
real models each rule decided an op of, and how often it was right.

    python benchmarks/placement_evidence.py [FOLDER ...]

Each FOLDER holds source/compiled pairs (`<name>.tflite` and `<name>_edgetpu.tflite`); by default
the project's own (tests/data/reference-models and tests/data/yolo). An op counts as exact when the
prediction places it where the compiler did; `uncertain` is counted apart (allowed either way, and
never exact). The per-rule table credits the rule that decided each op (its `rule`); the
single-segment and segment-start rules place ops by what others decided.
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "scripts"))

from coralbuild.edgetpu.inspection import compiled_placements  # noqa: E402
from coralbuild.edgetpu.placement import predict  # noqa: E402
from coralbuild.edgetpu.tflite_model import read_tflite  # noqa: E402

DEFAULT_FOLDERS = [PROJECT / "tests/data/reference-models", PROJECT / "tests/data/yolo"]


def pairs(folders):
    for folder in folders:
        for compiled in sorted(Path(folder).glob("*_edgetpu.tflite")):
            source = compiled.with_name(compiled.name.replace("_edgetpu.tflite", ".tflite"))
            if source.exists():
                yield source, compiled


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    args = parser.parse_args(argv)
    # rule -> what it decided: models, and ops right / wrong / uncertain, apart for its CPU verdicts.
    per_rule = defaultdict(lambda: {"models": set(), "cpu_models": set(), "right": 0, "wrong": 0, "uncertain": 0,
                                    "cpu_right": 0, "cpu_wrong": 0})
    exact_models = 0
    print("| model | ops | exact | uncertain | wrong (predicted -> compiler) |\n|---|---|---|---|---|")
    checked = list(pairs(args.folders))
    for source, compiled in checked:
        truth = compiled_placements(source, compiled)
        prediction = predict(read_tflite(source))
        wrong = []
        for op, real in zip(prediction.ops, truth, strict=True):
            counts = per_rule[op.rule]
            counts["models"].add(source.stem)
            if op.placement == "uncertain":
                counts["uncertain"] += 1
            elif op.placement == real:
                counts["right"] += 1
            else:
                counts["wrong"] += 1
                wrong.append(f"{op.index} {op.op} {op.placement}->{real}")
            if op.placement == "cpu":
                counts["cpu_models"].add(source.stem)
                counts["cpu_right" if real == "cpu" else "cpu_wrong"] += 1
        uncertain = sum(op.placement == "uncertain" for op in prediction.ops)
        exact_models += not wrong and not uncertain
        print(f"| {source.stem} | {len(truth)} | {len(truth) - uncertain - len(wrong)} | {uncertain} | "
              f"{'; '.join(wrong[:6]) + (' ...' if len(wrong) > 6 else '') or '-'} |")
    print(f"\n{exact_models} of {len(checked)} models predicted exactly (every op, none uncertain)\n")
    print("| rule | models it decided ops of | right | wrong | uncertain | models it sent ops to the CPU of | "
          "of those ops, on the CPU | mapped |\n|---|---|---|---|---|---|---|---|")
    for rule, counts in sorted(per_rule.items()):
        print(f"| {rule} | {len(counts['models'])} | {counts['right']} | {counts['wrong']} | {counts['uncertain']} | "
              f"{len(counts['cpu_models'])} | {counts['cpu_right']} | {counts['cpu_wrong']} |")


if __name__ == "__main__":
    main()
