"""auth_probe: every configured endpoint refuses an unauthenticated request.

Only the URLs the team configured are contacted: one GET each, short timeouts, no
redirect followed, no credentials sent. 401/403 pass; a redirect to a login page
passes; endpoints on the team's public allowlist may answer 2xx.
"""

from __future__ import annotations

import http.client
import re
import ssl
from urllib.parse import urljoin, urlsplit

from .base import Finding, ScannerUnavailable, ScanResult, ScanTarget

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
LOGIN_RE = re.compile(r"(login|log-in|signin|sign-in|sign_in|auth|sso|oauth|openid|saml|accounts)", re.I)
REDIRECTS = {301, 302, 303, 307, 308}


def _is_public(url: str, allowlist: list[str]) -> bool:
    path = urlsplit(url).path or "/"
    return any(url == entry or (entry.startswith("/") and path == entry) for entry in allowlist)


def probe(url: str, *, timeout: float = READ_TIMEOUT) -> tuple[int, str]:
    """One unauthenticated GET; returns (status, Location header)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("only http:// and https:// URLs can be probed")
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=CONNECT_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT)
    try:
        conn.connect()
        conn.sock.settimeout(timeout)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request("GET", target, headers={"User-Agent": "releasegate-auth-probe", "Accept": "*/*"})
        response = conn.getresponse()
        location = response.getheader("Location") or ""
        response.read(64 * 1024)  # drain a little; the body is never used
        return response.status, location
    finally:
        conn.close()


def judge(url: str, status: int, location: str, allowlist: list[str]) -> Finding | None:
    if status in (401, 403):
        return None
    if status in REDIRECTS:
        where = urljoin(url, location)
        if LOGIN_RE.search(urlsplit(where).path + "?" + urlsplit(where).query):
            return None
        return Finding(url, None, "redirect-not-login", f"{status} -> {where[:100]}",
                       "The endpoint redirects somewhere that is not a login page.")  # fmt: skip
    if 200 <= status < 300 and _is_public(url, allowlist):
        return None
    return Finding(url, None, "answers-anonymously" if status < 400 else "unexpected-status", f"HTTP {status}",
                   "The endpoint did not ask for authentication.")  # fmt: skip


def run(target: ScanTarget) -> ScanResult:
    if not target.endpoints:
        raise ScannerUnavailable(
            "The team has no endpoints configured for the auth probe; add its inbound endpoints "
            "in the team settings (auth on endpoints can never be skipped)."
        )
    findings, answers = [], {}
    for url in target.endpoints:
        try:
            status, location = probe(url)
        except ValueError as exc:
            findings.append(Finding(url, None, "bad-endpoint", "", f"Cannot probe this endpoint: {exc}."))
            continue
        except (OSError, http.client.HTTPException) as exc:
            raise ScannerUnavailable(
                f"Endpoint {url} could not be reached ({type(exc).__name__}).", transient=True
            ) from None
        answers[url] = status
        finding = judge(url, status, location, target.public_allowlist)
        if finding:
            findings.append(finding)
    return ScanResult.from_findings(findings, answers=answers)
