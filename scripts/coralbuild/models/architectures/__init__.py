"""The architectures a model can name in config (`models.<name>.architecture`).

A registry: each module holds an ARCHITECTURES dict of base.Architecture entries, so adding an
architecture is an entry in a module (or a new module) and its block in config/schema.yaml.
Importing this package stays free of Keras and TensorFlow (the Snakefile reads it while building
the DAG): the builders import Keras themselves.
"""

from coralbuild import registry
from coralbuild.errors import BadInput

# The ARCHITECTURES dicts of this package's modules, merged: a new module needs no line here.
ARCHITECTURES = registry.declared(__name__, __path__, "ARCHITECTURES")


def build_model(settings, input_shape, num_classes, seed=0):
    """Build the architecture named by `settings["architecture"]` for (H, W, C) images;
    `seed` seeds its random layers. An image smaller than the architecture accepts is BadInput."""
    name = settings["architecture"]
    architecture = ARCHITECTURES[name]
    minimum = architecture.min_image_size(settings)
    height, width = input_shape[:2]
    if min(height, width) < minimum:
        raise BadInput(f"{name}: images of {height}x{width} are too small, the minimum is {minimum}x{minimum}")
    return architecture.build(settings, input_shape, num_classes, seed)
