"""Detectors and other models you bring without a classification dataset (`task: detect | none`):
their head recognised from the outputs, float edges around an int8 body accepted, seeded inputs
of their own shapes, and a run with no dataset that measures latency and says why there is no
accuracy. The models are the two real Ultralytics YOLOv8n exports of tests/data/yolo."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from stand_in.constant_detector import ConstantDetector, ConstantSSD, fitted, letterboxed

from conftest import PROJECT, run_script, run_snakemake
from coralbuild.errors import BadInput, ConfigError
from coralbuild.layout import NO_DATASET
from coralbuild.measure.benchmarking import seeded_inputs
from coralbuild.measure.inference import check_fully_integer, load_interpreter
from coralbuild.measure.model_io import check_detector, detection_head, float_edge_tensors
from coralbuild.stages import model_datasets
from coralbuild.workflow import check_models

YOLO = PROJECT / "tests/data/yolo"
FLOAT_IO = YOLO / "yolov8n_320_float_io.tflite"  # float input and output, 8 classes
INT8_IO = YOLO / "yolov8n_640_int8.tflite"  # int8 input and output, 4 classes
CLASSIFIER = PROJECT / "tests/data/cnn_int8.tflite"


@pytest.mark.parametrize("path, classes, anchors", [(FLOAT_IO, 8, 2100), (INT8_IO, 4, 8400)])
def test_an_ultralytics_head_is_recognised_with_its_classes_and_anchors(path, classes, anchors):
    assert detection_head(path) == {"kind": "ultralytics", "classes": classes, "anchors": anchors}


def test_a_classifier_matches_no_detection_head():
    assert detection_head(CLASSIFIER) is None
    with pytest.raises(BadInput, match=r"cnn_int8.tflite: task detect, but its outputs \(\(1, 10\)\) match no known"):
        check_detector(CLASSIFIER)


def test_float_edges_are_allowed_only_where_asked_for():
    edges = float_edge_tensors(FLOAT_IO)
    model = load_interpreter(FLOAT_IO)
    assert edges == {model.get_input_details()[0]["index"], model.get_output_details()[0]["index"]}
    check_fully_integer(FLOAT_IO, edges)
    with pytest.raises(BadInput, match="must be fully int8.*serving_default_images:0' is float32"):
        check_fully_integer(FLOAT_IO)
    assert float_edge_tensors(INT8_IO) == set()


def test_seeded_inputs_have_the_models_shapes_and_types_and_repeat():
    interpreter = load_interpreter(INT8_IO)
    first, again = seeded_inputs(interpreter, (0.0, 1.0)), seeded_inputs(interpreter, (0.0, 1.0))
    assert all(arrays[0].shape == (1, 640, 640, 3) and arrays[0].dtype == np.int8 for arrays in first)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0][0], first[1][0])  # distinct samples, not one input repeated
    floats = seeded_inputs(load_interpreter(FLOAT_IO), (-1.0, 1.0))[0][0]
    assert floats.dtype == np.float32 and -1.0 <= floats.min() < -0.9 and 0.9 < floats.max() <= 1.0


MNIST = yaml.safe_load((PROJECT / "config/config.yaml").read_text())["datasets"]


def planned(models, datasets=None):
    config = {"datasets": datasets or {}, "models": models, "train": {"epochs": 1}}
    check_models(config)
    return {name: model_datasets(config, name) for name in models}


def test_a_detector_runs_on_no_dataset_beside_classifiers_on_theirs():
    assert planned({"yolo": {"source": str(INT8_IO), "task": "detect"},
                    "cnn": {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}}, MNIST) == {
        "yolo": [NO_DATASET], "cnn": ["mnist"]}


@pytest.mark.parametrize("models, datasets, message", [
    ({"cnn": {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}}, None,
     "invalid config at models.cnn: a task-classify model needs a dataset of format idx or image_folder"),
    ({"yolo": {"source": str(INT8_IO), "task": "detect", "datasets": ["mnist"]}}, MNIST,
     "invalid config at models.yolo.datasets: dataset mnist is of format idx, and a task-detect model is "
     "measured on yolo"),
    ({"other": {"source": str(INT8_IO), "task": "none", "datasets": ["mnist"]}}, MNIST,
     "measured on no dataset"),
])
def test_a_task_without_its_kind_of_dataset_is_one_config_line(models, datasets, message):
    with pytest.raises(ConfigError, match=message):
        planned(models, datasets)


def test_detect_on_a_model_trained_here_is_refused(tmp_path):
    source = tmp_path / "model.keras"
    source.write_bytes(b"")
    with pytest.raises(ConfigError, match="models.k.task: task detect takes a model you bring as a fully int8 .tflite"):
        planned({"k": {"source": str(source), "task": "detect"}})


def test_import_refuses_a_classifier_given_as_a_detector(tmp_path):
    result = run_script("import_int8.py", "--source", CLASSIFIER, "--task", "detect",
                        "--output", tmp_path / "model_int8.tflite", "--labels", tmp_path / "labels.txt")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "match no known detection head" in result.stderr
    assert list(tmp_path.iterdir()) == []


# A yolo-format dataset of generated images with known boxes: (image size (w, h), boxes as
# (class, x1, y1, x2, y2) in pixels). Sizes differ from the model input's aspect, so letterboxing pads.
GENERATED = {
    "a.png": ((80, 40), [(0, 10, 5, 30, 25), (1, 50, 10, 70, 35)]),
    "b.png": ((48, 96), [(2, 8, 20, 40, 60)]),
    "sub/c.png": ((64, 64), [(1, 16, 16, 48, 48)]),
}
NAMES = ["red", "green", "blue"]


def write_yolo_dataset(root, names=NAMES, images=GENERATED, lines=None):
    """data.yaml, images/val/... and labels/val/...; `lines` replaces one label file's text."""
    from PIL import Image, ImageDraw

    for name, ((width, height), boxes) in images.items():
        image = Image.new("RGB", (width, height), (128, 128, 128))
        for label, x1, y1, x2, y2 in boxes:
            ImageDraw.Draw(image).rectangle([x1, y1, x2 - 1, y2 - 1], fill=[(220, 30, 30), (30, 220, 30), (30, 30, 220)][label])
        (root / "images/val" / name).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / "images/val" / name)
        label_path = (root / "labels/val" / name).with_suffix(".txt")
        label_path.parent.mkdir(parents=True, exist_ok=True)
        label_path.write_text("".join(f"{label} {(x1 + x2) / 2 / width} {(y1 + y2) / 2 / height} {(x2 - x1) / width} "
                                      f"{(y2 - y1) / height}\n" for label, x1, y1, x2, y2 in boxes))
    if lines is not None:
        (root / "labels/val/a.txt").write_bytes(lines if isinstance(lines, bytes) else lines.encode())
    (root / "data.yaml").write_text(yaml.safe_dump({"path": ".", "val": "images/val", "names": dict(enumerate(names))}))
    return root / "data.yaml"


