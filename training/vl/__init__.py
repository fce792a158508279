"""InfiR-VL training: data generators (text rendering, GUI screens), the similarity filter, the three stages."""
