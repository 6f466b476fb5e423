"""Object detection (Ultralytics YOLO, SSD with TFLite_Detection_PostProcess): placement, compile
and latency of the model as brought; without a detection dataset its accuracy is not measured."""

NEEDS_DATASET = False
TRAINABLE = False
