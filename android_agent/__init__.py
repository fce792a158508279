"""On-device GUI operation through uiautomator2: observe, decide, act, with a safety gate."""
