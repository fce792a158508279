"""Start a simulated phone behind its own adb server: in threads (`start_phone`) or in the foreground (`serve_phone`).

Each phone gets its own adb server port, so several phones run side by side; clients pick one with
`adbutils.AdbClient(port=P)` or `ANDROID_ADB_SERVER_PORT=P` (and `ANDROID_SERIAL`).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field

from android_agent.phone.adb_server import AdbServer, SimulatedDevice
from android_agent.phone.phone import Phone

DEFAULT_SERIAL = "emulator-5554"


@dataclass
class RunningPhone:
    """A phone being served; `close()` (or leaving the `with` block) stops its server and frees the port."""

    phone: Phone
    port: int
    serial: str
    host: str
    server: AdbServer = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def __enter__(self) -> RunningPhone:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def start_phone(
    phone: Phone | None = None, *, port: int = 0, serial: str = DEFAULT_SERIAL, host: str = "127.0.0.1"
) -> RunningPhone:
    """Serve `phone` (a new default one if None) on `host:port` (0: a free port) from daemon threads.

    Returns once the server accepts connections (the socket listens before this returns)."""
    phone = phone if phone is not None else Phone()
    server = AdbServer(SimulatedDevice(phone, serial), (host, port))
    # A short poll interval: `close()` waits for the serving loop to notice the shutdown request.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name=f"adb-server-{serial}", daemon=True)
    thread.start()
    return RunningPhone(phone, server.port, serial, host, server, thread)


def serve_phone(port: int, serial: str = DEFAULT_SERIAL, phone: Phone | None = None, host: str = "127.0.0.1") -> None:
    """Serve a phone in the foreground until KeyboardInterrupt or SIGTERM; prints one line once it is reachable."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        with start_phone(phone, port=port, serial=serial, host=host) as running:
            print(f"simulated phone {running.serial} on adb server {running.host}:{running.port}", flush=True)
            try:
                while not stop.wait(0.5):  # a timed wait, so Ctrl-C is noticed promptly
                    pass
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
