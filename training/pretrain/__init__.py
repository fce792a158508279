"""Continued pretraining and annealing (InfiR's stages 2 and 3): `python -m training.pretrain --recipe R --out DIR`."""
