"""Evaluation sets and scoring. The JSONL files under `data/` are what decontamination protects: the data pipeline
indexes every file there."""
