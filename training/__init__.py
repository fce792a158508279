"""Building InfiR and InfiR-VL: data pipeline, continued pretraining, SFT synthesis and training, evaluation."""
