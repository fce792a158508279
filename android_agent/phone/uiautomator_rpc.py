"""The on-device uiautomator server behind `adb tcp:9008`: HTTP with `GET /ping` and JSON-RPC 2.0 at `/jsonrpc/0`.

uiautomator2 3.7.1 opens one adb `tcp:9008` stream per call and speaks HTTP/1.1 over it; the adb server hands that
socket to `serve_connection`, so no port is opened on the host. Methods take positional params as the client sends
them and fail the way the real server does: HTTP 200 with a JSON-RPC error object (a non-200 answer would make the
client restart the server), `uiautomator.UiObjectNotFoundException` in the message for a selector that matches
nothing (the client raises UiObjectNotFoundError), and "could not get idle state" for a hierarchy dump while the
screen animates.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import socket
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from lxml import etree

from android_agent.errors import PhoneError
from android_agent.phone.device_shell import KEYCODES, LONG_PRESS_MS
from android_agent.phone.phone import Phone
from android_agent.phone.ui import View
from android_agent.phone.ui_selector import describe, find_views, focused_editable, view_info

logger = logging.getLogger(__name__)

PORT = 9008
SWIPE_STEP_MS = 5  # uiautomator injects one move event per step, 5 ms apart
POLL_S = 0.05  # how often waitForExists / waitForIdle look again
# pressKey's names that the Phone does not know by name, as their key codes.
KEY_NAME_CODES = {"left": KEYCODES["DPAD_LEFT"], "right": KEYCODES["DPAD_RIGHT"], "up": KEYCODES["DPAD_UP"],
                  "down": KEYCODES["DPAD_DOWN"], "center": KEYCODES["DPAD_CENTER"], "camera": KEYCODES["CAMERA"],
                  "volume_mute": KEYCODES["VOLUME_MUTE"], "delete": KEYCODES["DEL"]}
_ACTION_DOWN, _ACTION_UP = 0, 1
_TAP_SLOP = 24  # px a finger may move between down and up and still tap


class RpcError(Exception):
    """A JSON-RPC error object: (code, message) as the Java server would fill them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _error_reply(request_id: Any, method: str, error: RpcError) -> dict[str, Any]:
    stack_trace = f"{error.message}\n\tat com.wetest.uia2.stub.AutomatorServiceImpl.{method}"
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": error.code, "message": error.message,
                                                           "data": stack_trace}}


def _not_found(selector: dict) -> RpcError:
    return RpcError(-32002, f"androidx.test.uiautomator.UiObjectNotFoundException: {describe(selector)}")


