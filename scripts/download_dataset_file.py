"""Download one dataset file, verified against its sha256 before it is kept."""

import argparse

from coralbuild.data.download import download
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--sha256", required=True, help="sha256 of the file as downloaded")
    parser.add_argument("--max-bytes", type=int, required=True, help="stop and refuse the download past this size")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    download(args.url, args.output, args.sha256, args.max_bytes)


if __name__ == "__main__":
    main()
