"""Export a .keras checkpoint as a SavedModel folder with a static batch-1 input signature."""

import argparse

from coralbuild.atomic import atomic_output
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="the .keras checkpoint")
    parser.add_argument("--output", required=True, help="the SavedModel folder to write")
    args = parser.parse_args(argv)

    from coralbuild.models.export import export_saved_model

    with atomic_output(args.output, directory=True) as temporary:
        export_saved_model(args.model, temporary)


if __name__ == "__main__":
    main()