class UiautomatorRpc:
    """The JSON-RPC methods uiautomator2 3.7.1 calls, against one Phone (thread-safe through the Phone's lock).

    Methods carry their wire names (Java's camelCase), so the table of callable methods is the method names."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self._touch_down: tuple[int, int] | None = None  # injectInputEvent's pressed point
        self.methods: dict[str, Callable[..., Any]] = {
            name: getattr(self, name)
            for name in (
                "deviceInfo", "dumpWindowHierarchy", "takeScreenshot", "click", "longClick", "swipe", "swipePoints",
                "drag", "dragTo", "pressKey", "pressKeyCode", "injectInputEvent", "setClipboard", "getClipboard",
                "pasteClipboard", "clearInputText", "exist", "waitForExists", "waitUntilGone", "objInfo",
                "objInfoOfAllInstances", "count", "getText", "setText", "clearTextField", "scrollForward",
                "scrollBackward", "scrollToBeginning", "scrollToEnd", "scrollTo", "waitForIdle", "freezeRotation",
                "setOrientation", "getLastToast", "clearLastToast", "wakeUp",
            )
        }
        # A fling is a fast scroll; the simulated lists move the same either way.
        self.methods.update(flingForward=self.scrollForward, flingBackward=self.scrollBackward,
                            flingToBeginning=self.scrollToBeginning, flingToEnd=self.scrollToEnd)

    # ---- transport --------------------------------------------------------------------------------------------
    def serve_connection(self, connection: socket.socket) -> None:
        """Answer HTTP requests on an accepted stream until the client closes it."""
        _HttpHandler(connection, ("127.0.0.1", PORT), self)

    def handle(self, body: bytes) -> dict[str, Any]:
        """One JSON-RPC request body -> the response object (never raises)."""
        try:
            request = json.loads(body)
            method, params, request_id = request["method"], request.get("params") or [], request.get("id")
        except (ValueError, KeyError, TypeError):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
        try:
            function = self.methods.get(method)
            if function is None:
                raise RpcError(-32601, f"Method not found: {method}")
            try:
                result = function(**params) if isinstance(params, dict) else function(*params)
            except PhoneError as error:
                raise RpcError(-32001, f"java.lang.IllegalArgumentException: {error}") from error
            except (TypeError, IndexError, KeyError, ValueError) as error:
                raise RpcError(-32602, f"Invalid params for {method}: {error!r}") from error
        except RpcError as error:
            return _error_reply(request_id, method, error)
        except Exception as error:  # a bug here: answer it, as the Java server answers any exception
            logger.exception("uiautomator rpc %s failed", method)
            return _error_reply(request_id, method, RpcError(-32603, f"java.lang.RuntimeException: {error!r}"))
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    # ---- screen -------------------------------------------------------------------------------------------------
    def deviceInfo(self) -> dict[str, Any]:
        width, height = self.phone.size
        dp = 160 / self.phone.density_dpi
        return {
            "currentPackageName": self.phone.current_app()[0], "displayHeight": height, "displayWidth": width,
            "displayRotation": 0, "displaySizeDpX": round(width * dp), "displaySizeDpY": round(height * dp),
            "naturalOrientation": True, "productName": "infir_phone", "screenOn": True, "sdkInt": 34,
        }

    def dumpWindowHierarchy(self, compressed: bool = False, maxDepth: int = 50, rootInActive: bool = False) -> str:
        with self.phone.lock:
            if self.phone.is_animating():
                raise RpcError(-32001, "java.lang.IllegalStateException: could not get idle state")
            xml, depth = self.phone.hierarchy_xml(), _depth(self.phone.root())
        if not compressed and (maxDepth is None or depth <= maxDepth):
            return xml
        return _reshape(xml, compressed, maxDepth)

    def takeScreenshot(self, scale: float = 1.0, quality: int = 80) -> str:
        if scale == 1:
            return base64.b64encode(self.phone.screenshot_jpeg(int(quality))).decode()
        image = self.phone.screenshot()
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=int(quality))
        return base64.b64encode(buffer.getvalue()).decode()

    def waitForIdle(self, timeout: int = 10000) -> bool:
        deadline = time.monotonic() + timeout / 1000
        while self.phone.is_animating():
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def freezeRotation(self, freeze: bool = True) -> None:
        """The simulated phone never rotates, so rotation is always frozen."""

    def setOrientation(self, orientation: str) -> None:
        if orientation not in ("natural", "n"):
            raise RpcError(-32001, f"java.lang.IllegalArgumentException: the phone is portrait only: {orientation}")

    def getLastToast(self) -> None:
        """The simulated apps show no toasts."""

    def clearLastToast(self) -> None:
        """Nothing to clear: see getLastToast."""

    def wakeUp(self) -> None:
        """The simulated screen is always on."""

    # ---- input ------------------------------------------------------------------------------------------------
    def click(self, *args: Any) -> bool:
        """click(x, y), click(x, y, press_ms) (a long click from LONG_PRESS_MS on) or click(selector)."""
        if args and isinstance(args[0], dict):
            x, y = self._center(args[0])
            self.phone.tap(x, y)
            return True
        x, y = int(args[0]), int(args[1])
        if len(args) > 2 and int(args[2]) >= LONG_PRESS_MS:
            self.phone.long_press(x, y)
        else:
            self.phone.tap(x, y)
        return True

    def longClick(self, selector: dict) -> bool:
        self.phone.long_press(*self._center(selector))
        return True

    def swipe(self, fx: int, fy: int, tx: int, ty: int, steps: int = 55) -> bool:
        if (fx, fy) == (tx, ty) and steps * SWIPE_STEP_MS >= LONG_PRESS_MS:
            self.phone.long_press(int(fx), int(fy))
        else:
            self.phone.swipe(int(fx), int(fy), int(tx), int(ty))
        return True

    def swipePoints(self, points: list[int], steps: int) -> bool:
        return self.swipe(points[0], points[1], points[-2], points[-1], steps)

    def drag(self, sx: int, sy: int, ex: int, ey: int, steps: int = 100) -> bool:
        self.phone.swipe(int(sx), int(sy), int(ex), int(ey))
        return True

    def dragTo(self, selector: dict, *target: Any) -> bool:
        x, y = self._center(selector)
        tx, ty = self._center(target[0]) if isinstance(target[0], dict) else (int(target[0]), int(target[1]))
        self.phone.swipe(x, y, tx, ty)
        return True

    def injectInputEvent(self, action: int, x: int, y: int, meta: int = 0) -> bool:
        """touch.down/move/up: a down and an up close together tap, far apart swipe."""
        if action == _ACTION_DOWN:
            self._touch_down = (int(x), int(y))
        elif action == _ACTION_UP and self._touch_down is not None:
            (x1, y1), self._touch_down = self._touch_down, None
            if abs(x - x1) <= _TAP_SLOP and abs(y - y1) <= _TAP_SLOP:
                self.phone.tap(x1, y1)
            else:
                self.phone.swipe(x1, y1, int(x), int(y))
        return True

    def pressKey(self, key: str) -> bool:
        code = KEY_NAME_CODES.get(key.lower())
        self.phone.press_key(code if code is not None else key.lower())
        return True

    def pressKeyCode(self, code: int, meta: int = 0) -> bool:
        self.phone.press_key(int(code))
        return True

    def setClipboard(self, label: str | None, text: str) -> None:
        self.phone.clipboard = text

    def getClipboard(self) -> str:
        return self.phone.clipboard

    def pasteClipboard(self) -> None:
        self.phone.paste()

    def clearInputText(self) -> None:
        field = focused_editable(self.phone.root())
        if field is not None:
            self.phone.set_text(field, "")

    # ---- selectors --------------------------------------------------------------------------------------------
    def _find(self, selector: dict) -> View:
        views = find_views(self.phone.root(), selector)
        if not views:
            raise _not_found(selector)
        return views[0]

    def _center(self, selector: dict) -> tuple[int, int]:
        left, top, right, bottom = self._find(selector).bounds
        return (left + right) // 2, (top + bottom) // 2

    def exist(self, selector: dict) -> bool:
        return bool(find_views(self.phone.root(), selector))

    def waitForExists(self, selector: dict, timeout: int = 0) -> bool:
        return self._wait(lambda: self.exist(selector), timeout)

    def waitUntilGone(self, selector: dict, timeout: int = 0) -> bool:
        return self._wait(lambda: not self.exist(selector), timeout)

    @staticmethod
    def _wait(condition: Callable[[], bool], timeout_ms: int) -> bool:
        deadline = time.monotonic() + timeout_ms / 1000
        while not condition():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True

    def objInfo(self, selector: dict) -> dict[str, Any]:
        return view_info(self._find(selector), self.phone.size)

    def objInfoOfAllInstances(self, selector: dict) -> list[dict[str, Any]]:
        return [view_info(view, self.phone.size) for view in find_views(self.phone.root(), selector)]

    def count(self, selector: dict) -> int:
        return len(find_views(self.phone.root(), selector))

    def getText(self, selector: dict) -> str:
        return self._find(selector).text

    def setText(self, selector: dict, text: str) -> bool:
        view = self._find(selector)
        if not view.editable:
            return False  # ACTION_SET_TEXT is refused by views that are not text fields
        self.phone.set_text(view, text)
        return True

    def clearTextField(self, selector: dict) -> None:
        self.setText(selector, "")

    # ---- scrolling --------------------------------------------------------------------------------------------
    def _scroll_once(self, selector: dict, vertical: bool, forward: bool) -> bool:
        """One swipe across the middle 80% of the scrollable view; True if the screen changed."""
        left, top, right, bottom = self._find(selector).bounds
        cx, cy = (left + right) // 2, (top + bottom) // 2
        near_start_x, near_end_x = left + (right - left) // 10, right - (right - left) // 10
        near_start_y, near_end_y = top + (bottom - top) // 10, bottom - (bottom - top) // 10
        if vertical:
            start, end = ((cx, near_end_y), (cx, near_start_y)) if forward else ((cx, near_start_y), (cx, near_end_y))
        else:
            start, end = ((near_end_x, cy), (near_start_x, cy)) if forward else ((near_start_x, cy), (near_end_x, cy))
        before = self.phone.version
        self.phone.swipe(*start, *end)
        return self.phone.version != before

    def scrollForward(self, selector: dict, vertical: bool = True, steps: int = 55) -> bool:
        return self._scroll_once(selector, vertical, forward=True)

    def scrollBackward(self, selector: dict, vertical: bool = True, steps: int = 55) -> bool:
        return self._scroll_once(selector, vertical, forward=False)

    def scrollToBeginning(self, selector: dict, vertical: bool = True, max_swipes: int = 500, steps: int = 55) -> bool:
        return self._scroll_until_still(selector, vertical, False, max_swipes)

    def scrollToEnd(self, selector: dict, vertical: bool = True, max_swipes: int = 500, steps: int = 55) -> bool:
        return self._scroll_until_still(selector, vertical, True, max_swipes)

    def _scroll_until_still(self, selector: dict, vertical: bool, forward: bool, max_swipes: int) -> bool:
        for _ in range(int(max_swipes)):
            if not self._scroll_once(selector, vertical, forward):
                break
        return True

    def scrollTo(self, selector: dict, target: dict, vertical: bool = True) -> bool:
        """UiScrollable.scrollIntoView: from the beginning, scroll forward until the target shows."""
        if self.exist(target):
            return True
        self._scroll_until_still(selector, vertical, False, 30)
        while not self.exist(target):
            if not self._scroll_once(selector, vertical, forward=True):
                return False
        return True


def _depth(view: View) -> int:
    return 1 + max((_depth(child) for child in view.children), default=0)


def _reshape(xml: str, compressed: bool, max_depth: int | None) -> str:
    """The dump as uiautomator's compressed / depth-limited modes give it: layout-only containers dropped (their
    children move up) and nodes below `max_depth` cut."""
    root = etree.fromstring(xml.encode())
    if compressed:
        for node in list(root.iter("node")):
            parent = node.getparent()
            if parent is not None and len(node) and _layout_only(node):
                position = parent.index(node)
                parent.remove(node)
                for offset, child in enumerate(list(node)):
                    parent.insert(position + offset, child)
        for parent in root.iter():
            for index, child in enumerate(parent.findall("node")):
                child.set("index", str(index))
    if max_depth is not None:
        for node in list(root.iter("node")):
            if sum(1 for _ in node.iterancestors("node")) >= max_depth:
                node.getparent().remove(node)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, standalone=True).decode()


def _layout_only(node: etree._Element) -> bool:
    interactive = ("clickable", "long-clickable", "checkable", "scrollable", "focusable")
    return not (node.get("text") or node.get("content-desc") or node.get("resource-id")) and all(
        node.get(name) != "true" for name in interactive
    )


class _HttpHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 over the tunnelled stream; `server` is the UiautomatorRpc."""

    protocol_version = "HTTP/1.1"
    server_version = "NanoHTTPD"
    server: UiautomatorRpc  # type: ignore[assignment]

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/ping":
            self._reply(200, b"pong", "text/plain")
        else:
            self._reply(404, b"Not Found", "text/plain")

    def do_POST(self) -> None:
        # http.client sends the headers and the body in two writes; on a connection Linux treats as interactive the
        # ACK of the headers waits ~40 ms for a reply to ride on, and Nagle holds the body until it comes. Asking for
        # the ACK now makes each JSON-RPC call ~4x faster.
        if hasattr(socket, "TCP_QUICKACK") and self.connection.family in (socket.AF_INET, socket.AF_INET6):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] != "/jsonrpc/0":
            self._reply(404, b"Not Found", "text/plain")
            return
        self._reply(200, json.dumps(self.server.handle(body)).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("uiautomator http: " + format, *args)
