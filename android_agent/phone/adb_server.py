"""An adb server on loopback that serves one simulated phone, for the unmodified adbutils / uiautomator2 clients.

adb's host protocol: a request is 4 hex digits of length then the text; the server answers `OKAY` (then data) or
`FAIL` + a length-prefixed message. `host:tport:serial:<s>` (or `host:transport:<s>`) switches the connection to the
device, whose services follow on the same connection: `shell:` (output, then close), `shell,v2,...:` (packets with the
exit code), `sync:` (file transfer: STAT / LIST / SEND / RECV), and `tcp:<port>` (a raw stream to a device port:
9008 is the uiautomator HTTP server, answered in-process). Forwards (`forward:tcp:<local>;tcp:<remote>`) open a real
local listener that tunnels to the device port. Accepted sockets get TCP_NODELAY: adb's small writes otherwise wait on
delayed ACKs (~57 ms -> ~13 ms per uiautomator2 call).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import stat
import struct
import threading
from dataclasses import dataclass

from android_agent.phone.device_shell import DeviceShell
from android_agent.phone.file_store import FileStore
from android_agent.phone.phone import Phone
from android_agent.phone.uiautomator_rpc import PORT as UIAUTOMATOR_PORT
from android_agent.phone.uiautomator_rpc import UiautomatorRpc

logger = logging.getLogger(__name__)

ADB_SERVER_VERSION = 41  # adbutils uses host:tport (with its 8-byte transport id) from 41 on
TRANSPORT_ID = 1
FEATURES = "shell_v2,cmd,fixed_push_mkdir"  # only what this server implements
SYNC_MAX_CHUNK = 64 * 1024
_SHELL_V2_STDOUT, _SHELL_V2_STDERR, _SHELL_V2_EXIT = 1, 2, 3


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ClientGone
        data += chunk
    return data


def _block(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return b"%04x" % len(data) + data


def _okay(connection: socket.socket, payload: str | None = None) -> None:
    connection.sendall(b"OKAY" + (_block(payload) if payload is not None else b""))


def _fail(connection: socket.socket, message: str) -> None:
    connection.sendall(b"FAIL" + _block(message))


@dataclass
class Forward:
    local: str  # "tcp:<host port>"
    remote: str  # "tcp:<device port>"
    listener: socket.socket

    def close(self) -> None:
        # shutdown first: a bare close() leaves the port listening while a thread is blocked in accept()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()


class SimulatedDevice:
    """The device side of the transport: its file store, shell and uiautomator server, shared by every connection."""

    def __init__(self, phone: Phone, serial: str) -> None:
        self.phone = phone
        self.serial = serial
        self.files = FileStore()
        self.shell = DeviceShell(phone, self.files, serial)
        self.uiautomator = UiautomatorRpc(phone)

    def listens(self, port: int) -> bool:
        return port == UIAUTOMATOR_PORT

    def connect(self, port: int, connection: socket.socket) -> None:
        """Serve a stream opened to a device port that `listens`."""
        self.uiautomator.serve_connection(connection)


class AdbServer(socketserver.ThreadingTCPServer):
    """`adb start-server` for one device: bind with port 0 for a free port, then `serve_forever` in a thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, device: SimulatedDevice, address: tuple[str, int]) -> None:
        super().__init__(address, _AdbConnection)
        self.device = device
        self._forwards: dict[str, Forward] = {}
        self._forwards_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def server_close(self) -> None:
        with self._forwards_lock:
            for forward in self._forwards.values():
                forward.close()
            self._forwards.clear()
        super().server_close()

    # ---- forwards ---------------------------------------------------------------------------------------------
    def add_forward(self, local: str, remote: str, *, rebind: bool) -> str | None:
        """Start tunnelling host `local` to device `remote`; the error message if that is not possible."""
        if not local.startswith("tcp:") or not remote.startswith("tcp:"):
            return f"cannot forward {local} -> {remote}: only tcp: is supported"
        with self._forwards_lock:
            if local in self._forwards:
                if not rebind:
                    return f"cannot rebind existing socket {local}"
                self._forwards.pop(local).close()
            try:
                listener = socket.create_server((self.server_address[0], int(local[4:])))
            except (OSError, ValueError) as error:
                return f"cannot bind listener: {error}"
            self._forwards[local] = Forward(local, remote, listener)
        threading.Thread(target=self._accept_forwarded, args=(listener, int(remote[4:])), daemon=True).start()
        return None

    def remove_forward(self, local: str | None) -> bool:
        """Stop one forward (all of them for None); False if `local` was not forwarded."""
        with self._forwards_lock:
            removed = [self._forwards.pop(local, None)] if local else list(self._forwards.values())
            if not local:
                self._forwards.clear()
        for forward in removed:
            if forward is not None:
                forward.close()
        return removed != [None]

    def forward_list(self) -> str:
        with self._forwards_lock:
            return "".join(f"{self.device.serial} {f.local} {f.remote}\n" for f in self._forwards.values())

    def _accept_forwarded(self, listener: socket.socket, device_port: int) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the forward was removed
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._tunnel, args=(connection, device_port), daemon=True).start()

    def _tunnel(self, connection: socket.socket, device_port: int) -> None:
        with connection:  # nothing listening on the device side: adb closes the forwarded connection at once
            if self.device.listens(device_port):
                self.device.connect(device_port, connection)


