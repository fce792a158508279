from __future__ import annotations

import http.client
import io
import socket
import stat
import struct
import threading
import time

import adbutils
import pytest

from android_agent.phone.adb_server import AdbServer, SimulatedDevice
from android_agent.phone.phone import Phone

SERIAL = "emulator-5554"


@pytest.fixture
def server():
    server = AdbServer(SimulatedDevice(Phone(), SERIAL), ("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(server) -> adbutils.AdbClient:
    return adbutils.AdbClient(host="127.0.0.1", port=server.port)


@pytest.fixture
def device(client) -> adbutils.AdbDevice:
    return client.device(SERIAL)


def raw_request(server: AdbServer, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(payload)
        data = b""
        while chunk := connection.recv(4096):
            data += chunk
        return data


def test_version_is_at_least_41(client):
    assert client.server_version() >= 41


def test_devices_lists_the_one_phone(client):
    assert [(d.serial, d.state) for d in client.list()] == [(SERIAL, "device")]
    assert client.list(extended=True)[0].tags["transport_id"] == "1"


def test_device_queries(device):
    assert (device.get_state(), device.get_serialno()) == ("device", SERIAL)
    assert "shell_v2" in device.get_features()


def test_unknown_host_service_fails_with_a_message_and_server_lives_on(server, client):
    reply = raw_request(server, b"0009host:nope")
    assert reply[:4] == b"FAIL" and int(reply[4:8], 16) == len(reply[8:])
    assert reply[8:] == b"unknown host service 'host:nope'"
    assert client.server_version() >= 41


def test_garbage_does_not_kill_the_server(server, client):
    assert raw_request(server, b"zzzzhello") == b""
    assert client.server_version() >= 41


def test_unknown_serial_is_not_found(client):
    with pytest.raises(adbutils.AdbError, match="not found"):
        client.device("other-serial").shell("true")


def test_shell_v1_output_and_exit_code(device):
    result = device.shell2("echo hi; false")
    assert (result.output, result.returncode) == ("hi\n", 1)


def test_shell_v2_separates_stdout_stderr_and_exit_code(device):
    result = device.shell2("echo out; nosuch", v2=True)
    assert result.stdout == "out\n"
    assert "nosuch: inaccessible or not found" in result.stderr
    assert result.returncode == 127


def test_push_keeps_mode_and_mtime_and_pull_reads_it_back(device, tmp_path):
    before = int(time.time())
    device.sync.push(io.BytesIO(b"x" * 100_000), "/data/local/tmp/blob", mode=0o600)
    info = device.sync.stat("/data/local/tmp/blob")
    assert device.sync.exists("/data/local/tmp/blob")
    assert (stat.S_IMODE(info.mode), info.size, stat.S_ISREG(info.mode)) == (0o600, 100_000, True)
    assert info.mtime.timestamp() >= before
    assert device.sync.pull("/data/local/tmp/blob", tmp_path / "blob") == 100_000
    assert (tmp_path / "blob").read_bytes() == b"x" * 100_000


def test_stat_of_a_missing_file_does_not_exist(device):
    assert not device.sync.exists("/data/local/tmp/missing")


def test_push_into_a_directory_appends_the_file_name(device, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("hello")
    device.sync.push(str(source), "/sdcard/Download")
    assert device.sync.read_text("/sdcard/Download/notes.txt") == "hello"


def test_list_directory(device):
    device.sync.push(b"1", "/data/local/tmp/d/a")
    device.sync.push(b"22", "/data/local/tmp/d/sub/b")
    entries = {entry.path: entry for entry in device.sync.list("/data/local/tmp/d")}
    assert set(entries) == {".", "..", "a", "sub"}
    assert stat.S_ISDIR(entries["sub"].mode) and entries["a"].size == 1


def test_pull_of_a_missing_file_fails(device):
    with pytest.raises(adbutils.AdbError, match="does not exist"):
        device.sync.read_bytes("/data/local/tmp/missing")


def test_push_then_shell_sees_the_file(device):
    device.sync.push(b"abc", "/data/local/tmp/x")
    assert device.shell("cat /data/local/tmp/x") == "abc"


def test_sync_session_serves_several_requests_until_quit(server):
    transport = f"host:transport:{SERIAL}".encode()
    stat_request = b"STAT" + struct.pack("<I", 15) + b"/data/local/tmp"
    request = b"%04x" % len(transport) + transport + b"0005sync:" + stat_request + b"QUIT" + bytes(4)
    reply = raw_request(server, request)
    assert reply[:12] == b"OKAYOKAYSTAT"
    assert stat.S_ISDIR(struct.unpack("<I", reply[12:16])[0])


def test_tcp_9008_tunnels_to_the_uiautomator_http_server(device):
    connection = http.client.HTTPConnection("127.0.0.1")
    connection.sock = device.create_connection(adbutils.Network.TCP, 9008)
    connection.request("GET", "/ping")
    assert connection.getresponse().read() == b"pong"
    connection.close()


def test_tcp_to_a_closed_device_port_fails(device):
    with pytest.raises(adbutils.AdbError, match="closed"):
        device.create_connection(adbutils.Network.TCP, 1234)


def test_forward_opens_a_local_port_to_the_device(device):
    local_port = device.forward_port(9008)
    assert [(f.local, f.remote) for f in device.forward_list()] == [(f"tcp:{local_port}", "tcp:9008")]
    connection = http.client.HTTPConnection("127.0.0.1", local_port, timeout=5)
    connection.request("GET", "/ping")
    assert connection.getresponse().read() == b"pong"
    connection.close()
    device.forward_remove(f"tcp:{local_port}")
    assert device.forward_list() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", local_port), timeout=1)


def test_removing_an_unknown_forward_fails(device):
    with pytest.raises(adbutils.AdbError, match="not found"):
        device.forward_remove("tcp:1")


def test_uiautomator_server_launch_stays_open_until_the_client_closes(device):
    stream = device.shell("CLASSPATH=/data/local/tmp/u2.jar app_process / com.wetest.uia2.Main -p 9008", stream=True)
    stream.conn.settimeout(0.3)
    assert b"Starting Server" in stream.conn.recv(4096)
    with pytest.raises(socket.timeout):
        stream.conn.recv(4096)
    stream.close()
