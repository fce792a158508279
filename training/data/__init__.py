"""The InfiR pretraining-data pipeline as datatrove steps: heuristic filtering, reasoning-oriented recall,
deduplication, quality assessment, decontamination. Local on a laptop; Slurm or Ray with no code change."""
