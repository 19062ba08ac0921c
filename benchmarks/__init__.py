"""Benchmarks for the model registry: a shared harness and one module per measurement."""
