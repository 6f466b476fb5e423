"""Any other int8 model (segmentation, pose, audio, ...): placement, compile and latency only;
its outputs are not scored."""

NEEDS_DATASET = False
TRAINABLE = False
