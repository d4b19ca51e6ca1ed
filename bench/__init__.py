"""Benchmarks: `make bench` (python -m bench). One module per section; see bench/__main__.py."""
