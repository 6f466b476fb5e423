"""Image classification: one score per class; accuracy, per-class metrics and agreement on the
test split of a classification dataset."""

NEEDS_DATASET = True
TRAINABLE = True
