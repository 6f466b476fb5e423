"""Which example goes to training, validation and test: seeded, stratified by class.

Works on labels only, so a format decides the split before it decodes a single image and then
writes each image straight to its place.
"""

import numpy as np

from coralbuild.errors import BadInput

SPLITS = ("train", "val", "test")


def example_count(size, total, key):
    """`size` as a number of examples: a fraction of `total` when below 1, else a count."""
    count = int(round(size * total)) if size < 1 else int(size)
    if count < 1:
        raise BadInput(f"{key} {size} selects no examples out of {total}")
    if count >= total:
        raise BadInput(f"{key} {size} leaves no training data ({total} training examples)")
    return count


def stratified_sample(indices, labels, count, rng):
    """(chosen, rest): `count` of `indices` drawn so that each class keeps its share (largest
    remainder rounding, so the total is exact), each in ascending order."""
    classes, sizes = np.unique(labels, return_counts=True)
    quotas = count * sizes / len(indices)
    taken = np.floor(quotas).astype(np.int64)
    leftover = count - taken.sum()
    # Classes with the largest remainders get one more; ties go to the lower class index.
    taken[np.argsort(-(quotas - taken), kind="stable")[:leftover]] += 1
    chosen = [rng.permutation(indices[labels == label])[:n] for label, n in zip(classes, taken)]
    chosen = np.sort(np.concatenate(chosen))
    return chosen, np.setdiff1d(indices, chosen)


def assign_splits(labels, settings, test_start=None, class_names=None):
    """Indices into `labels` for each split.

    `labels` holds the training pool, then (from `test_start`) a given test set; without one,
    `settings["test_size"]` of the pool becomes the test set. `validation_size` of what is left
    is held out for validation. Training and test orders are seeded shuffles, and
    `max_train_size` / `max_test_size` keep their first examples, for quick runs.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(settings["seed"])
    everything = np.arange(len(labels))
    if test_start is None:
        test, pool = stratified_sample(everything, labels, example_count(settings["test_size"], len(labels), "test_size"), rng)
    else:
        test, pool = everything[test_start:], everything[:test_start]
    count = example_count(settings["validation_size"], len(pool), "validation_size")
    val, train = stratified_sample(pool, labels[pool], count, rng)
    train = rng.permutation(train)[: settings.get("max_train_size")]
    test = rng.permutation(test)[: settings.get("max_test_size")]
    _check_every_class_is_trained(labels, train, class_names)
    return {"train": train, "val": val, "test": test}


def _check_every_class_is_trained(labels, train, class_names):
    missing = sorted(set(np.unique(labels).tolist()) - set(np.unique(labels[train]).tolist()))
    if missing:
        names = [class_names[index] if class_names else str(index) for index in missing]
        raise BadInput(f"class {', '.join(names)} has no training examples left after the split "
                       "(raise max_train_size or lower validation_size / test_size)")
