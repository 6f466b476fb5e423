"""The Edge TPU: the compiler, reading .tflite and compiled models, placement prediction and the runtime."""
