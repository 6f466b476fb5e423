"""Model architectures, built from their config section (`models.<name>` in config.yaml).

Every architecture uses only ops the Edge TPU runs (Coral's op table): CONV_2D, MAX_POOL_2D,
RESHAPE, FULLY_CONNECTED, SOFTMAX. Layers get explicit names so a model is the same whatever
else the process built before.
"""

import keras
from keras import layers


def build_cnn(settings, input_shape, num_classes, seed):
    """Conv/ReLU/max-pool blocks, flatten, dense ReLU layers, softmax."""
    model = keras.Sequential(name="cnn")
    model.add(keras.Input(shape=input_shape, name="image"))
    for index, filters in enumerate(settings["conv_filters"]):
        model.add(layers.Conv2D(filters, settings["kernel_size"], activation="relu", name=f"conv{index}"))
        model.add(layers.MaxPooling2D(2, name=f"pool{index}"))
    model.add(layers.Flatten(name="flatten"))
    for index, units in enumerate(settings["dense_units"]):
        model.add(layers.Dense(units, activation="relu", name=f"dense{index}"))
    model.add(layers.Dense(num_classes, activation="softmax", name="classifier"))
    return model


def build_mlp(settings, input_shape, num_classes, seed):
    """The MLP of the original Coral guide: Dense 512/256 ReLU, dropout, Dense softmax."""
    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=input_shape, name="image"))
    model.add(layers.Flatten(name="flatten"))
    for index, units in enumerate(settings["hidden_units"]):
        model.add(layers.Dense(units, activation="relu", name=f"dense{index}"))
    # A seeded Dropout keeps its seed in the saved config: reloaded anywhere, its seed
    # generator's state (which the SavedModel stores) is the same.
    model.add(layers.Dropout(settings["dropout"], seed=seed, name="dropout"))
    model.add(layers.Dense(num_classes, activation="softmax", name="classifier"))
    return model


ARCHITECTURES = {"cnn": build_cnn, "mlp": build_mlp}


def build_model(settings, input_shape, num_classes, seed=0):
    """Build the architecture named by `settings["architecture"]`; `seed` seeds its random layers."""
    return ARCHITECTURES[settings["architecture"]](settings, input_shape, num_classes, seed)
