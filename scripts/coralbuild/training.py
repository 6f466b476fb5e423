"""Deterministic Keras training on a tf.data pipeline."""

import tensorflow as tf
import keras
import pandas as pd

from coralbuild.preprocessing import to_model_input


def configure_tensorflow(threads, seed):
    """Bound TensorFlow's thread pools to the job's threads and make every op deterministic."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def make_dataset(images, labels, batch_size, seed=None, threads=1):
    """Batched tf.data pipeline; shuffled (seeded, reshuffled each epoch) when `seed` is given."""
    dataset = tf.data.Dataset.from_tensor_slices((to_model_input(images), labels))
    if seed is not None:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options)


def train(model, split, settings, threads):
    """Compile and fit `model` on a prepared split; return the per-epoch history as a table."""
    model.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        make_dataset(split["x_train"], split["y_train"], settings["batch_size"], settings["seed"], threads),
        validation_data=make_dataset(split["x_val"], split["y_val"], settings["batch_size"], threads=threads),
        epochs=settings["epochs"],
        shuffle=False,  # the pipeline shuffles, seeded
        verbose=2,
    )
    table = pd.DataFrame(history.history)
    table.insert(0, "epoch", range(1, len(table) + 1))
    return table
