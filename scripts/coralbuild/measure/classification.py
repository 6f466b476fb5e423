"""Classification metrics from true labels and ranked predictions: the confusion matrix, per-class
precision, recall and F1, balanced accuracy and top-k accuracy. numpy only, and 3.9-compatible:
the Edge TPU benchmark computes them in Coral's Python 3.9 environment too."""

import numpy as np

TOP_K = 5  # top-5 accuracy is reported where there are more classes than this


def ranked_classes(scores, k):
    """The `k` best classes of each row of `scores` (N, classes), best first. Ties go to the lower
    class index, as np.argmax breaks them, so column 0 is always the argmax. Raw quantized outputs
    rank like their dequantized values (the output scale is positive)."""
    scores = np.asarray(scores, dtype=np.float64)  # negating uint8 would wrap around
    return np.argsort(-scores, axis=-1, kind="stable")[..., :k]


def confusion_matrix(labels, predicted, num_classes):
    """Counts (true class, predicted class): row i holds the test images of class i."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return counts


def _ratio(numerator, denominator):
    """numerator / denominator per class; None where the denominator is 0 (undefined, not 0)."""
    return [float(n) / float(d) if d else None for n, d in zip(numerator, denominator)]


def per_class(confusion):
    """Per class: precision (None when nothing was predicted as it), recall (None when the test
    split has none of it), F1 = 2TP / (2TP + FP + FN) (None when the class is neither in the
    test split nor predicted) and support (its test images)."""
    true_positives = np.diag(confusion)
    predicted, support = confusion.sum(axis=0), confusion.sum(axis=1)
    return {"precision": _ratio(true_positives, predicted), "recall": _ratio(true_positives, support),
            "f1": _ratio(2 * true_positives, predicted + support), "support": [int(n) for n in support]}


def balanced_accuracy(confusion):
    """The mean recall over the classes the test split holds (None when it holds none)."""
    recalls = [recall for recall in per_class(confusion)["recall"] if recall is not None]
    return float(np.mean(recalls)) if recalls else None


def classification_metrics(labels, ranked, classes):
    """Everything metrics.json holds of one model's predictions: `ranked` (N, k) holds each test
    image's best classes, best first (ranked_classes). Top-5 accuracy only with more than 5
    classes (with 5 or fewer it is 1 by definition)."""
    labels = np.asarray(labels, dtype=np.int64)
    ranked = np.asarray(ranked).reshape(len(labels), -1)
    confusion = confusion_matrix(labels, ranked[:, 0], len(classes))
    metrics = {"accuracy": float(np.mean(ranked[:, 0] == labels)) if len(labels) else None,
               "balanced_accuracy": balanced_accuracy(confusion)}
    if len(classes) > TOP_K:
        if ranked.shape[1] < TOP_K:
            raise ValueError(f"top-{TOP_K} accuracy needs the {TOP_K} best classes of each image, got {ranked.shape[1]}")
        metrics[f"top{TOP_K}_accuracy"] = float(np.mean(np.any(ranked[:, :TOP_K] == labels[:, np.newaxis], axis=1)))
    figures = per_class(confusion)
    metrics["per_class"] = {name: {key: figures[key][index] for key in ("precision", "recall", "f1", "support")}
                            for index, name in enumerate(classes)}
    metrics["confusion_matrix"] = confusion.tolist()
    return metrics


def recall_change(before, after, classes, names):
    """Per class, the recall of `after` minus that of `before` (metrics of classification_metrics,
    named by `names`, e.g. ("float32", "int8")), worst first: which classes a conversion hurt.
    Classes without test images are left out."""
    changes = []
    for name in classes:
        old, new = before["per_class"][name]["recall"], after["per_class"][name]["recall"]
        if old is not None and new is not None:
            changes.append({"class": name, f"{names[0]}_recall": old, f"{names[1]}_recall": new, "change": new - old})
    return sorted(changes, key=lambda change: change["change"])


# Top-1 accuracy the int8 model may lose against float32 before the evaluation warns: a sound
# full-integer conversion loses about a point, a broken one falls towards chance.
INT8_LOSS_WARNING = 0.02


def int8_loss_warning(float32_accuracy, int8_accuracy, examples):
    """A one-line warning when the int8 model loses more top-1 accuracy against float32 than
    INT8_LOSS_WARNING, or than two test images (a smaller loss is noise), else None."""
    loss = float32_accuracy - int8_accuracy
    if loss <= max(INT8_LOSS_WARNING, 2 / examples):
        return None
    return (f"warning: the int8 model's top-1 accuracy is {100 * loss:.1f} points below float32's "
            f"({100 * int8_accuracy:.1f}% against {100 * float32_accuracy:.1f}% on {examples} test images); "
            "check quantize.conv_weights (per_tensor can wreck a pretrained network) and "
            "quantize.representative_samples")
