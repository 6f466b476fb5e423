"""The final table's columns: one tidy row per dataset x model x artifact x device."""

COLUMNS = [
    "dataset", "model", "artifact", "device", "status", "size_bytes", "accuracy", "agreement",
    "threads", "warmup", "iterations", "load_ms", "first_invoke_ms", "median_ms", "mean_ms",
    "p90_ms", "p99_ms", "min_ms", "max_ms", "std_ms", "throughput_per_s",
]
