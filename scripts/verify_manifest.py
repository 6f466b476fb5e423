"""Check a results tree against its manifest, naming every file that changed or is missing;
with --against, compare two runs' manifests (measured timings aside). Exit status: 0 when
nothing differs, 1 when something does, 2 when a manifest cannot be read (one `error:` line).

    python scripts/verify_manifest.py results/manifest.json
    python scripts/verify_manifest.py results/manifest.json --against /other/run/results/manifest.json
"""

import argparse

from coralbuild.errors import reports_bad_input
from coralbuild.reporting.manifest import compare, verify
from coralbuild.reporting.manifest_check import read_manifest


# Exit 1 says files differ; a manifest that cannot be read is another answer.
@reports_bad_input(status=2)
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifest")
    parser.add_argument("--root", default=".", help="folder the manifest's paths are relative to")
    parser.add_argument("--against", help="another run's manifest: report artifacts whose bytes differ")
    args = parser.parse_args(argv)
    manifest = read_manifest(args.manifest)
    problems = compare(manifest, read_manifest(args.against)) if args.against else verify(manifest, args.root)
    for problem in problems:
        print(problem)
    checked = sum(not a["measurement"] for a in manifest["artifacts"]) if args.against else len(manifest["artifacts"])
    print(f"{len(problems)} difference(s) in {checked} files")
    if problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
