"""Dataset formats: the registry of what a dataset's `format` key may name.

Each format is one module with:
    check_config(name, settings)         planning time: a ConfigError naming the key, or nothing
    rule_inputs(name, settings)          planning time: the files the prepare job reads (named)
    source_digest(name, settings)        planning time: a digest of what the prepare job reads beyond those
                                         inputs (an image folder's images), or None; a change reruns the job
    image_size(settings)                 planning time: (height, width) of the prepared images, or None if unknown
    prepare(settings, source, folder, threads)   the prepare job: writes the prepared dataset
and one schema block in config/schema.yaml. Planning-time functions run while Snakemake builds
the DAG: no TensorFlow there.
"""

from coralbuild.data.formats import idx, image_folder

FORMATS = {"idx": idx, "image_folder": image_folder}
DEFAULT_FORMAT = "idx"


def dataset_format(settings):
    return FORMATS[settings.get("format", DEFAULT_FORMAT)]
