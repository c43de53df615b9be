"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``):
enough to load a page, read it and click on it, with no driver package.

Chromium reads commands from file descriptor 3 and writes answers and events to 4, each a
JSON message ended by a NUL byte. A tiny launcher puts the two pipe ends on 3 and 4 and then
becomes Chromium.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LAUNCHER = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])")


class Browser:
    """One headless Chromium with one page."""

    def __init__(self, profile: Path) -> None:
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        assert chromium, "Chromium is needed: make test installs Debian's chromium package"
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(to_browser_r), str(from_browser_w), chromium,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None,
             timeout: float = 30.0) -> dict[str, Any]:
        """One command and its result (events in between are skipped)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                assert left > 0, f"no answer from Chromium to {method}"
                ready, _, _ = select.select([self._from_browser], [], [], left)
                if ready:
                    chunk = os.read(self._from_browser, 65536)
                    assert chunk, "Chromium closed its pipe"
                    self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._next_id:
                assert "error" not in answer, answer["error"]
                result: dict[str, Any] = answer["result"]
                return result

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True})
        return result["result"].get("value")

    def text(self, element_id: str) -> str | None:
        value = self.evaluate(f"(e => e && e.textContent)(document.getElementById("
                              f"{json.dumps(element_id)}))")
        return value if isinstance(value, str) else None

    def wait_for_text(self, element_id: str, expected: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.text(element_id)
            if seen == expected:
                return
            time.sleep(0.1)
        raise AssertionError(f"#{element_id} shows {seen!r}, not {expected!r}; "
                             f"error: {self.text('error')!r}")

    def close(self) -> None:
        with contextlib.suppress(AssertionError, OSError):  # it may be gone already
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
