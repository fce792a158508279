from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
import uiautomator2
from adbutils.shell import _DISPLAY_RE

from android_agent.phone.device_shell import DeviceShell, split_command_line
from android_agent.phone.file_store import FileStore
from android_agent.phone.phone import Phone

SETTINGS = "com.infir.settings"
DEVICE_NAME = "com.infir.settings:id/device_name"
ADB_KEYBOARD = "com.github.uiautomator/.AdbKeyboard"
KEYBOARD_APK = Path(uiautomator2.__file__).parent / "assets" / "app-uiautomator.apk"


@pytest.fixture
def shell() -> DeviceShell:
    return DeviceShell(Phone(), FileStore(), "emulator-5554")


def run(shell: DeviceShell, line: str) -> tuple[str, int]:
    result = shell.run(line)
    return result.output.decode(), result.exit_code


def open_device_name_field(shell: DeviceShell) -> None:
    """Settings > About phone: its EditText is focused, so typed text lands there."""
    shell.phone.start_app(SETTINGS)
    row = next(v for v in shell.phone.root().walk() if v.text == "About phone")
    shell.phone.tap((row.bounds[0] + row.bounds[2]) // 2, (row.bounds[1] + row.bounds[3]) // 2)
    shell.phone.set_text(device_name_field(shell), "")


def device_name_field(shell: DeviceShell):
    return next(v for v in shell.phone.root().walk() if v.resource_id == DEVICE_NAME)


def test_split_keeps_quoted_operators_inside_words():
    assert split_command_line("echo 'a;b' && ls -l; echo X4EXIT:$?") == [
        (";", ["echo", "a;b"]), ("&&", ["ls", "-l"]), (";", ["echo", "X4EXIT:$?"])
    ]


def test_exit_code_of_the_last_command_expands_in_dollar_question(shell):
    assert run(shell, "false; echo X4EXIT:$?") == ("X4EXIT:1\n", 0)


def test_and_or_skip_like_sh(shell):
    assert run(shell, "false && echo no || echo yes") == ("yes\n", 0)


def test_unknown_command_is_not_found_with_127(shell):
    assert run(shell, "frobnicate x") == ("/system/bin/sh: frobnicate: inaccessible or not found\n", 127)


def test_bad_quoting_is_a_syntax_error_not_a_crash(shell):
    assert run(shell, "echo 'open")[1] == 2


def test_wm_size_and_density(shell):
    assert run(shell, "wm size")[0] == "Physical size: 1080x2400\n"
    assert run(shell, "wm density")[0] == "Physical density: 420\n"


def test_dumpsys_display_parses_with_adbutils_regex(shell):
    match = next(m for line in run(shell, "dumpsys display")[0].splitlines() if (m := _DISPLAY_RE.match(line)))
    assert (match["orientation"], match["width"], match["height"]) == ("0", "1080", "2400")


def test_getprop_known_unknown_and_all(shell):
    assert run(shell, "getprop ro.build.version.sdk")[0] == "34\n"
    assert run(shell, "getprop no.such.prop")[0] == "\n"
    assert "[ro.serialno]: [emulator-5554]" in run(shell, "getprop")[0]


def test_checksums_match_hashlib(shell):
    shell.files.write("/data/local/tmp/x", b"payload")
    assert run(shell, "toybox md5sum /data/local/tmp/x")[0].split()[0] == hashlib.md5(b"payload").hexdigest()
    assert run(shell, "sha256sum /data/local/tmp/x")[0].split()[0] == hashlib.sha256(b"payload").hexdigest()
    assert run(shell, "md5sum /nope")[1] == 1


def test_file_commands(shell):
    assert run(shell, "mkdir -p /sdcard/a/b && echo hi")[1] == 0
    shell.files.write("/sdcard/a/b/f.txt", b"abc", mode=0o600)
    listing = run(shell, "ls -l /sdcard/a/b")[0]
    assert re.match(r"-rw------- 1 shell shell +3 \S+ \S+ f.txt", listing)
    assert run(shell, "chmod 644 /sdcard/a/b/f.txt; cat /sdcard/a/b/f.txt") == ("abc", 0)
    assert run(shell, "rm /sdcard/a")[1] == 1  # a directory needs -r
    assert run(shell, "rm -r /sdcard/a; ls /sdcard/a")[1] == 1
    assert run(shell, "rm -f /sdcard/nothing")[1] == 0


def test_pipe_into_grep(shell):
    output, code = run(shell, "ps -A | grep launcher")
    assert code == 0 and output.strip().endswith("com.infir.launcher")


def test_monkey_launches_and_dumpsys_window_reports_it(shell):
    run(shell, "monkey -p com.infir.settings -c android.intent.category.LAUNCHER 1")
    windows = run(shell, "dumpsys window windows")[0]
    focus = re.search(r"mCurrentFocus=Window{.*\s+(?P<package>[^\s]+)/(?P<activity>[^\s]+)\}", windows)
    assert (focus["package"], focus["activity"]) == shell.phone.current_app() == (SETTINGS, ".Settings")


def test_running_app_shows_in_ps_with_nine_fields_and_pidof(shell):
    run(shell, f"am start -n {SETTINGS}/.Settings")
    line = next(ln for ln in run(shell, "ps -A")[0].splitlines() if ln.endswith(SETTINGS))
    assert len(line.split()) == 9
    assert run(shell, f"pidof {SETTINGS}")[0].strip() == line.split()[1]


def test_am_start_unknown_package_fails(shell):
    assert run(shell, "am start -n com.nope/.Main")[1] == 1


def test_force_stop_reopens_the_main_screen(shell):
    open_device_name_field(shell)
    run(shell, f"am force-stop {SETTINGS}; monkey -p {SETTINGS} 1")
    assert shell.phone.current_app() == (SETTINGS, ".Settings")


def test_input_keyevent_by_name_and_code(shell):
    shell.phone.start_app(SETTINGS)
    run(shell, "input keyevent KEYCODE_HOME")
    assert shell.phone.current_app()[0] == "com.infir.launcher"
    assert run(shell, "input keyevent NOT_A_KEY")[1] == 1


def test_input_text_needs_percent_s_for_spaces(shell):
    open_device_name_field(shell)
    run(shell, "input text hello%sworld")
    run(shell, "input text ' and' more")  # like Android: only the first argument is typed
    assert device_name_field(shell).text == "hello world and"


def test_input_text_fails_on_non_ascii(shell):
    open_device_name_field(shell)
    output, code = run(shell, "input text 'héllo'")
    assert code == 255 and "NullPointerException" in output
    assert device_name_field(shell).text == ""


def test_uiautomator_dump_writes_the_hierarchy(shell):
    assert run(shell, "uiautomator dump /data/local/tmp/d.xml")[0] == "UI hierchary dumped to: /data/local/tmp/d.xml\n"
    assert shell.files.read("/data/local/tmp/d.xml").decode() == shell.phone.hierarchy_xml()


def test_uiautomator_dump_refuses_while_animating():
    shell = DeviceShell(Phone(animation_s=30), FileStore(), "s")
    shell.phone.start_app(SETTINGS)
    assert "could not get idle state" in run(shell, "uiautomator dump")[0]


def test_screencap_is_a_png_of_the_screen(shell):
    assert shell.run("screencap -p").stdout.startswith(b"\x89PNG")


def test_settings_get_put(shell):
    assert run(shell, "settings get system screen_brightness")[0] == "128\n"
    run(shell, "settings put system screen_brightness 200")
    assert run(shell, "settings get system screen_brightness")[0] == "200\n"
    assert run(shell, "settings get global nothing_here")[0] == "null\n"


def install_keyboard(shell: DeviceShell) -> None:
    shell.files.write("/data/local/tmp/unknown.apk", KEYBOARD_APK.read_bytes())
    assert run(shell, "pm install -r -t /data/local/tmp/unknown.apk") == ("Success\n", 0)


def test_pm_install_registers_the_apk_package_and_its_ime(shell):
    assert ADB_KEYBOARD not in run(shell, "ime list -s -a")[0]
    install_keyboard(shell)
    assert "package:com.github.uiautomator" in run(shell, "pm list packages")[0]
    assert ADB_KEYBOARD in run(shell, "ime list -s -a")[0].splitlines()


def test_pm_install_rejects_a_non_apk(shell):
    shell.files.write("/data/local/tmp/bad.apk", b"not a zip")
    output, code = run(shell, "pm install /data/local/tmp/bad.apk")
    assert code == 1 and output.startswith("Failure [INSTALL_PARSE_FAILED_NOT_APK")


def test_adb_keyboard_broadcast_types_unicode_once_selected(shell):
    open_device_name_field(shell)
    install_keyboard(shell)
    text = base64.b64encode("héllo 你好".encode()).decode()
    assert run(shell, f"am broadcast -a ADB_KEYBOARD_INPUT_TEXT --es text {text}")[0].endswith("result=0\n")
    run(shell, f"ime enable {ADB_KEYBOARD}; ime set {ADB_KEYBOARD}")
    assert run(shell, "settings get secure default_input_method")[0].strip() == ADB_KEYBOARD
    output, _ = run(shell, f"am broadcast -a ADB_KEYBOARD_INPUT_TEXT --es text {text}")
    assert 'result=-1, data="success"' in output
    assert device_name_field(shell).text == "héllo 你好"
    run(shell, "am broadcast -a ADB_KEYBOARD_CLEAR_TEXT")
    assert device_name_field(shell).text == ""


def test_run_as_reads_and_replaces_app_state(shell):
    state = json.loads(run(shell, f"run-as {SETTINGS} cat files/state.json")[0])
    assert state == shell.phone.app_state(SETTINGS)
    shell.files.write("/data/local/tmp/state.json", json.dumps({**state, "wifi": not state["wifi"]}).encode())
    assert run(shell, f"run-as {SETTINGS} cp /data/local/tmp/state.json files/state.json")[1] == 0
    assert shell.phone.app_state(SETTINGS)["wifi"] is not state["wifi"]


def test_run_as_rejects_bad_state_and_unknown_package(shell):
    shell.files.write("/data/local/tmp/bad.json", b"{not json")
    assert run(shell, f"run-as {SETTINGS} cp /data/local/tmp/bad.json files/state.json")[1] == 1
    assert run(shell, "run-as com.nope cat files/state.json") == ("run-as: unknown package: com.nope\n", 1)


def test_launching_the_uiautomator_server_keeps_running(shell):
    result = shell.run("CLASSPATH=/data/local/tmp/u2.jar app_process / com.wetest.uia2.Main -p 9008")
    assert result.keeps_running
