"""Train a model from config on a prepared dataset; write the .keras checkpoint and history.csv."""

import argparse
import json
from pathlib import Path

from coralbuild.atomic import atomic_output
from coralbuild.data.prepared import class_names, load_split
from coralbuild.defaults import with_defaults
from coralbuild.errors import reports_bad_input
from coralbuild.models.keras_archive import normalize_keras_archive
from coralbuild.models.sources import model_source
from coralbuild.models.sources.architecture import weights_file


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="prepared dataset folder")
    parser.add_argument("--name", default="model", help="the model's name in the config (for messages)")
    parser.add_argument("--model-settings", type=json.loads, required=True, help="models.<name> section (JSON)")
    parser.add_argument("--train-settings", type=json.loads, required=True,
                        help="train section merged with the model's own overrides (JSON)")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow thread pool size")
    parser.add_argument("--code-digest", help="results/code/train.sha256: the digest of the code this training runs, "
                                              "which a kept training state must match to be resumed")
    parser.add_argument("--model", required=True, help="the .keras checkpoint to write")
    parser.add_argument("--history", required=True, help="per-epoch loss and accuracy (CSV)")
    parser.add_argument("--state", type=Path, required=True,
                        help="training state kept after each epoch, so that a killed run resumes from its last "
                             "finished epoch; removed once the model is written")
    return parser.parse_args(argv)


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    args.train_settings = with_defaults("/properties/train", args.train_settings)
    # TensorFlow is imported after argument parsing so that --help stays fast.
    from coralbuild.models.training import TrainingState, configure_tensorflow, train, training_fingerprint

    configure_tensorflow(args.threads, args.train_settings["seed"])
    split = load_split(args.data)
    source = model_source(args.name, args.model_settings)
    model = source.starting_model(args.name, args.model_settings, split["x_train"].shape[1:],
                                  len(class_names(args.data)), args.train_settings["seed"])
    model.summary(print_fn=print)
    # The rule hands over the digest of this script and the modules it imports; run by hand,
    # every module of the package stands for the code.
    code = [args.code_digest] if args.code_digest else [__file__, *Path(__file__).parent.joinpath("coralbuild").rglob("*.py")]
    weights = weights_file(args.model_settings)
    fingerprint = training_fingerprint(args.data, args.model_settings, args.train_settings, code, weights)
    state = TrainingState(args.state, fingerprint, keep=args.train_settings["keep"])
    history = train(model, split, args.train_settings, args.threads, state,
                    source.input_range(args.model_settings), args.model_settings)
    with atomic_output(args.model) as temporary:
        as_saved = temporary.with_suffix(".as-saved.keras")  # named like a temporary: removed if left behind
        try:
            model.save(as_saved)
            normalize_keras_archive(as_saved, temporary)
        finally:
            as_saved.unlink(missing_ok=True)
    with atomic_output(args.history) as temporary:
        history.to_csv(temporary, index=False)
    state.discard()


if __name__ == "__main__":
    main()
