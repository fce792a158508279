"""Post-training (InfiR §3, Figure 2): seed tasks -> instruction evolution -> teacher candidates -> rejection sampling
with verifiers and a reward model -> quality/difficulty/domain labels -> SFT (TRL)."""
