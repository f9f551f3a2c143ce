"""Outbound HTTPS for the integrations: one JSON request, a timeout, no redirects followed.

Only workers call this (checklists/integrations/deliveries.py). The URLs come from trusted
configuration (RELEASEGATE_GITHUB_API_URL, RELEASEGATE_GITLAB_API_URL, Slack's hosts), or from
a payload after it was checked against that configuration (github.check_callback_url,
slack.check_hooks_url): that check is what keeps a payload from sending us elsewhere.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 256 * 1024
USER_AGENT = "releasegate-integrations/1"


class RequestFailed(Exception):
    """The request could not be made (network, timeout); it may be retried."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def excerpt(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace")


def request(method: str, url: str, *, headers: dict, body: dict | None = None) -> Response:
    """Send one request and read (a capped amount of) the answer; raise RequestFailed on I/O errors."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RequestFailed(f"not an http(s) URL: {parts.scheme}://{parts.hostname}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timeout = settings.RELEASEGATE_WEBHOOK_TIMEOUT
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    payload = None
    all_headers = {"User-Agent": USER_AGENT, **headers}
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return Response(response.status, response.read(MAX_RESPONSE_BYTES))
    except (OSError, http.client.HTTPException) as exc:
        raise RequestFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    finally:
        conn.close()


def same_origin_under(url: str, base: str) -> bool:
    """Whether `url` has the scheme, host and port of `base` and a path under its path."""
    try:
        u, b = urlsplit(url), urlsplit(base)
        u_port, b_port = u.port, b.port
    except ValueError:
        return False
    default = {"https": 443, "http": 80}
    if u.scheme != b.scheme or (u.hostname or "") != (b.hostname or "") or not u.hostname:
        return False
    if (u_port or default.get(u.scheme)) != (b_port or default.get(b.scheme)):
        return False
    if u.username or u.password or u.fragment:
        return False
    prefix = b.path.rstrip("/") + "/"
    return (u.path or "/").startswith(prefix) and ".." not in u.path.split("/")
