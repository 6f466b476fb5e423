"""Take a fully int8 .tflite you bring as the model's int8 model: check it, copy its bytes, and
write labels.txt from the dataset's classes. The file you brought is only read."""

import argparse
import shutil

from coralbuild.atomic import atomic_output, write_text
from coralbuild.data.prepared import class_names
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="the int8 .tflite you bring")
    parser.add_argument("--data", required=True, help="prepared dataset folder (for the class names)")
    parser.add_argument("--output", required=True, help="the int8 model to write (a copy)")
    parser.add_argument("--labels", required=True, help="labels.txt to write: class names in index order")
    args = parser.parse_args(argv)
    from coralbuild.measure.inference import check_fully_integer

    check_fully_integer(args.source)
    with atomic_output(args.output) as temporary:
        shutil.copyfile(args.source, temporary)
    write_text(args.labels, "".join(f"{name}\n" for name in class_names(args.data)))
    print(f"{args.source}: fully int8; copied to {args.output}")


if __name__ == "__main__":
    main()
