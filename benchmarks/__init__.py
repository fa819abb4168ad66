"""Benchmark scripts (not tests): see benchmarks/run.py."""
