"""A simulated Android phone that speaks through the real uiautomator2/adbutils protocols (see `protocol` servers).

`Phone` runs a launcher and six seeded apps (Settings, Contacts, Messages, Clock, Notes, Shop) whose screens are
view trees: the same laid-out tree gives the screenshot (render.py) and uiautomator's hierarchy XML (hierarchy.py).
Each app module's docstring lists its screens, resource-ids and the exact flows tasks are written against.
"""

from android_agent.phone.phone import Phone

__all__ = ["Phone"]
