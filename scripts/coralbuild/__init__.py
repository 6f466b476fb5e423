"""Shared logic of the Coral Edge TPU build workflow.

Importing this package (and `coralbuild.workflow`) stays free of TensorFlow so that the
Snakefile can use it while building the DAG; modules that need TensorFlow or LiteRT import it
themselves.
"""