class _AdbConnection(socketserver.BaseRequestHandler):
    """One client connection: host requests until one switches to the device or answers and ends it."""

    server: AdbServer  # type: ignore[assignment]

    def handle(self) -> None:
        connection: socket.socket = self.request
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._serve(connection)
        except (ClientGone, ConnectionError):
            pass  # the client hung up: nothing left to answer
        except Exception:
            logger.exception("simulated adb server: request failed")

    def _read_request(self, connection: socket.socket) -> str:
        length = _receive_exactly(connection, 4)
        try:
            size = int(length, 16)
        except ValueError:
            raise ClientGone from None  # not an adb client
        return _receive_exactly(connection, size).decode("utf-8", errors="replace")

    def _serve(self, connection: socket.socket) -> None:
        device = self.server.device
        request = self._read_request(connection)
        prefix, _, rest = request.partition(":")
        if prefix in ("host-serial", "host-transport-id", "host-local", "host-usb"):
            target = {"host-serial": device.serial, "host-transport-id": str(TRANSPORT_ID)}.get(prefix, "")
            if target and not rest.startswith(target + ":"):
                _fail(connection, f"device '{rest.rsplit(':', 1)[0]}' not found")
            else:
                self._device_query(connection, rest[len(target) + 1 :] if target else rest)
        elif request in (f"host:tport:serial:{device.serial}", "host:tport:any", "host:tport:usb", "host:tport:local"):
            connection.sendall(b"OKAY" + struct.pack("<Q", TRANSPORT_ID))
            self._device_service(connection, self._read_request(connection))
        elif request in (f"host:transport:{device.serial}", f"host:transport-id:{TRANSPORT_ID}", "host:transport-any",
                         "host:transport-usb", "host:transport-local"):
            _okay(connection)
            self._device_service(connection, self._read_request(connection))
        elif request.startswith("host:tport:") or request.startswith("host:transport"):
            _fail(connection, f"device '{request.rsplit(':', 1)[-1]}' not found")
        else:
            self._host_query(connection, request)

    def _host_query(self, connection: socket.socket, request: str) -> None:
        device = self.server.device
        if request == "host:version":
            _okay(connection, f"{ADB_SERVER_VERSION:04x}")
        elif request == "host:devices":
            _okay(connection, f"{device.serial}\tdevice\n")
        elif request == "host:devices-l":
            _okay(connection, f"{device.serial:<22} device product:infir_phone model:Infir_One device:infir "
                              f"transport_id:{TRANSPORT_ID}\n")
        elif request == "host:list-forward":
            _okay(connection, self.server.forward_list())
        elif request == "host:killforward-all":
            self.server.remove_forward(None)
            _okay(connection)
        elif request.startswith("host:wait-for-"):
            connection.sendall(b"OKAYOKAY")
        else:
            self._device_query(connection, request.removeprefix("host:")) if request.startswith("host:forward") \
                else _fail(connection, f"unknown host service '{request}'")

    def _device_query(self, connection: socket.socket, command: str) -> None:
        device = self.server.device
        if command == "get-state":
            _okay(connection, "device")
        elif command == "get-serialno":
            _okay(connection, device.serial)
        elif command == "get-devpath":
            _okay(connection, "usb:1-1")
        elif command == "features":
            _okay(connection, FEATURES)
        elif command == "list-forward":
            _okay(connection, self.server.forward_list())
        elif command.startswith("forward:"):
            spec = command.removeprefix("forward:")
            rebind = not spec.startswith("norebind:")
            local, _, remote = spec.removeprefix("norebind:").partition(";")
            error = self.server.add_forward(local, remote, rebind=rebind)
            if error:
                _fail(connection, error)
            else:
                connection.sendall(b"OKAYOKAY")  # one for the transport, one for the forward, as adb does
        elif command == "killforward-all":
            self.server.remove_forward(None)
            connection.sendall(b"OKAYOKAY")
        elif command.startswith("killforward:"):
            local = command.removeprefix("killforward:")
            if self.server.remove_forward(local):
                connection.sendall(b"OKAYOKAY")
            else:
                _fail(connection, f"listener '{local}' not found")
        elif command.startswith("wait-for-"):
            connection.sendall(b"OKAYOKAY")
        else:
            _fail(connection, f"unknown host service '{command}'")

    # ---- device services --------------------------------------------------------------------------------------
    def _device_service(self, connection: socket.socket, service: str) -> None:
        device = self.server.device
        if service.startswith("shell:") or service.startswith("exec:"):
            result = device.shell.run(service.split(":", 1)[1])
            _okay(connection)
            connection.sendall(result.output)
            if result.keeps_running:
                self._wait_until_closed(connection)
        elif service.startswith("shell,") and ":" in service:
            result = device.shell.run(service.split(":", 1)[1])
            _okay(connection)
            packets = b""
            for kind, data in ((_SHELL_V2_STDOUT, result.stdout), (_SHELL_V2_STDERR, result.stderr)):
                if data:
                    packets += struct.pack("<BI", kind, len(data)) + data
            if result.keeps_running:
                connection.sendall(packets)
                self._wait_until_closed(connection)
                return
            connection.sendall(packets + struct.pack("<BI", _SHELL_V2_EXIT, 1) + bytes([result.exit_code & 0xFF]))
        elif service == "sync:":
            _okay(connection)
            _SyncSession(connection, device.files).run()
        elif service.startswith("tcp:"):
            port = service.removeprefix("tcp:").rsplit(":", 1)[-1]
            if not port.isdigit() or not device.listens(int(port)):
                _fail(connection, "closed")
                return
            _okay(connection)
            device.connect(int(port), connection)
        else:
            _fail(connection, f"unknown device service '{service}'")

    @staticmethod
    def _wait_until_closed(connection: socket.socket) -> None:
        """A process that keeps running: its stream stays open until the client closes it."""
        while connection.recv(4096):
            pass


