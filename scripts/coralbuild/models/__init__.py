"""Models: architectures built from config, training, SavedModel export and .tflite conversion."""
