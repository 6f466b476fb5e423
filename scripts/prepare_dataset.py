"""Prepare a dataset (IDX files or an image folder) into a train/validation/test folder of
.npy arrays read batch by batch, verified against its checksums."""

import argparse
import json

from coralbuild.atomic import atomic_output
from coralbuild.data.formats import FORMATS, format_module
from coralbuild.errors import reports_bad_input


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=sorted(FORMATS), required=True)
    parser.add_argument("--source", type=json.loads, required=True,
                        help="where the data is (JSON): idx: the four files by part; image_folder: {\"folder\": path}")
    parser.add_argument("--settings", type=json.loads, required=True,
                        help="the dataset's config section (JSON): checksums, image size, split settings")
    parser.add_argument("--threads", type=int, default=1, help="threads decoding images")
    parser.add_argument("--output", required=True, help="the prepared dataset folder to write")
    return parser.parse_args(argv)


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    with atomic_output(args.output, directory=True) as temporary:
        format_module(args.format).prepare(args.settings, args.source, temporary, args.threads)


if __name__ == "__main__":
    main()
