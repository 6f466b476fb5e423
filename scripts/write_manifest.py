"""Write the provenance manifest (results/manifest.json) of a finished run."""

import argparse
import json

from coralbuild.atomic import write_text
from coralbuild.errors import reports_bad_input
from coralbuild.reporting.manifest import build_manifest


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=json.loads, required=True,
                        help='JSON list of {"path", "rule", "config_hash"} for every output')
    parser.add_argument("--brought", type=json.loads, default={},
                        help="JSON object: model name -> the file or folder a brought model comes from")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    manifest = build_manifest(args.entries, args.brought)
    write_text(args.output, json.dumps(manifest, indent=2) + "\n")
    print(f"{len(manifest['artifacts'])} files; versions: {manifest['versions']}")


if __name__ == "__main__":
    main()
