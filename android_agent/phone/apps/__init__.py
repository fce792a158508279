"""The installed apps: the launcher first, then the apps in the order the home screen shows them."""

from __future__ import annotations

from android_agent.phone.apps.base import App, Host
from android_agent.phone.apps.clock import Clock
from android_agent.phone.apps.contacts import Contacts
from android_agent.phone.apps.launcher import Launcher
from android_agent.phone.apps.messages import Messages
from android_agent.phone.apps.notes import Notes
from android_agent.phone.apps.settings import Settings
from android_agent.phone.apps.shop import Shop

LAUNCHER = Launcher.package
SETTINGS = Settings.package
APPS: tuple[type[App], ...] = (Launcher, Settings, Contacts, Messages, Clock, Notes, Shop)


def create_apps(host: Host, seed: int) -> dict[str, App]:
    """Every app with its initial state generated from `seed`, by package name, launcher first."""
    return {app.package: app(host, seed) for app in APPS}
