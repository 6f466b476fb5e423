"""Deterministic, resumable Keras training on a tf.data pipeline, in phases.

A pretrained backbone with `fine_tune` trains in two phases: first frozen (only the head
learns, at `train.learning_rate`), then with its last `fine_tune.unfreeze` layers unfrozen at
`fine_tune.learning_rate`; each phase has its own optimizer. Everything else trains in one phase.
`train.early_stopping` ends a phase after `patience` epochs without a better validation result
(the frozen phase then hands over to fine-tuning early), and `train.keep: best` keeps the
weights of the epoch with the best one: highest validation accuracy, ties to the lower
validation loss.

A killed training goes on from its last finished epoch: `TrainingState` keeps every variable
(weights, the phase's optimizer slots and step, the Dropout seed generator), the best epoch's
weights and the history after each epoch, and each epoch's batch order depends only on
(seed, epoch). Which phase an epoch belongs to follows from the history, so the resumed epochs
see the same batches in the same state as an uninterrupted run: the result is bit-identical.
"""

import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from coralbuild.atomic import atomic_output
from coralbuild.defaults import with_defaults
from coralbuild.errors import BadInput
from coralbuild.models.augmentation import augment, is_active
from coralbuild.models.input_range import UNIT_RANGE
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


def training_fingerprint(data_path, model_settings, train_settings, code, weights=None):
    """What a kept training state must match to be resumed: the data, settings, the weights file
    it started from, the code the training runs (`code`: its rule's code digest, or the code files) and library
    versions."""
    described = {"data": files_digest([data_path]), "model": model_settings, "train": train_settings,
                 "code": files_digest(code), "weights": files_digest([weights]) if weights else None,
                 "tensorflow": tf.__version__, "keras": keras.__version__}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Phase:
    """Epochs up to `end` (a count from the start of training) trained with the last `unfreeze`
    backbone layers trainable (None: the model as built) at `learning_rate`."""

    name: str
    end: int
    unfreeze: object
    learning_rate: float


FINE_TUNE_SCHEMA = "/$defs/pretrained/properties/fine_tune"


def plan_phases(model_settings, train_settings):
    """The phases of a training: frozen then fine_tune with `fine_tune`, else one `train` phase."""
    epochs, rate = train_settings["epochs"], train_settings["learning_rate"]
    if epochs == 0:
        return []  # a brought model kept as it is
    if "fine_tune" not in model_settings:
        return [Phase("train", epochs, None, rate)]
    fine_tune = with_defaults(FINE_TUNE_SCHEMA, model_settings["fine_tune"])
    frozen = min(fine_tune["frozen_epochs"], epochs)
    phases = [Phase("frozen", frozen, 0, rate)] if frozen else []
    if frozen < epochs:
        phases.append(Phase("fine_tune", epochs, fine_tune["unfreeze"], fine_tune.get("learning_rate", rate)))
    return phases


def result_key(row):
    """How good an epoch is: validation accuracy, then the lower validation loss."""
    return (row.get("val_accuracy", float("-inf")), -row.get("val_loss", float("inf")))


def best_epoch_index(history):
    """The index of the best row of `history` (the first of equals), or None when it is empty."""
    best = None
    for index, row in enumerate(history):
        if best is None or result_key(row) > result_key(history[best]):
            best = index
    return best


def epochs_without_gain(history):
    """Epochs of the current (last) phase since the run's best result last improved."""
    phase = history[-1]["phase"]
    phase_start = next(index for index, row in enumerate(history) if row["phase"] == phase)
    return len(history) - max(best_epoch_index(history) + 1, phase_start)


def phase_over(history, phase, patience):
    """Whether `phase`, the phase of history's last row, has ended: its last epoch was trained,
    or (early stopping) `patience` epochs brought no better result."""
    return len(history) >= phase.end or bool(patience and epochs_without_gain(history) >= patience)


def current_phase(history, phases, patience):
    """The phase the next epoch belongs to, or None when training is over."""
    if not phases:
        return None
    if not history:
        return phases[0]
    index = next(i for i, phase in enumerate(phases) if phase.name == history[-1]["phase"])
    if phase_over(history, phases[index], patience):
        index += 1
    return phases[index] if index < len(phases) else None


def stop_reason(history, phases, patience):
    """Why the last phase (or the training) ended, for history.csv."""
    phase = next(phase for phase in phases if phase.name == history[-1]["phase"])
    if len(history) >= phase.end:
        return f"{phase.name} phase completed ({phase.end} epochs in all)"
    return f"{phase.name} phase stopped early: no better validation result in {patience} epochs"


