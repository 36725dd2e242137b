"""Helpers for the browser tests and the page benchmark (no pytest fixtures here).

Chromium is Debian's (``/usr/bin/chromium``, or ``GEO_ASSETS_CHROMIUM``), launched by
Playwright with ``executable_path``; Playwright's own browser download is never used.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from geo_assets.settings import Settings
from maps.assets import TEST_FILES, MapSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("GEO_ASSETS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
LOCAL_HOSTS = frozenset({"127.0.0.1"})
LOCAL_SCHEMES = frozenset({"data", "blob", "about"})


class LiveServer:
    """uvicorn serving an app in a background thread on a socket we already bound."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the app did not start under uvicorn")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def start_app(database_url: str, map_settings: MapSettings) -> LiveServer:
    """Build the app over ``database_url`` with ``map_settings`` and serve it on loopback."""
    from api.app import create_app

    app = create_app(Settings(database_url=database_url))
    app.state.map_settings = map_settings
    server = LiveServer(app)
    server.start()
    return server


@dataclass
class PageLog:
    """What one page did: console errors, uncaught exceptions and every request URL."""

    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_error(self, text: str) -> None:
        """Allow console errors containing ``text``: Chromium logs any 4xx page as "Failed
        to load resource", so a test that submits a bad form on purpose says so here."""
        self.expected.append(text)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.console_errors if not any(x in e for x in self.expected)]

    def external_requests(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


def open_page(browser: Any, log: PageLog, **context_options: Any) -> tuple[Any, Any]:
    """A fresh context and page whose console and requests go into ``log``."""
    context = browser.new_context(service_workers="block", **context_options)

    def guard(route: object) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("request", lambda request: log.requests.append(request.url))
    page.on(
        "console",
        lambda msg: (
            log.console_errors.append(f"{msg.text} ({msg.location})")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: log.console_errors.append(f"uncaught: {exc}"))
    return context, page


AXE_PATH = TEST_FILES["axe"]


# Map markers may overlap (two groups meeting at one venue), which axe's target-size rule
# (WCAG 2.2 SC 2.5.8) flags. Every page that shows markers also lists the same listings as
# links, the SC's "equivalent control" exception, so markers are left out of that one rule.
TARGET_SIZE_EXEMPT = [".leaflet-marker-icon"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def run_axe(
    page: Any, static_dir: Path, *, target_size_exempt: list[str] = TARGET_SIZE_EXEMPT
) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the current page (WCAG 2.2 A/AA and
    best practice); axe is injected from our static cache, never fetched."""
    script = (Path(static_dir) / AXE_PATH).read_text(encoding="utf-8")
    page.add_script_tag(content=script)
    result = page.evaluate(
        """async ([tags, exempt]) => {
            const all = await axe.run(document, {
                runOnly: {type: 'tag', values: tags},
                rules: {'target-size': {enabled: false}},
                resultTypes: ['violations']
            });
            const sized = await axe.run({include: [document], exclude: exempt.map(s => [s])}, {
                runOnly: {type: 'rule', values: ['target-size']},
                resultTypes: ['violations']
            });
            return all.violations.concat(sized.violations);
        }""",
        [AXE_TAGS, target_size_exempt],
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, with its background network traffic turned off."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
    )
