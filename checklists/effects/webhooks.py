"""Outbound webhooks: signed JSON events to team-registered URLs, delivered by Celery.

- Events: submitted, approved, rejected, deployed, rolled_back, scan_failed. The workflow
  calls `emit` inside its transaction; one WebhookDelivery row per subscribed hook is the
  delivery log, and the task is sent only when the transaction commits (outbox.py).
- Each body is signed: `X-Releasegate-Signature: sha256=<hex HMAC-SHA256 of the body with the
  hook's secret>`; `X-Releasegate-Event` and `X-Releasegate-Delivery` (an id to de-duplicate:
  delivery is at least once) come along.
- Only http(s). Unless an admin sets `allow_private` on the hook, the URL may not point at
  this app's own hosts (ALLOWED_HOSTS), loopback, private, link-local (169.254/16, fe80::/10),
  metadata or other non-global addresses (checklists/git/netguard.py, shared with git fetches). The host name is resolved again at each delivery,
  every resolved address is checked, and the connection goes to the checked address (no
  second lookup a rebinding DNS server could answer differently). Redirects are not followed.
- Failures (network, timeout, non-2xx) are retried with exponential backoff up to
  RELEASEGATE_WEBHOOK_MAX_ATTEMPTS, then the delivery is `failed`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from ..git import netguard
from ..models import WEBHOOK_EVENTS, Release, Webhook, WebhookDelivery
from . import outbox

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Releasegate-Signature"
MAX_BACKOFF = 3600
MAX_RESPONSE_BYTES = 4096

# The guard is shared with git fetches (checklists/git/netguard.py); its refusal keeps this name here.
UnsafeURL = netguard.UnsafeAddress
resolve_checked = netguard.resolve_checked


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_url(url: str, *, allow_private: bool = False) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL; raise UnsafeURL otherwise. No DNS here."""
    try:
        parts = urlsplit(url or "")
        port = parts.port
    except ValueError:  # an unclosed "[::1", a port that is not a number
        raise UnsafeURL("The URL cannot be read: check its host and port.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs can receive webhooks.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Put no credentials in the URL; the signature authenticates releasegate.")
    port = port or (443 if parts.scheme == "https" else 80)
    if not allow_private:
        netguard.check_host(host)
    return parts.scheme, host, port


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


# --- emitting -----------------------------------------------------------------------


def event_body(event: str, release: Release, data: dict) -> dict:
    return {
        "event": event,
        "sent_for": {"team": release.team.slug, "release": release.pk},
        "release": {
            "id": release.pk,
            "title": release.title,
            "kind": release.kind,
            "status": release.status,
            "commit": release.commit,
            "version_after": release.version_after,
            "url": f"{settings.RELEASEGATE_BASE_URL.rstrip('/')}/releases/{release.pk}/",
        },
        "data": data,
        "at": timezone.now().isoformat(),
    }


def emit(release: Release, event: str, **data) -> list[WebhookDelivery]:
    """Log one delivery per subscribed hook; enqueue each when the transaction commits."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event}")
    hooks = [h for h in Webhook.objects.filter(team_id=release.team_id, active=True) if event in h.events]
    if not hooks:
        return []
    body = json.dumps(event_body(event, release, data), sort_keys=True, default=str)
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(webhook=h, event=event, release=release, body=body) for h in hooks]
    )
    for delivery in deliveries:
        outbox.on_commit(outbox.DELIVER_WEBHOOK, delivery.pk)  # broker down: it stays pending in the log
    return deliveries


# --- delivering ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


def backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, settings.RELEASEGATE_WEBHOOK_BACKOFF_SECONDS * 2 ** max(0, attempts - 1))


def post(hook: Webhook, body: bytes, headers: dict) -> int:
    """POST `body` to the hook's URL through a checked address; the HTTP status."""
    scheme, host, port = check_url(hook.url, allow_private=hook.allow_private)
    address = resolve_checked(host, port, allow_private=hook.allow_private)
    parts = urlsplit(hook.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    conn = conn_class(host, port, address=address, timeout=settings.RELEASEGATE_WEBHOOK_TIMEOUT)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        conn.close()


def deliver(delivery_id: int) -> Outcome:
    """Try one delivery once; record the attempt. Safe to call again for a delivered row."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return Outcome(delivery.status if delivery else "gone")
    hook = delivery.webhook
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "releasegate-webhooks/1",
        "X-Releasegate-Event": delivery.event,
        "X-Releasegate-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: sign(hook.secret, body),
    }
    attempts = delivery.attempts + 1
    status_code, error, final = None, "", False
    try:
        status_code = post(hook, body, headers)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except UnsafeURL as exc:
        error, final = f"refused: {exc}", True  # retrying cannot make it safe
    except (OSError, http.client.HTTPException, ConnectionError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    now = timezone.now()
    if not error:
        new_status, retry_in = WebhookDelivery.Status.DELIVERED, None
    elif final or attempts >= settings.RELEASEGATE_WEBHOOK_MAX_ATTEMPTS:
        new_status, retry_in = WebhookDelivery.Status.FAILED, None
    else:
        new_status, retry_in = WebhookDelivery.Status.PENDING, backoff(attempts)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        status=new_status,
        response_status=status_code,
        error=error,
        last_attempt_at=now,
        delivered_at=now if new_status == WebhookDelivery.Status.DELIVERED else None,
    )
    return Outcome(new_status, retry_in)
