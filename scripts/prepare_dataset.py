"""Verify a dataset's four IDX files and write its train/validation/test split (.npz)."""

import argparse
import json

from coralbuild.atomic import atomic_output
from coralbuild.data.files import PARTS
from coralbuild.data.split import load_idx_pair, save_split, split_dataset
from coralbuild.errors import reports_bad_input


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    for part in PARTS:
        parser.add_argument(f"--{part.replace('_', '-')}", required=True, help=f"IDX file: {part}")
    parser.add_argument("--settings", type=json.loads, required=True,
                        help="the dataset's config section (JSON): sha256, validation_size, seed, limits")
    parser.add_argument("--output", required=True, help="the .npz split to write")
    return parser.parse_args(argv)


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    sha256 = args.settings["sha256"]
    train = load_idx_pair(args.train_images, args.train_labels, sha256["train_images"], sha256["train_labels"])
    test = load_idx_pair(args.test_images, args.test_labels, sha256["test_images"], sha256["test_labels"])
    print(f"verified {len(train[0])} training and {len(test[0])} test examples of shape {train[0].shape[1:]}")
    split = split_dataset(
        train, test,
        validation_size=args.settings["validation_size"],
        seed=args.settings["seed"],
        max_train_size=args.settings.get("max_train_size"),
        max_test_size=args.settings.get("max_test_size"),
    )
    with atomic_output(args.output) as temporary:
        save_split(temporary, split)
    print(", ".join(f"{name}: {array.shape}" for name, array in split.items()))


if __name__ == "__main__":
    main()