class _SyncSession:
    """adb's sync protocol: 4-byte command id + little-endian u32 + payload, repeated until QUIT or close."""

    def __init__(self, connection: socket.socket, files: FileStore) -> None:
        self.connection = connection
        self.files = files

    def run(self) -> None:
        while True:
            try:
                header = _receive_exactly(self.connection, 8)
            except ClientGone:
                return
            command, length = header[:4], struct.unpack("<I", header[4:])[0]
            if command == b"QUIT":
                return
            path = _receive_exactly(self.connection, length).decode("utf-8", errors="replace")
            if command == b"STAT":
                self._stat(path)
            elif command == b"LIST":
                self._list(path)
            elif command == b"SEND":
                self._send(path)
            elif command == b"RECV":
                self._receive(path)
            else:
                self._fail(f"unknown sync command {command!r}")
                return

    def _fail(self, message: str) -> None:
        data = message.encode()
        self.connection.sendall(b"FAIL" + struct.pack("<I", len(data)) + data)

    def _stat(self, path: str) -> None:
        info = self.files.stat(path)
        mode, size, mtime = (info.mode, info.size, info.mtime) if info else (0, 0, 0)
        self.connection.sendall(b"STAT" + struct.pack("<III", mode, size, mtime))

    def _list(self, path: str) -> None:
        info = self.files.stat(path)
        entries = []
        if info is not None and info.is_dir:
            entries = [(".", info), ("..", info), *self.files.list_directory(path)]
        reply = b""
        for name, entry in entries:
            encoded = name.encode()
            reply += b"DENT" + struct.pack("<IIII", entry.mode, entry.size, entry.mtime, len(encoded)) + encoded
        self.connection.sendall(reply + b"DONE" + bytes(16))

    def _send(self, spec: str) -> None:
        """SEND "<path>,<mode>", then DATA chunks, then DONE <mtime>; answered OKAY once the file is written."""
        path, _, mode_text = spec.rpartition(",")
        if not path:
            path, mode_text = spec, str(stat.S_IFREG | 0o644)
        chunks = []
        while True:
            header = _receive_exactly(self.connection, 8)
            command, value = header[:4], struct.unpack("<I", header[4:])[0]
            if command == b"DATA":
                chunks.append(_receive_exactly(self.connection, value))
            elif command == b"DONE":
                break
            else:
                self._fail(f"unexpected {command!r} during SEND")
                return
        try:
            self.files.write(path, b"".join(chunks), mode=int(mode_text), mtime=value)
        except (IsADirectoryError, NotADirectoryError, ValueError) as error:
            self._fail(f"couldn't create file: {type(error).__name__}: {path}")
            return
        self.connection.sendall(b"OKAY" + bytes(4))

    def _receive(self, path: str) -> None:
        try:
            data = self.files.read(path)
        except (FileNotFoundError, IsADirectoryError):
            self._fail(f"remote object '{path}' does not exist")
            return
        reply = b"".join(
            b"DATA" + struct.pack("<I", len(data[i : i + SYNC_MAX_CHUNK])) + data[i : i + SYNC_MAX_CHUNK]
            for i in range(0, len(data), SYNC_MAX_CHUNK)
        )
        self.connection.sendall(reply + b"DONE" + bytes(4))