class TrainingState(keras.callbacks.Callback):
    """The training state after the last finished epoch, in one .npz file replaced atomically.

    The file holds all model variables and the current phase's optimizer variables in their
    fixed order, the best epoch's model variables, the history rows (each with its phase) and
    the fingerprint of the inputs; a file whose fingerprint differs (other data, settings or
    library versions) is not used and is replaced after the next epoch.
    """

    def __init__(self, path, fingerprint, keep):
        super().__init__()
        self.path, self.fingerprint, self.keep = Path(path), fingerprint, keep
        self.history, self.best, self.phase = [], None, None
        self._kept_optimizer = None

    def restore(self, model):
        """Load the kept state's model variables into `model`; return the number of epochs done.
        The optimizer's variables wait for start_phase, once the phase's optimizer exists."""
        self.set_model(model)
        if not self.path.exists():
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as kept:
                if str(kept["fingerprint"]) != self.fingerprint:
                    print(f"{self.path}: kept training state is for other inputs; starting from epoch 1")
                    return 0
                values = {prefix: [kept[name] for name in sorted(kept.files, key=_variable_number)
                                   if name.startswith(f"{prefix}_")] for prefix in ("model", "optimizer", "best")}
                history = json.loads(str(kept["history"]))
            _check_shapes(model.variables, values["model"])
            if values["best"]:
                _check_shapes(model.variables, values["best"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            print(f"{self.path}: kept training state unreadable ({error}); starting from epoch 1", file=sys.stderr)
            return 0
        for variable, value in zip(model.variables, values["model"], strict=True):
            variable.assign(value)
        self.history, self.best = history, values["best"] or None
        self._kept_optimizer = values["optimizer"]
        print(f"{self.path}: resuming after epoch {len(self.history)}")
        return len(self.history)

    def start_phase(self, model, phase):
        """Build the phase's (just compiled) optimizer; when the kept state ended inside this
        phase, give it back its variables (a new phase starts with a fresh optimizer)."""
        self.phase = phase.name
        model.optimizer.build(model.trainable_variables)
        kept, self._kept_optimizer = self._kept_optimizer, None
        if kept is not None and self.history and self.history[-1]["phase"] == phase.name:
            for variable, value in zip(model.optimizer.variables, kept, strict=True):
                variable.assign(value)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "phase": self.phase or "train",
               **{name: float(value) for name, value in (logs or {}).items()}}
        if not np.isfinite(row.get("loss", 0.0)):  # stops before the epoch is kept: no NaN model is measured
            raise BadInput(f"the training loss became {row['loss']} in epoch {epoch + 1} ({row['phase']} phase): "
                           "lower train.learning_rate (or the model's fine_tune.learning_rate)")
        self.history.append(row)
        if self.keep == "best" and best_epoch_index(self.history) == len(self.history) - 1:
            self.best = [variable.numpy() for variable in self.model.variables]
        arrays = {f"model_{index}": variable.numpy() for index, variable in enumerate(self.model.variables)}
        arrays.update({f"optimizer_{index}": variable.numpy()
                       for index, variable in enumerate(self.model.optimizer.variables)})
        arrays.update({f"best_{index}": value for index, value in enumerate(self.best or [])})
        with atomic_output(self.path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, fingerprint=self.fingerprint, history=json.dumps(self.history), **arrays)

    def discard(self):
        """Remove the kept state once the finished model is written."""
        self.path.unlink(missing_ok=True)


def _variable_number(name):
    return int(name.rsplit("_", 1)[1]) if name.rsplit("_", 1)[-1].isdigit() else -1


def _check_shapes(variables, values):
    if len(values) != len(variables):
        raise ValueError(f"it holds {len(values)} variables, the model has {len(variables)}")
    for variable, value in zip(variables, values, strict=True):
        if tuple(variable.shape) != value.shape:
            raise ValueError(f"{variable.path} has shape {value.shape}, expected {tuple(variable.shape)}")


class StopWhenPhaseIsOver(keras.callbacks.Callback):
    """Ends `fit` when the phase is over by early stopping (computed from the history, so that a
    resumed run stops where an uninterrupted one does)."""

    def __init__(self, state, phase, patience):
        super().__init__()
        self.state, self.phase, self.patience = state, phase, patience

    def on_epoch_end(self, epoch, logs=None):
        if phase_over(self.state.history, self.phase, self.patience):
            self.model.stop_training = True


def learning_rate(settings, steps, rate=None):
    """Adam's learning rate for a phase of `steps` steps: constant, or (`learning_rate_schedule:
    cosine`) decaying from `rate` (default `learning_rate`) to 0 along a half cosine over the
    phase. A schedule is a function of the optimizer's step count, which the training state
    keeps, so a resumed run follows it."""
    rate = settings["learning_rate"] if rate is None else rate
    if settings["learning_rate_schedule"] == "constant":
        return rate
    return keras.optimizers.schedules.CosineDecay(rate, steps)


def class_weights(labels, mode):
    """`train.class_weight: balanced`: class c weighs N / (classes x N_c), so that every class
    adds as much to the loss as the others (scikit-learn's "balanced"); `none`: None."""
    if mode != "balanced":
        return None
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    return {int(c): float(len(labels) / (len(classes) * n)) for c, n in zip(classes, counts, strict=True)}


def train(model, split, settings, threads, state, input_range=UNIT_RANGE, model_settings=None):
    """Compile and fit `model` on a prepared split phase by phase, resuming from `state` (a
    TrainingState); keep the best or the last epoch's weights; return the per-epoch history of
    the whole training as a table, with the epoch kept and why each phase stopped."""
    steps_per_epoch = -(-len(split["x_train"]) // settings["batch_size"])
    phases = plan_phases(model_settings or {}, settings)
    patience = (settings["early_stopping"] or {}).get("patience")
    weights = class_weights(split["y_train"], settings["class_weight"])
    state.restore(model)
    validation = make_dataset(split["x_val"], split["y_val"], settings["batch_size"], input_range, threads)
    prepared = None
    while (phase := current_phase(state.history, phases, patience)) is not None:
        prepared = prepare_phase(model, phase, state, settings, steps_per_epoch)
        first = len(state.history)
        print(f"phase {phase.name}: epochs {first + 1} to {phase.end} at learning rate {phase.learning_rate}"
              + {None: "", 0: ", backbone frozen", "all": ", every backbone layer trainable"}.get(
                  phase.unfreeze, f", last {phase.unfreeze} backbone layers trainable")
              + (" (BatchNormalization in inference mode)" if phase.unfreeze is not None else ""))
        model.fit(
            make_training_dataset(split["x_train"], split["y_train"], {**settings, "epochs": phase.end}, first,
                                  input_range, threads),
            validation_data=validation,
            initial_epoch=first,
            epochs=phase.end,
            steps_per_epoch=steps_per_epoch,
            class_weight=weights,
            callbacks=[state, StopWhenPhaseIsOver(state, phase, patience)],
            shuffle=False,  # the pipeline shuffles, seeded
            verbose=2,
        )
    if prepared is None and state.history:
        # Every epoch was done before this run (killed while saving): the model must still carry
        # its last phase's trainable layers and optimizer, as an uninterrupted run's does.
        prepare_phase(model, next(p for p in phases if p.name == state.history[-1]["phase"]), state, settings,
                      steps_per_epoch)
    return finished_history(model, state, phases, patience)


def prepare_phase(model, phase, state, settings, steps_per_epoch):
    """Make `phase`'s layers trainable, compile the model with the phase's own optimizer and
    give it back its kept variables; return the phase."""
    from coralbuild.models.architectures.applications import set_trainable_backbone

    if phase.unfreeze is not None:
        set_trainable_backbone(model, phase.unfreeze)
    phase_start = next((row["epoch"] - 1 for row in state.history if row["phase"] == phase.name), len(state.history))
    # Named, not numbered by how many optimizers this process made: a run resumed inside the
    # second phase must save what an uninterrupted one saves.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate(settings, (phase.end - phase_start) * steps_per_epoch,
                                                      phase.learning_rate), name="adam"),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    state.start_phase(model, phase)
    return phase


def finished_history(model, state, phases, patience):
    """Put the kept epoch's weights in `model`, and the history with `kept` and `stopped` columns."""
    if not state.history:  # a brought model kept as it is (0 epochs): an empty history, with its header
        return pd.DataFrame(columns=["epoch"])
    kept = len(state.history) - 1
    if state.keep == "best" and state.best is not None:
        kept = best_epoch_index(state.history)
        for variable, value in zip(model.variables, state.best, strict=True):
            variable.assign(value)
    table = pd.DataFrame(state.history)
    table["kept"] = [index == kept for index in range(len(table))]
    table["stopped"] = ""
    for index in range(len(table)):
        ends_phase = index == len(table) - 1 or table["phase"][index + 1] != table["phase"][index]
        if ends_phase:
            table.loc[index, "stopped"] = stop_reason(state.history[:index + 1], phases, patience)
    print(f"kept epoch {kept + 1} ({'best validation result' if state.keep == 'best' else 'the last'}): "
          + ", ".join(f"{name} {state.history[kept][name]:.4f}" for name in ("val_accuracy", "val_loss")
                      if name in state.history[kept]))
    return table
