"""Security headers on every response.

Pages hold a client's details, and the portal's and moderation's buttons change what the
public sees, so every response says:

- no framing by any page (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older
  browsers): another site cannot lay a moderator's Publish button under its own;
- no ``Referer`` to other sites (``same-origin``): following an organisation's link from
  a listing or plan page does not tell that site which page it came from;
- no guessing of content types (``nosniff``): an uploaded spreadsheet is never run as a page;
- a Content Security Policy that lets a page load scripts, styles, fonts and data from this
  service alone, as the offline maps already do (and so never from a CDN), and images from
  it and from the basemap's tile server (and, only where the maps are set to load
  Folium's files from public CDNs, from those). Inline scripts and styles stay allowed:
  Folium writes each map as inline script.

HTTPS (and HSTS) is the job of the proxy in front of the service, which terminates it.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def tile_origin(template: str) -> str | None:
    """Where a tile URL template's images come from, as a CSP source: the scheme and host,
    with a ``{s}`` subdomain as ``*``; None for no tiles or a relative (own) URL."""
    parts = urlsplit(template.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}"


def policy(tiles: str | None, cdns: Sequence[str] = ()) -> str:
    """The Content Security Policy: images also from ``tiles``; scripts, styles and fonts
    also from ``cdns`` (only where the maps are set to load Folium's files from them)."""
    images = " ".join(filter(None, ("'self' data: blob:", tiles)))
    others = "".join(f" {origin}" for origin in cdns)
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'unsafe-inline'{others}",
            f"style-src 'self' 'unsafe-inline'{others}",
            f"img-src {images}",
            f"font-src 'self' data:{others}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, *, tiles: str | None = None, cdns: Sequence[str] = ()) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": policy(tiles, cdns),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
