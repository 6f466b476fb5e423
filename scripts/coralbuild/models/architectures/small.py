"""The two small architectures written here: a CNN and the MLP of the original Coral guide.

Every layer they use maps onto ops the Edge TPU runs (Coral's op table): CONV_2D, MAX_POOL_2D,
RESHAPE, FULLY_CONNECTED, SOFTMAX. Layers get explicit names so a model is the same whatever
else the process built before.
"""

from coralbuild.models.architectures.base import Architecture
from coralbuild.models.input_range import UNIT_RANGE


def build_cnn(settings, input_shape, num_classes, seed):
    """Conv/ReLU/max-pool blocks, flatten, dense ReLU layers, softmax."""
    import keras
    from keras import layers

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


def cnn_min_image_size(settings):
    """The smallest side that leaves >= 1 pixel after every block (a valid k x k convolution
    takes k - 1 pixels, then a 2x2 max pool halves, rounding down): walked back from 1 pixel."""
    size = 1
    for _ in settings["conv_filters"]:
        size = 2 * size + settings["kernel_size"] - 1
    return size


def build_mlp(settings, input_shape, num_classes, seed):
    """The MLP of the original Coral guide: Dense 512/256 ReLU, dropout, Dense softmax."""
    import keras
    from keras import layers

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


ARCHITECTURES = {
    "cnn": Architecture(
        build=build_cnn,
        input_range=UNIT_RANGE,
        min_image_size=cnn_min_image_size,
        description="conv/ReLU/2x2 max-pool blocks, dense ReLU layers, softmax",
    ),
    "mlp": Architecture(
        build=build_mlp,
        input_range=UNIT_RANGE,
        min_image_size=lambda settings: 1,  # it flattens whatever it gets
        description="the Coral guide's MLP: flatten, dense ReLU layers, dropout, softmax",
    ),
}