def prepare_yolo(tmp_path, **changes):
    data_yaml = write_yolo_dataset(tmp_path / "dataset", **changes) if changes or not (tmp_path / "dataset").exists() \
        else tmp_path / "dataset/data.yaml"
    source = json.dumps({"data_yaml": str(data_yaml), "split": "val"})
    return run_script("prepare_dataset.py", "--format", "yolo", "--source", source, "--settings", "{}",
                      "--output", tmp_path / "data")


def test_a_yolo_split_becomes_coco_ground_truth_in_pixels(tmp_path):
    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset")
    result = prepare_yolo(tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    truth = json.loads((tmp_path / "data/annotations.json").read_text())
    assert [image["file_name"] for image in truth["images"]] == ["images/val/a.png", "images/val/b.png", "images/val/sub/c.png"]
    assert [(image["width"], image["height"]) for image in truth["images"]] == [(80, 40), (48, 96), (64, 64)]
    boxes = [(box["image_id"], box["category_id"], *np.round(box["bbox"], 6)) for box in truth["annotations"]]
    assert boxes == [(0, 0, 10, 5, 20, 20), (0, 1, 50, 10, 20, 25), (1, 2, 8, 20, 32, 40), (2, 1, 16, 16, 32, 32)]
    info = json.loads((tmp_path / "data/dataset.json").read_text())
    assert info["classes"] == NAMES and info["task"] == "detect" and info["counts"] == {"images": 3, "boxes": 4}


@pytest.mark.parametrize("lines, message", [
    ("0 0.5 0.5 0.2\n", "a.txt, line 1: 4 fields, expected 5"),
    ("0 0.5 0.5 0.2 0.2\n1 1.2 0.5 0.2 0.2\n", "a.txt, line 2: coordinates ['1.2', '0.5', '0.2', '0.2'] must lie in [0, 1]"),
    ("3 0.5 0.5 0.2 0.2\n", "a.txt, line 1: class 3, and data.yaml names 3 classes (0 to 2)"),
    ("zero 0.5 0.5 0.2 0.2\n", "a.txt, line 1: not a class index and four numbers"),
    (b"0 0.5 0.5 0.2 0.2\n# caf\xe9\n", "a.txt: not UTF-8 text (byte 23); save the label file as UTF-8"),
])
def test_a_bad_label_line_is_one_line_naming_file_and_line(tmp_path, lines, message):
    (tmp_path / "dataset").mkdir()
    result = prepare_yolo(tmp_path, lines=lines)
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert message in result.stderr and not (tmp_path / "data").exists()


def test_a_data_yaml_naming_a_missing_folder_is_one_config_line(tmp_path):
    (tmp_path / "dataset").mkdir()
    data_yaml = write_yolo_dataset(tmp_path / "dataset")
    data_yaml.write_text(yaml.safe_dump({"val": "images/missing", "names": NAMES}))
    from coralbuild.data.formats import yolo

    with pytest.raises(ConfigError, match=r"datasets.parts.path: .*data.yaml: `val: images/missing` names .*missing, "
                                          "which is not a folder"):
        yolo.check_config("parts", {"path": str(data_yaml)})


def test_a_data_yaml_giving_a_key_twice_is_one_config_line(tmp_path):
    """Ultralytics' reader would keep the second `names`; which one the user meant is theirs to say."""
    (tmp_path / "dataset").mkdir()
    data_yaml = write_yolo_dataset(tmp_path / "dataset")
    data_yaml.write_text(data_yaml.read_text() + "names: [cat, dog]\n")
    from coralbuild.data.formats import yolo

    with pytest.raises(ConfigError, match=r"datasets.parts.path: .*data.yaml line \d+: key 'names' given twice"):
        yolo.check_config("parts", {"path": str(data_yaml)})


@pytest.mark.parametrize("shift, map50, map50_95", [
    (0.0, 1.0, 1.0),  # every box found where it is
    # IoU (w - d) / (w + d) = 0.62 for a shift d = 0.2346 w: matched at IoU 0.5, 0.55 and 0.6 only.
    (0.38 / 1.62, 1.0, 0.3),
])
def test_the_map_of_known_detections_through_letterbox_decoding_and_coco(tmp_path, shift, map50, map50_95):
    from coralbuild.measure.detection import coco_map, detect_split

    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset")
    assert prepare_yolo(tmp_path).returncode == 0
    detector = ConstantDetector([letterboxed(boxes, *size, shift=shift) for size, boxes in GENERATED.values()])
    truth, found = detect_split(detector, "ultralytics", tmp_path / "data")
    assert len(found) == 4 and detector.calls == 3
    figures = coco_map(truth, found)
    assert figures == pytest.approx({"map50": map50, "map50_95": map50_95}, abs=1e-6)


@pytest.mark.parametrize("order", [ConstantSSD.ROLES, ("scores", "boxes", "count", "classes")],
                         ids=["as the op writes them", "as a TF2 converter reorders them"])
@pytest.mark.parametrize("shift, map50, map50_95", [(0.0, 1.0, 1.0), (0.38 / 1.62, 1.0, 0.3)])
def test_the_map_of_an_ssd_s_known_detections(tmp_path, order, shift, map50, map50_95):
    """An SSD's post-processed outputs, in either order, scored as pycoral's example feeds and
    reads the model: raw uint8 pixels, the image fitted at the top left; the same figures as the
    YOLO test above for the same boxes."""
    from coralbuild.measure.detection import coco_map, detect_split, head_of

    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset")
    assert prepare_yolo(tmp_path).returncode == 0
    detector = ConstantSSD([fitted(boxes, *size, shift=shift) for size, boxes in GENERATED.values()], order=order)
    assert head_of(detector.get_input_details(), detector.get_output_details())["kind"] == "ssd_postprocess"
    truth, found = detect_split(detector, "ssd_postprocess", tmp_path / "data")
    assert len(found) == 4 and detector.calls == 3
    assert coco_map(truth, found) == pytest.approx({"map50": map50, "map50_95": map50_95}, abs=1e-6)
    # Raw pixels at the top left, zero padding right or bottom where the image is not square.
    for ((width, height), _), pixels in zip(GENERATED.values(), detector.inputs, strict=True):
        assert pixels.max() > 1 and pixels[0, 0, 0].any()
        assert (not pixels[0, -1].any()) == (width > height) and (not pixels[0, :, -1].any()) == (height > width)


def ssd_postprocess_model(path, anchors, labels, classes, size=64, max_detections=10, extra_output=False):
    """A float .tflite whose one op is a real TFLite_Detection_PostProcess, made as TensorFlow's
    detection exporters make it (a composite function the converter turns into the custom op),
    with `anchors` (ycenter, xcenter, height, width, normalised), box encodings 0 (each detection
    is its anchor) and anchor i scoring 0.9 for class labels[i]. Its input is ignored. With
    `extra_output`, a fifth output beside the op's four."""
    import tensorflow as tf

    predictions = np.zeros((1, len(anchors), classes + 1), np.float32)  # class 0: background
    for index, label in enumerate(labels):
        predictions[0, index, 1 + label] = 0.9
    attributes = {"max_detections": ("i", max_detections), "max_classes_per_detection": ("i", 1),
                  "detections_per_class": ("i", 100), "use_regular_nms": ("b", "false"),
                  "nms_score_threshold": ("f", 0.01), "nms_iou_threshold": ("f", 0.6), "num_classes": ("i", classes),
                  "y_scale": ("f", 10.0), "x_scale": ("f", 10.0), "h_scale": ("f", 5.0), "w_scale": ("f", 5.0)}
    signature = " ".join(['name: "TFLite_Detection_PostProcess"'] + [
        f'attr {{ key: "{key}" value {{ {kind}: {value} }} }}' for key, (kind, value) in attributes.items()])

    class Detector(tf.Module):
        @tf.function(experimental_implements=signature)
        def postprocess(self, box_encodings, class_predictions, anchor_boxes):
            return tuple(tf.constant(0.0) for _ in range(4))  # replaced by the custom op

        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
        def __call__(self, image):
            tie = tf.reduce_mean(image) * 0.0  # the outputs depend on the input
            outputs = self.postprocess(tf.zeros([1, len(anchors), 4]) + tie, tf.constant(predictions) + tie,
                                       tf.constant(np.asarray(anchors, np.float32)))
            return (*outputs, tf.reduce_mean(image, axis=[1, 2])) if extra_output else outputs

    detector = Detector()
    tf.saved_model.save(detector, str(path.parent / "saved_model"), signatures=detector.__call__.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_saved_model(str(path.parent / "saved_model"))
    converter.allow_custom_ops = True
    path.write_bytes(converter.convert())


def test_a_converted_ssd_postprocess_model_is_scored_through_litert(tmp_path):
    """A real TFLite_Detection_PostProcess, converted by TensorFlow (which orders its outputs as it
    likes) and run by LiteRT: its head recognised from the graph and from the interpreter's
    tensors, its boxes put back on the image, mAP 1.0 where its anchors are the labelled boxes."""
    from coralbuild.measure.detection import coco_map, detect_split, head_of
    from coralbuild.measure.inference import load_interpreter
    from coralbuild.measure.model_io import detection_head

    wide = {"wide.png": ((128, 64), [(0, 20, 10, 60, 40), (2, 70, 20, 110, 50)])}
    (tmp_path / "dataset").mkdir()
    assert prepare_yolo(tmp_path, images=wide).returncode == 0
    found_boxes = fitted(wide["wide.png"][1], 128, 64)
    anchors = [((ymin + ymax) / 2, (xmin + xmax) / 2, ymax - ymin, xmax - xmin) for ymin, xmin, ymax, xmax, *_ in found_boxes]
    ssd_postprocess_model(tmp_path / "ssd.tflite", anchors, [label for *_, label, _ in found_boxes], classes=3)
    assert detection_head(tmp_path / "ssd.tflite")["kind"] == "ssd_postprocess"
    interpreter = load_interpreter(str(tmp_path / "ssd.tflite"))
    assert head_of(interpreter.get_input_details(), interpreter.get_output_details())["kind"] == "ssd_postprocess"
    truth, found = detect_split(interpreter, "ssd_postprocess", tmp_path / "data")
    assert sorted((box["category_id"], *np.round(box["bbox"], 3)) for box in found) == [(0, 20, 10, 40, 30),
                                                                                         (2, 70, 20, 40, 30)]
    assert coco_map(truth, found) == pytest.approx({"map50": 1.0, "map50_95": 1.0})
    # The evaluate stage scores it so; one with a fifth output is recognised by its op, and not scored.
    ssd_postprocess_model(tmp_path / "odd" / "ssd.tflite", anchors, [label for *_, label, _ in found_boxes], classes=3,
                          extra_output=True)
    for model in ("ssd.tflite", "odd/ssd.tflite"):
        result = run_script("evaluate.py", "--data", tmp_path / "data", "--task", "detect", "--tflite",
                            f"int8={tmp_path / model}", "--output", tmp_path / "metrics.json")
        assert result.returncode == 0, result.stderr
        int8 = json.loads((tmp_path / "metrics.json").read_text())["artifacts"]["int8"]
        if model == "ssd.tflite":
            assert (int8["map50"], int8["map50_95"], int8["detections"]) == (pytest.approx(1.0), pytest.approx(1.0), 2)
        else:
            assert int8["not_evaluated"].startswith("its outputs are not those of the ssd_postprocess head")


def test_the_device_measurement_scores_a_detector_as_the_evaluate_stage_does(tmp_path):
    """What benchmark_edgetpu asks of the device's interpreter: its mAP on the yolo split, by the
    same code as the int8 model's on the CPU. No Edge TPU here: the measurement runs on the CPU's
    interpreter, and the stand-in detector gives known boxes."""
    from coralbuild.measure.detection import coco_map, detect_split
    from coralbuild.measure.inference import load_interpreter
    from coralbuild.measure.measurement import detection_figures, measure_in_child

    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset", names=[f"class{index}" for index in range(8)])
    assert prepare_yolo(tmp_path).returncode == 0
    # 84 anchors: a YOLO head at 64 x 64 by its shapes (64 + 16 + 4 cells of the strides 8, 16 and 32).
    known = ConstantDetector([letterboxed(boxes, *size) for size, boxes in GENERATED.values()], anchors=84)
    assert detection_figures(known, tmp_path / "data") == pytest.approx({"map50": 1.0, "map50_95": 1.0})
    row = measure_in_child({"model": str(FLOAT_IO), "device": "cpu", "data": None, "detections_on": str(tmp_path / "data"),
                            "input_range": [0.0, 1.0], "threads": 1, "warmup": 1, "iterations": 2}, 300)
    assert row["status"] == "measured", row
    evaluated = coco_map(*detect_split(load_interpreter(str(FLOAT_IO)), "ultralytics", tmp_path / "data"))
    assert (row["map50"], row["map50_95"]) == (evaluated["map50"], evaluated["map50_95"])


def test_a_device_scoring_run_that_fails_keeps_the_timings_and_says_so(tmp_path):
    """The mAP run comes after the timings: when it fails (here: a split with no annotations) the
    row keeps its figures, and its accuracy note says what failed."""
    from coralbuild.measure.measurement import measure_in_child

    (tmp_path / "data").mkdir()
    row = measure_in_child({"model": str(FLOAT_IO), "device": "cpu", "data": None, "detections_on": str(tmp_path / "data"),
                            "input_range": [0.0, 1.0], "threads": 1, "warmup": 1, "iterations": 2}, 300)
    assert row["status"] == "measured" and row["median_ms"] > 0 and "map50" not in row
    assert row["accuracy_note"].startswith("failed: the mAP run on the device did not finish: the measurement exited "
                                           "with status 1 (FileNotFoundError: ")


def test_a_device_measurement_of_a_model_with_no_decoded_head_says_why():
    from coralbuild.measure.measurement import detection_figures

    class Classifier(ConstantDetector):
        def get_output_details(self):
            return [{"index": 1, "shape": np.array([1, 10]), "dtype": np.float32, "quantization": (0.0, 0)}]

    figures = detection_figures(Classifier([]), "unused")
    assert figures == {"accuracy_note": "not measured: its outputs match no head whose mAP is computed (decoded: "
                                        "ultralytics, yolov5, ssd_postprocess)"}


@pytest.mark.parametrize("seed", range(3))
def test_the_suppression_keeps_what_tensorflows_keeps(seed):
    """The numpy NMS against TensorFlow's non_max_suppression, on generated boxes with ties."""
    import tensorflow as tf

    from coralbuild.measure.detection import IOU, MAX_DETECTIONS, greedy_nms

    generator = np.random.default_rng(seed)
    for count in (1, 7, 60, 400):
        corners = generator.uniform(0, 300, (count, 2)).astype(np.float32)
        boxes = np.concatenate([corners, corners + generator.uniform(1, 80, (count, 2)).astype(np.float32)], axis=1)
        scores = np.round(generator.random(count), 1).astype(np.float32)  # rounded: ties
        expected = tf.image.non_max_suppression(boxes[:, [1, 0, 3, 2]], scores, MAX_DETECTIONS, IOU).numpy()
        assert greedy_nms(boxes, scores, MAX_DETECTIONS, IOU).tolist() == expected.tolist()


@pytest.fixture(scope="module")
def detection_run(tmp_path_factory):
    """One workflow run: a YOLOv8n detector on a yolo dataset of generated images, and the same
    model brought as `task: none`, which runs on no dataset."""
    root = tmp_path_factory.mktemp("detection")
    (root / "dataset").mkdir()
    data_yaml = write_yolo_dataset(root / "dataset", names=[f"class{index}" for index in range(8)])
    config = root / "detector.yaml"
    config.write_text(yaml.safe_dump({
        "datasets": {"shapes": {"format": "yolo", "path": str(data_yaml)}},
        "models": {"yolo": {"source": str(FLOAT_IO), "task": "detect"},
                   "alone": {"source": str(FLOAT_IO), "task": "none"}},
        "compile": {"compiler": "off"},
        "benchmark": {"devices": ["cpu"], "warmup": 1, "iterations": 3}}))
    result = run_snakemake(root, "-s", str(PROJECT / "Snakefile"), "--configfile", str(config), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(root / "results/benchmark.csv").set_index(["model", "artifact"])
    summary = pd.read_csv(root / "results/summary.csv").set_index("model")
    return root / "results", table, summary


def test_a_model_without_a_dataset_is_measured_without_accuracy_and_described(detection_run):
    results, table, summary = detection_run
    folder = results / NO_DATASET / "alone"
    assert (folder / "model_int8.tflite").read_bytes() == FLOAT_IO.read_bytes()
    assert (folder / "labels.txt").read_text() == ""
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["task"] == "none" and "head" not in metrics
    assert metrics["model_io"]["inputs"][0]["shape"] == [1, 320, 320, 3]
    assert metrics["artifacts"]["int8"]["accuracy"] is None
    row = table.loc["alone", "int8"]
    assert row.status == "measured" and row.median_ms > 0 and np.isnan(row.accuracy)
    assert row.accuracy_note == "not measured: no dataset to score a task-none model on"
    assert summary.loc["alone"].dataset == NO_DATASET and summary.loc["alone"].task == "none"
    assert summary.loc["alone"].model_io == "in 1x320x320x3 float32; out 1x12x2100 float32"
    prediction = json.loads((folder / "edgetpu_prediction.json").read_text())
    assert prediction["model"] == "alone" and prediction["dataset"] == NO_DATASET


def test_a_detector_on_its_yolo_dataset_gets_the_map_of_its_int8_model(detection_run):
    results, table, summary = detection_run
    folder = results / "shapes/yolo"
    assert (folder / "labels.txt").read_text().splitlines() == [f"{index} class{index}" for index in range(8)]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["task"] == "detect" and metrics["head"]["kind"] == "ultralytics"
    figures = metrics["artifacts"]["int8"]
    assert figures["boxes"] == 4 and {"map50", "map50_95", "detections"} <= set(figures)
    row = table.loc["yolo", "int8"]
    # The table carries the evaluate stage's mAP (this model was trained on other images: about 0 here).
    assert (row.map50, row.map50_95) == pytest.approx((figures["map50"], figures["map50_95"]), abs=1e-5)
    assert row.status == "measured" and not isinstance(row.accuracy_note, str)
    assert summary.loc["yolo"].model_io == "in 1x320x320x3 float32; out 1x12x2100 float32; head ultralytics, 8 classes"


def test_a_detector_whose_classes_differ_from_its_dataset_is_refused(tmp_path):
    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset")
    assert prepare_yolo(tmp_path).returncode == 0
    result = run_script("import_int8.py", "--source", FLOAT_IO, "--task", "detect", "--data", tmp_path / "data",
                        "--output", tmp_path / "model_int8.tflite", "--labels", tmp_path / "labels.txt")
    assert result.returncode == 1 and "the detector scores 8 classes, and its dataset" in result.stderr
    assert "names 3" in result.stderr.strip().splitlines()[-1] and not (tmp_path / "model_int8.tflite").exists()
