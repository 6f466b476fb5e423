"""Results: the benchmark and summary tables, plots and the provenance manifest."""
