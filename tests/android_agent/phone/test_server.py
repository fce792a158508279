"""End to end: the unmodified uiautomator2 / adbutils clients drive a served Phone."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path

import adbutils
import pytest
import uiautomator2
from lxml import etree

from android_agent.phone.phone import Phone
from android_agent.phone.server import start_phone

SETTINGS = "com.infir.settings"
LAUNCHER = "com.infir.launcher"
DEVICE_NAME = "com.infir.settings:id/device_name"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def running():
    with start_phone() as running:
        yield running


@pytest.fixture
def d(running) -> uiautomator2.Device:
    return uiautomator2.connect(adbutils.AdbClient(host="127.0.0.1", port=running.port).device(running.serial))


def test_info_and_window_size(d, running):
    assert d.info["displayWidth"] == running.phone.size[0]
    assert d.window_size() == running.phone.size


def test_dump_hierarchy_is_xml_with_bounds_everywhere(d):
    nodes = list(etree.fromstring(d.dump_hierarchy().encode()).iter("node"))
    assert nodes and all(node.get("bounds") for node in nodes)


def test_screenshot_has_the_window_size(d):
    assert d.screenshot().size == d.window_size()


def test_click_reaches_the_phone(d, running):
    d.app_start(SETTINGS)
    left, top, right, bottom = d(text="About phone").bounds()
    d.click((left + right) // 2, (top + bottom) // 2)
    assert running.phone.current_app() == (SETTINGS, ".AboutPhone")


def test_swipe_reaches_the_phone(d, running, monkeypatch):
    swipes = []
    monkeypatch.setattr(running.phone, "swipe", lambda *points: swipes.append(points))
    d.swipe(500, 1800, 500, 600)
    assert swipes == [(500, 1800, 500, 600)]


def test_press_home_and_back(d, running):
    d.app_start(SETTINGS)
    d(text="About phone").click()
    d.press("back")
    assert d.app_current()["activity"] == ".Settings"
    d.press("home")
    assert d.app_current()["package"] == LAUNCHER


def test_app_start_and_current(d):
    d.app_start(SETTINGS)
    assert (d.app_current()["package"], d.app_current()["activity"]) == (SETTINGS, ".Settings")
    d.app_stop(SETTINGS)
    assert d.app_current()["package"] == LAUNCHER


def test_send_keys_types_unicode_without_warnings(d, running):
    d.app_start(SETTINGS)
    d(text="About phone").click()
    d(resourceId=DEVICE_NAME).clear_text()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.send_keys("a b é 你")
    assert d(resourceId=DEVICE_NAME).get_text() == "a b é 你"


def test_send_keys_through_the_installed_adb_keyboard(d):
    d.app_start(SETTINGS)
    d(text="About phone").click()
    d.set_input_ime(True)  # installs uiautomator2's APK and selects its AdbKeyboard IME
    assert d.current_ime() == "com.github.uiautomator/.AdbKeyboard"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d.send_keys("héllo wörld 你好", clear=True)
    assert d(resourceId=DEVICE_NAME).get_text() == "héllo wörld 你好"


def test_missing_selector_raises_ui_object_not_found(d):
    with pytest.raises(uiautomator2.UiObjectNotFoundError):
        d(text="No such text").click(timeout=0.1)


def test_push_then_sha256sum(d):
    d.push(io.BytesIO(b"some bytes"), "/data/local/tmp/x")
    assert d.shell("sha256sum /data/local/tmp/x").output.split()[0] == hashlib.sha256(b"some bytes").hexdigest()


def test_adbutils_sync(running, tmp_path):
    device = adbutils.AdbClient(host="127.0.0.1", port=running.port).device(running.serial)
    (tmp_path / "in.txt").write_bytes(b"payload")
    device.sync.push(tmp_path / "in.txt", "/sdcard/Download/in.txt")
    assert device.sync.exists("/sdcard/Download/in.txt")
    assert device.sync.stat("/sdcard/Download/in.txt").size == 7
    device.sync.pull("/sdcard/Download/in.txt", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_bytes() == b"payload"


def test_two_phones_at_once_are_independent():
    with start_phone(serial="phone-a") as a, start_phone(Phone(seed=1), serial="phone-b") as b:
        da = uiautomator2.connect(adbutils.AdbClient(host="127.0.0.1", port=a.port).device("phone-a"))
        db = uiautomator2.connect(adbutils.AdbClient(host="127.0.0.1", port=b.port).device("phone-b"))
        da.app_start(SETTINGS)
        assert (a.phone.current_app()[0], b.phone.current_app()[0]) == (SETTINGS, LAUNCHER)
        assert db.app_current()["package"] == LAUNCHER


def test_close_frees_the_port():
    running = start_phone()
    running.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", running.port), timeout=1)


def test_environment_variables_reach_a_phone_served_by_another_process():
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from android_agent.phone.server import serve_phone; serve_phone(0, 'sim-7')"],
        stdout=subprocess.PIPE, text=True, env=environment, cwd=REPO,
    )
    try:
        port = server.stdout.readline().strip().rsplit(":", 1)[-1]
        client_env = {**environment, "ANDROID_ADB_SERVER_PORT": port, "ANDROID_SERIAL": "sim-7"}
        client = subprocess.run(
            [sys.executable, "-c", "import uiautomator2 as u2; d = u2.connect(); print(d.info['currentPackageName'])"],
            capture_output=True, text=True, env=client_env, timeout=60,
        )
        assert client.stdout.strip() == LAUNCHER, client.stderr
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
    finally:
        server.kill()
        server.stdout.close()
