"""releasegate as a GitHub App: webhook signatures, App and installation tokens, requests.

Facts from GitHub's documentation:
- Webhook deliveries carry `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the
  webhook secret>`, compared in constant time; `X-GitHub-Event` names the event and
  `X-GitHub-Delivery` is a unique id per delivery
  (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
- A GitHub App authenticates with a JWT signed RS256 with its private key: `iat` 60 s in the past,
  `exp` at most 10 minutes later, `iss` the App's id; with it,
  `POST /app/installations/{id}/access_tokens` returns an installation token (`token`,
  `expires_at`, one hour) and `GET /repos/{owner}/{repo}/installation` the installation of a
  repository (docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/).
- A `deployment_protection_rule` event (action `requested`) names `environment`,
  `deployment_callback_url`, `deployment.sha`, `repository.full_name` and `installation.id`;
  the App answers with `POST <deployment_callback_url>` and
  `{"environment_name", "state": "approved"|"rejected", "comment"}`
  (docs.github.com/en/actions/how-tos/deploy/configure-and-manage-deployments/create-custom-protection-rules,
  REST "Review custom deployment protection rules for a workflow run").
- Commit statuses: `POST /repos/{owner}/{repo}/statuses/{sha}` with `state`
  (error|failure|pending|success), `target_url`, `description`, `context`
  (docs.github.com/en/rest/commits/statuses).

How a GitHub repository maps to a registered one: the registered location names the same
host (RELEASEGATE_GITHUB_HOST) and the path `owner/name`, with or without `.git`, compared
without regard to case (GitHub's names are case-insensitive): `https://github.com/owner/name`,
`https://github.com/owner/name.git`, `ssh://git@github.com/owner/name.git` and
`git@github.com:owner/name.git` all match `owner/name`. Only the registrations of the team that
registered `owner/name` first count (`matching_repositories`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache

from ..models import Repository
from . import http

API_VERSION = "2022-11-28"
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SCP_RE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^@/:]+):(?P<path>.+)$")


class NotConfigured(Exception):
    """The GitHub App is not (fully) configured; the message says what to set."""


# --- configuration -----------------------------------------------------------------------


def github_host() -> str:
    """The host of GitHub repositories' locations: set, or derived from the API URL."""
    if settings.RELEASEGATE_GITHUB_HOST:
        return settings.RELEASEGATE_GITHUB_HOST.lower()
    host = (urlsplit(settings.RELEASEGATE_GITHUB_API_URL).hostname or "").lower()
    return "github.com" if host == "api.github.com" else host


def app_configured() -> bool:
    return bool(settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY)


def private_key() -> str:
    """The App's PEM private key: the setting itself, or the file it names."""
    value = settings.GITHUB_APP_PRIVATE_KEY
    if not value:
        raise NotConfigured("GITHUB_APP_PRIVATE_KEY is not set.")
    if "-----BEGIN" in value:
        return value.replace("\\n", "\n")
    path = Path(value)
    try:
        return path.read_text()
    except OSError:
        raise NotConfigured("GITHUB_APP_PRIVATE_KEY is neither a PEM key nor a readable file.") from None


# --- inbound -------------------------------------------------------------------------------


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def repository_name(location: str) -> str | None:
    """`owner/name` (lower case) if the location is a repository on the GitHub host, else None."""
    text = location.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("https", "ssh"):
            return None
        host, path = (parts.hostname or "").lower(), parts.path
    elif match := SCP_RE.match(text):
        host, path = match["host"].lower(), match["path"]
    else:
        return None
    if host != github_host():
        return None
    path = path.strip("/")
    if path.lower().endswith(".git"):
        path = path[:-4]
    return path.lower() if NAME_RE.fullmatch(path) else None


def matching_repositories(full_name: str) -> list[Repository]:
    """The registered repositories that are GitHub's `owner/name`, of the team that speaks for it.

    That is the team that registered it first: any signed-in person may open a team and register
    any location, so a later team's releases must not answer another team's deployments or set
    statuses on its commits (docs/integrations.md).
    """
    wanted = full_name.lower()
    candidates = Repository.objects.filter(location__icontains=wanted).select_related("team").order_by("pk")
    found = [r for r in candidates if repository_name(r.location) == wanted]
    return [r for r in found if r.team_id == found[0].team_id]


