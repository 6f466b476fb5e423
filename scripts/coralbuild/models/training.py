"""Deterministic, resumable Keras training on a tf.data pipeline.

A killed training goes on from its last finished epoch: `TrainingState` keeps every variable
(weights, optimizer slots and step, the Dropout seed generator) and the history after each
epoch, and each epoch's batch order depends only on (seed, epoch), so the resumed epochs see
the same batches in the same state as an uninterrupted run: the result is bit-identical.
"""

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf
import keras
import pandas as pd

from coralbuild.atomic import atomic_output
from coralbuild.models.augmentation import augment, is_active
from coralbuild.models.preprocessing import to_model_input

# Batches per epoch are numbered below this, so that (epoch, step) gives every batch its own seed.
STEPS_PER_EPOCH_BOUND = 1 << 32


def configure_tensorflow(threads, seed):
    """Bound TensorFlow's thread pools to the job's threads and make every op deterministic."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _with_threads(dataset, threads):
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def _read_batches(indices, images, labels, input_range):
    """(model input, label) batches read from `images` at the positions each element of
    `indices` (a dataset of index vectors) names. `images` is what load_split gives (StoredImages:
    each batch's rows are read from the file into a new array, nothing is memory-mapped, so the
    job's resident memory does not grow with the images an epoch has seen) or an array."""
    shape = (None, *images.shape[1:])

    def read(batch):
        return to_model_input(images[batch], input_range), labels[batch]

    def read_in_graph(batch):
        inputs, targets = tf.numpy_function(read, [batch], (tf.float32, tf.int64), stateful=False)
        inputs.set_shape(shape)
        targets.set_shape((None,))
        return inputs, targets

    return indices.map(read_in_graph)


def make_dataset(images, labels, batch_size, input_range, threads=1):
    """Batches in stored order (for validation)."""
    indices = tf.data.Dataset.range(len(images)).batch(batch_size)
    return _with_threads(_read_batches(indices, images, np.asarray(labels), input_range), threads)


def make_training_dataset(images, labels, settings, first_epoch, input_range, threads=1):
    """Shuffled (and, with `train.augment`, augmented) batches of epochs `first_epoch` to
    `settings["epochs"] - 1`, one after another.

    Epoch e's order is a stateless shuffle seeded with (seed, e), and its augmentation is drawn
    from (seed, e, step): unlike a reshuffling `Dataset.shuffle`, whose order depends on how many
    epochs this process has iterated, a run that starts at epoch e gets the batches an
    uninterrupted run gets at epoch e.
    """
    all_indices = tf.range(len(images), dtype=tf.int64)
    seed = tf.constant(settings["seed"], tf.int64)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(all_indices, seed=tf.stack([seed, epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(settings["batch_size"])
        return batches.enumerate().map(lambda step, batch: (epoch, step, batch))

    numbered = tf.data.Dataset.range(first_epoch, settings["epochs"]).flat_map(epoch_batches)
    read = _read_batches(numbered.map(lambda epoch, step, batch: batch), images, np.asarray(labels), input_range)
    augment_settings = settings.get("augment")
    if is_active(augment_settings):
        steps = numbered.map(lambda epoch, step, batch: tf.stack([seed, epoch * STEPS_PER_EPOCH_BOUND + step]))
        read = tf.data.Dataset.zip(read, steps).map(
            lambda batch, batch_seed: (augment(batch[0], batch_seed, augment_settings), batch[1]))
    return _with_threads(read, threads)


def files_digest(paths):
    """One sha256 over the names and contents of `paths` (files, or folders taken file by file)."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(f"{file.name}\0".encode())
                with open(file, "rb") as content:
                    digest.update(hashlib.file_digest(content, "sha256").digest())
    return digest.hexdigest()


def training_fingerprint(data_path, model_settings, train_settings, code):
    """What a kept training state must match to be resumed: the data, settings, the code the
    training runs (`code`: the files its rule lists) and library versions."""
    described = {"data": files_digest([data_path]), "model": model_settings, "train": train_settings,
                 "code": files_digest(code), "tensorflow": tf.__version__, "keras": keras.__version__}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


class TrainingState(keras.callbacks.Callback):
    """The training state after the last finished epoch, in one .npz file replaced atomically.

    The file holds all model and optimizer variables in their fixed order, the history rows and
    the fingerprint of the inputs; a file whose fingerprint differs (other data, settings or
    library versions) is not used and is replaced after the next epoch.
    """

    def __init__(self, path, fingerprint):
        super().__init__()
        self.path, self.fingerprint = path, fingerprint
        self.history = []

    def _variables(self):
        return list(self.model.variables) + list(self.model.optimizer.variables)

    def restore(self, model):
        """Load the kept state into the compiled `model`; return the number of epochs it has done."""
        self.set_model(model)
        model.optimizer.build(model.trainable_variables)  # its slot variables must exist to be assigned
        if not self.path.exists():
            return 0
        variables = self._variables()
        try:
            with np.load(self.path, allow_pickle=False) as kept:
                if str(kept["fingerprint"]) != self.fingerprint:
                    print(f"{self.path}: kept training state is for other inputs; starting from epoch 1")
                    return 0
                values = [kept[f"variable_{index}"] for index in range(len(variables))]
                history = json.loads(str(kept["history"]))
            for variable, value in zip(variables, values):
                if tuple(variable.shape) != value.shape:
                    raise ValueError(f"{variable.path} has shape {value.shape}, expected {tuple(variable.shape)}")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            print(f"{self.path}: kept training state unreadable ({error}); starting from epoch 1", file=sys.stderr)
            return 0
        for variable, value in zip(variables, values):
            variable.assign(value)
        self.history = history
        print(f"{self.path}: resuming after epoch {len(self.history)}")
        return len(self.history)

    def on_epoch_end(self, epoch, logs=None):
        self.history.append({"epoch": epoch + 1, **{name: float(value) for name, value in (logs or {}).items()}})
        arrays = {f"variable_{index}": variable.numpy() for index, variable in enumerate(self._variables())}
        with atomic_output(self.path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, fingerprint=self.fingerprint, history=json.dumps(self.history), **arrays)

    def discard(self):
        """Remove the kept state once the finished model is written."""
        self.path.unlink(missing_ok=True)


def learning_rate(settings, steps_per_epoch):
    """Adam's learning rate: constant, or (`learning_rate_schedule: cosine`) decaying from
    `learning_rate` to 0 along a half cosine over the whole training. A schedule is a function of
    the optimizer's step count, which the training state keeps, so a resumed run follows it."""
    if settings.get("learning_rate_schedule", "constant") == "constant":
        return settings["learning_rate"]
    return keras.optimizers.schedules.CosineDecay(settings["learning_rate"], settings["epochs"] * steps_per_epoch)


def train(model, split, settings, threads, state, input_range=(0.0, 1.0)):
    """Compile and fit `model` on a prepared split, resuming from `state` (a TrainingState);
    return the per-epoch history of the whole training as a table."""
    steps_per_epoch = -(-len(split["x_train"]) // settings["batch_size"])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(settings, steps_per_epoch)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    epochs_done = state.restore(model)
    batch_size, epochs = settings["batch_size"], settings["epochs"]
    if epochs_done < epochs:
        model.fit(
            make_training_dataset(split["x_train"], split["y_train"], settings, epochs_done, input_range, threads),
            validation_data=make_dataset(split["x_val"], split["y_val"], batch_size, input_range, threads),
            initial_epoch=epochs_done,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=[state],
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=2,
        )
    # A brought model kept as it is (0 epochs) has an empty history, with its header.
    return pd.DataFrame(state.history) if state.history else pd.DataFrame(columns=["epoch"])
