"""Any other int8 model (segmentation, pose, audio, ...): placement, compile and latency only;
its outputs are not scored."""

DATASET_FORMATS = ()
NEEDS_DATASET = False
TRAINABLE = False
