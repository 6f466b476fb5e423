"""Which example goes to training, validation and test: seeded, stratified by class.

Works on labels only, so a format decides the split before it decodes a single image and then
writes each image straight to its place.
"""

import numpy as np

from coralbuild.errors import BadInput

SPLITS = ("train", "val", "test")
# A class with fewer examples than this in a split is trained or measured there on a handful of
# images: a warning in the prepare log and in dataset.json (the run goes on).
MIN_CLASS_IMAGES = 10


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


def assign_splits(labels, settings, given=None, class_names=None):
    """Indices into `labels` for each split.

    `given` maps "val" and/or "test" to the indices of the examples the source puts in that split
    (a test/ folder, the IDX test files); every other example is the training pool. A split not
    given is drawn from the pool: first the test set (`test_size` of the pool), then the
    validation set (`validation_size` of what is left). Training and test orders are seeded
    shuffles, and `max_train_size` / `max_test_size` keep their first examples, for quick runs.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(settings["seed"])
    splits = {split: np.asarray(indices, dtype=np.int64) for split, indices in (given or {}).items()}
    pool = np.setdiff1d(np.arange(len(labels)), np.concatenate([np.empty(0, np.int64), *splits.values()]))
    for split, key in (("test", "test_size"), ("val", "validation_size")):
        if split not in splits:
            splits[split], pool = stratified_sample(pool, labels[pool], example_count(settings[key], len(pool), key), rng)
    train = rng.permutation(pool)[: settings.get("max_train_size")]
    test = rng.permutation(splits["test"])[: settings.get("max_test_size")]
    _check_every_class_is_trained(labels, train, class_names)
    return {"train": train, "val": splits["val"], "test": test}


def few_images_warnings(labels, splits, class_names):
    """One line per class with fewer than MIN_CLASS_IMAGES examples (or none) in any split."""
    labels = np.asarray(labels)
    counts = {split: np.bincount(labels[indices], minlength=len(class_names)) for split, indices in splits.items()}
    warnings = []
    for label, name in enumerate(class_names):
        few = [f"{split} ({counts[split][label] or 'none'})" for split in splits
               if counts[split][label] < MIN_CLASS_IMAGES]
        if few:
            listed = few[0] if len(few) == 1 else ", ".join(few[:-1]) + " and " + few[-1]
            warnings.append(f"class {name} has fewer than {MIN_CLASS_IMAGES} images in {listed}")
    return warnings


def _check_every_class_is_trained(labels, train, class_names):
    missing = sorted(set(np.unique(labels).tolist()) - set(np.unique(labels[train]).tolist()))
    if missing:
        names = [class_names[index] if class_names else str(index) for index in missing]
        raise BadInput(f"class {', '.join(names)} has no training examples left after the split "
                       "(raise max_train_size or lower validation_size / test_size)")
