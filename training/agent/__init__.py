"""The GUI agent's text policy: demonstrations from the simulated phone, SFT, a GGUF bundle, the benchmark."""
