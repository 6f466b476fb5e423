"""Write the code digest of a script: one `<sha256>  <path>` line (sha256sum's format) for the
script and for every package module it imports, paths relative to the scripts folder so that the
digest is the same wherever the workflow runs from."""

import argparse
import hashlib
import os

from coralbuild.atomic import write_text
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True, help="the scripts folder, which the listed paths are named from")
    parser.add_argument("--files", nargs="+", required=True, help="the script and the modules it imports")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    lines = []
    for path in args.files:
        with open(path, "rb") as handle:
            lines.append(f"{hashlib.file_digest(handle, 'sha256').hexdigest()}  {os.path.relpath(path, args.root)}\n")
    write_text(args.output, "".join(lines))


if __name__ == "__main__":
    main()
