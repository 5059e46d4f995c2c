"""The decision matrix page: well-formed, complete, linked, and it renders in headless Chromium."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import support
from conftest import real

from poortwachter.authoring.matrix import render_diff_matrix, render_matrix
from poortwachter.cli import main
from poortwachter.core.policy.model import Bundle


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.segments: list[tuple[str, str]] = []  # (class, letter)
        self.rows: list[tuple[str, list[str]]] = []  # (who, letters) per table row
        self._seg: str | None = None
        self._who = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "a" and a.get("href", "").startswith("#"):
            self.hrefs.append(str(a["href"])[1:])
            if "seg" in (a.get("class") or ""):
                self._seg = str(a["class"])
        if tag == "th" and "who" in (a.get("class") or ""):
            self._who = True
            self.rows.append(("", []))

    def handle_data(self, data: str) -> None:
        if self._seg is not None:
            self.segments.append((self._seg, data))
            if self.rows:
                self.rows[-1][1].append(data)
        if self._who and self.rows:
            self.rows[-1] = (self.rows[-1][0] + data, self.rows[-1][1])

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._seg = None
        if tag == "th":
            self._who = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_matrix_of_mini(mini: Bundle) -> None:
    html = render_matrix(mini)
    page = _parse(html)
    assert html.startswith("<!DOCTYPE html>") and "<script src" not in html and "<link" not in html  # self-contained
    assert page.segments and all(h in page.ids for h in page.hrefs)  # every link resolves
    rows = {who: letters for who, letters in page.rows if letters}
    # read is the first table: the young person is refused before 12 and allowed from 12 (unless shielded)
    young = next(letters for who, letters in page.rows if who == "the young person")
    assert young[:4] == ["–", "J", "J", "J"]
    parents = next(letters for who, letters in page.rows if who == "parents with gezag")
    assert parents[:4] == ["J", "–", "V", "V"]  # under 12 yes; 12-15 no rule; 16+ with consent
    assert "@media print" in html and "break-before: page" in html
    assert 'id="r-self-12-plus"' in html and "BW 7:456" in html and "Vanaf 12 jaar heb je zelf inzage." in html
    assert len(rows) >= 3


def test_matrix_of_a_diff(mini: Bundle, overlay: Bundle) -> None:
    html = render_diff_matrix(mini, overlay)
    page = _parse(html)
    assert all(h in page.ids for h in page.hrefs)
    young = next(letters for who, letters in page.rows if who == "the young person")
    assert young[:4] == ["–", "J–", "J", "J"]  # 12-15 lose access (J → –)
    assert "a.seg.ch" in html and "lose it" in html


def test_matrix_command(tmp_path: Path) -> None:
    out = tmp_path / "m.html"
    assert main(["matrix", "tests/fixtures/policies/mini", "-o", str(out)]) == 0
    assert out.read_text().count('class="seg') > 100
    assert main(["matrix", "tests/fixtures/policies/mini-overlay", "--against", "tests/fixtures/policies/mini",
                 "-o", str(tmp_path / "d.html")]) == 0


# ---------------------------------------------------------------------------------------------
# headless Chromium: Debian's chromium package (apt-get install -y chromium)



async def _cdp(socket: str, url: str, shot: Path) -> dict[str, Any]:
    import websockets

    messages: list[dict[str, Any]] = []
    async with websockets.connect(socket, max_size=64 * 2**20) as ws:
        counter = 0

        async def call(method: str, **params: Any) -> dict[str, Any]:
            nonlocal counter
            counter += 1
            me = counter
            await ws.send(json.dumps({"id": me, "method": method, "params": params}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if msg.get("id") == me:
                    return msg.get("result", {})
                messages.append(msg)

        await call("Runtime.enable")
        await call("Log.enable")
        await call("Page.enable")
        await call("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        await call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(m.get("method") == "Page.loadEventFired" for m in messages) and time.monotonic() < deadline:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        state = await call("Runtime.evaluate", expression="JSON.stringify({cells: document.body.dataset.cells, "
                           "tables: document.querySelectorAll('table.m').length, "
                           "height: document.body.scrollHeight})", returnByValue=True)
        png = await call("Page.captureScreenshot", format="png")
        shot.write_bytes(base64.b64decode(png["data"]))
        pdf = await call("Page.printToPDF", landscape=True, printBackground=True)
    errors = [m for m in messages if m.get("method") == "Runtime.exceptionThrown"
              or (m.get("method") == "Runtime.consoleAPICalled" and m["params"]["type"] in ("error", "assert"))
              or (m.get("method") == "Log.entryAdded" and m["params"]["entry"]["level"] == "error")]
    logs = [m["params"]["args"][0].get("value") for m in messages if m.get("method") == "Runtime.consoleAPICalled"]
    return {"state": json.loads(state["result"]["value"]), "errors": errors, "logs": logs,
            "pdf": len(base64.b64decode(pdf["data"]))}


def _render_in_chromium(chromium: str, html_file: Path, shot: Path) -> dict[str, Any]:
    # The browser's helpers (renderer, crashpad) may still write to the profile as it is removed: they are
    # stopped with it (their own process group), and a last file one of them leaves does not fail the test.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen([
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and port_file.read_text().strip()) and time.monotonic() < deadline:
                time.sleep(0.1)
            port = int(port_file.read_text().splitlines()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                page = next(t for t in json.loads(r.read()) if t["type"] == "page")
            return asyncio.run(_cdp(page["webSocketDebuggerUrl"], html_file.resolve().as_uri(), shot))
        finally:
            with contextlib.suppress(ProcessLookupError):  # (the group may be gone already)
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("which", ["mini", "nl-jgz", "diff"])
def test_matrix_renders_in_headless_chromium(which: str, mini: Bundle, overlay: Bundle, tmp_path: Path) -> None:
    """The page, its screenshot and PDF from a real browser (the files stay in the test's tmp_path to look at)."""
    chromium = support.require_tool("chromium", "chromium-browser", why="render the matrix in a browser",
                                    install="apt-get install -y chromium")
    if which == "mini":
        html = render_matrix(mini)
    elif which == "nl-jgz":
        html = render_matrix(real("policies/nl-jgz"))
    else:
        html = render_diff_matrix(mini, overlay)
    page = tmp_path / f"{which}.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / f"{which}.png"
    result = _render_in_chromium(chromium, page, shot)
    assert result["errors"] == []
    assert any(str(x).startswith("matrix-ready ") for x in result["logs"])  # the page's script ran
    assert int(result["state"]["cells"]) == html.count('<a class="seg ')
    assert result["state"]["tables"] == 8  # one per action
    width, height = _png_size(shot.read_bytes())
    assert (width, height) == (1400, 1000) and shot.stat().st_size > 20_000
    assert result["pdf"] > 10_000  # prints
