"""Check a results tree against its manifest, naming every file that changed or is missing;
with --against, compare two runs' manifests (measured timings aside).

    python scripts/verify_manifest.py results/manifest.json
    python scripts/verify_manifest.py results/manifest.json --against /other/run/results/manifest.json
"""

import argparse
import json
from pathlib import Path

from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.reporting.manifest import compare, verify


def read(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not a readable manifest ({error})") from None


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest")
    parser.add_argument("--root", default=".", help="folder the manifest's paths are relative to")
    parser.add_argument("--against", help="another run's manifest: report artifacts whose bytes differ")
    args = parser.parse_args(argv)
    manifest = read(args.manifest)
    problems = compare(manifest, read(args.against)) if args.against else verify(manifest, args.root)
    for problem in problems:
        print(problem)
    checked = sum(not a["measurement"] for a in manifest["artifacts"]) if args.against else len(manifest["artifacts"])
    print(f"{len(problems)} difference(s) in {checked} files")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
