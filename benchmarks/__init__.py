"""Latency, memory and accuracy of every backend and quantization."""
