"""Image classification: one score per class; accuracy, per-class metrics and agreement on the
test split of a classification dataset."""

DATASET_FORMATS = ("idx", "image_folder")
NEEDS_DATASET = True
TRAINABLE = True
