"""Datasets: the formats users bring (IDX files, image folders), their preparation into a
train/validation/test split, and the prepared split's storage."""
