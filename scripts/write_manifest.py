"""Write the provenance manifest (results/manifest.json) of a finished run."""

import argparse
import json

from coralbuild.atomic import write_text
from coralbuild.errors import reports_bad_input
from coralbuild.reporting.manifest import build_manifest
from coralbuild.stages import manifest_entries


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=json.loads, required=True, help="the run's config, as JSON")
    parser.add_argument("--compiled", action="store_true", help="the run compiled its models")
    parser.add_argument("--trained", nargs="*", default=[], help="models the run trains (or fine-tunes)")
    parser.add_argument("--benchmark-rules", nargs="*", default=[], help="benchmark rules the run ran")
    parser.add_argument("--plots", nargs="*", default=[], help="the run's plots")
    parser.add_argument("--brought", type=json.loads, default={},
                        help="JSON object: model name -> the file or folder a brought model comes from")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    entries = manifest_entries(args.config, args.compiled, args.trained, args.benchmark_rules, args.plots)
    manifest = build_manifest(entries, args.brought)
    write_text(args.output, json.dumps(manifest, indent=2) + "\n")
    print(f"{len(manifest['artifacts'])} files; versions: {manifest['versions']}")


if __name__ == "__main__":
    main()