def speaks_for(repository: Repository) -> bool:
    """Whether releases of this registered repository answer for its GitHub repository."""
    name = repository_name(repository.location)
    return name is not None and any(r.pk == repository.pk for r in matching_repositories(name))


def check_callback_url(url: str, full_name: str) -> str:
    """The callback URL if it is the documented one on the configured API host; raise ValueError."""
    base = settings.RELEASEGATE_GITHUB_API_URL
    if not isinstance(url, str) or not http.same_origin_under(url, base):
        raise ValueError("deployment_callback_url is not on the configured GitHub API host.")
    rest = urlsplit(url).path[len(urlsplit(base).path.rstrip("/")) :]
    match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/actions/runs/([0-9]+)/deployment_protection_rule", rest)
    if not match or f"{match[1]}/{match[2]}".lower() != full_name.lower() or urlsplit(url).query:
        raise ValueError("deployment_callback_url is not this repository's deployment protection rule URL.")
    return url


# --- outbound ------------------------------------------------------------------------------


def app_jwt(now: float | None = None) -> str:
    """A JWT that authenticates as the App for up to 9 minutes (RS256, iss = the App id)."""
    if not app_configured():
        raise NotConfigured("Set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY.")
    now = int(now if now is not None else time.time())
    claims = {"iat": now - 60, "exp": now + 9 * 60, "iss": str(settings.GITHUB_APP_ID)}
    try:
        return jwt.encode(claims, private_key(), algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise NotConfigured("GITHUB_APP_PRIVATE_KEY is not a usable RSA private key (PEM).") from None


def api_headers(token: str) -> dict:
    return {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": API_VERSION,
    }


def api_url(path: str) -> str:
    return settings.RELEASEGATE_GITHUB_API_URL + path


class APIError(Exception):
    def __init__(self, message: str, *, status: int | None = None, final: bool = False):
        super().__init__(message)
        self.message, self.status, self.final = message, status, final


def _token_key(installation_id: int) -> str:
    return f"integrations:github-token:{installation_id}"


def _installation_key(full_name: str) -> str:
    return f"integrations:github-installation:{full_name.lower()}"


def installation_for(full_name: str) -> int:
    """The App's installation on `owner/name` (asked once, then remembered for an hour)."""
    if cached := cache.get(_installation_key(full_name)):
        return cached
    owner, name = full_name.split("/", 1)
    response = http.request(
        "GET", api_url(f"/repos/{quote(owner)}/{quote(name)}/installation"), headers=api_headers(app_jwt())
    )
    if response.status == 404:
        raise APIError(f"The GitHub App is not installed on {full_name}.", status=404, final=True)
    installation = response.json().get("id")
    if response.status != 200 or not isinstance(installation, int):
        raise APIError(
            f"GitHub answered {response.status} for the installation of {full_name}.", status=response.status
        )
    cache.set(_installation_key(full_name), installation, 3600)
    return installation


def installation_token(installation_id: int) -> str:
    """An installation token, reused until a minute before it expires. Never logged."""
    if cached := cache.get(_token_key(installation_id)):
        return cached
    response = http.request(
        "POST",
        api_url(f"/app/installations/{int(installation_id)}/access_tokens"),
        headers=api_headers(app_jwt()),
    )
    data = response.json()
    token = data.get("token")
    if response.status != 201 or not isinstance(token, str) or not token:
        # The body is not quoted: it may hold a token.
        raise APIError(
            f"GitHub refused an installation token ({response.status}); check the App id, key and installation.",
            status=response.status,
            final=response.status in (401, 403, 404),
        )
    lifetime = 3000
    try:
        expires = datetime.fromisoformat(str(data.get("expires_at")).replace("Z", "+00:00"))
        lifetime = int((expires - datetime.now(UTC)).total_seconds()) - 60
    except ValueError:
        pass
    if lifetime > 0:
        cache.set(_token_key(installation_id), token, lifetime)
    return token


def forget_token(installation_id: int) -> None:
    cache.delete(_token_key(installation_id))


def status_url(full_name: str, sha: str) -> str:
    owner, name = full_name.split("/", 1)
    return api_url(f"/repos/{quote(owner)}/{quote(name)}/statuses/{sha}")
