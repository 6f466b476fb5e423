"""The four files of an MNIST-style IDX dataset (standard library only: the Snakefile uses it)."""

# Part -> number of IDX dimensions.
PARTS = {"train_images": 3, "train_labels": 1, "test_images": 3, "test_labels": 1}
STANDARD_FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
