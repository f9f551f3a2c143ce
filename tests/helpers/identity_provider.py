"""A real OpenID Connect provider process for the sign-in tests, and a client that walks its pages.

`tests/idp/provider/provider.mjs` is panva's oidc-provider with a plain sign-in form; it runs
under Node.js on 127.0.0.1 (port 8141, or the next free one up to 8149). `npm ci --prefix
tests/idp/provider` installs it (.ci/legs/30-browser.sh does). Nothing secret is in the
repository: the client secret, passwords and the provider's signing key are made at run time.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

PROVIDER_DIR = Path(__file__).parents[1] / "idp" / "provider"
PORTS = range(8141, 8150)
GROUP_ROLES = (
    "payments-reviewers=payments:reviewer, payments-devs=payments:member, "
    "payments-leads=payments:owner, release-managers=manager"
)


def provider_available() -> str:
    """'' when the provider can run here, else why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "run `npm ci --prefix tests/idp/provider` (the CI leg does)"
    return ""


def free_port(ports=PORTS, *, skip=()) -> int:
    for port in ports:
        if port in skip:
            continue
        with closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {ports}")


@dataclass
class IdentityProvider:
    issuer: str
    client_id: str
    client_secret: str
    accounts_file: Path
    process: subprocess.Popen
    accounts: dict = field(default_factory=dict)

    def set_account(
        self, username: str, *, groups: list[str], email: str | None = None, verified: bool = True
    ):
        """Create or change an account at the provider (read again at each sign-in); returns its password."""
        account = self.accounts.get(username) or {
            "password": secrets.token_urlsafe(12),
            "sub": f"sub-{secrets.token_hex(6)}",
        }
        account.update(
            {
                "groups": list(groups),
                "email": email or f"{username}@corp.example.com",
                "email_verified": verified,
            }
        )
        self.accounts[username] = account
        self.accounts_file.write_text(json.dumps(self.accounts))
        return account["password"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_provider(tmp_dir: Path, redirect_uris: list[str]) -> IdentityProvider:
    if why := provider_available():
        pytest.skip(why)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    accounts_file = tmp_dir / "accounts.json"
    accounts_file.write_text("{}")
    client_id = "releasegate-" + secrets.token_hex(4)
    client_secret = secrets.token_urlsafe(24)  # made now: nothing secret is in the repository
    env = {
        **os.environ,
        "ISSUER": issuer,
        "PORT": str(port),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URIS": ",".join(redirect_uris),
        "ACCOUNTS_FILE": str(accounts_file),
    }
    log = (tmp_dir / "provider.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - node and a file of this repository
        ["node", str(PROVIDER_DIR / "provider.mjs")], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the provider exited: {(tmp_dir / 'provider.log').read_text()}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("the provider did not start in 20 s")
    return IdentityProvider(issuer, client_id, client_secret, accounts_file, process)


def configure(settings, provider: IdentityProvider, *, password_login: bool = True) -> None:
    """Point releasegate at the provider, as the environment variables would (docs/identity.md)."""
    from checklists.policy.group_roles import parse

    settings.OIDC_ISSUER = provider.issuer
    settings.OIDC_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = provider.client_id
    settings.OIDC_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = provider.client_secret
    settings.OIDC_RP_SCOPES = "openid email profile groups"
    settings.OIDC_PROVIDER_NAME = "Company SSO"
    settings.OIDC_GROUP_ROLES = GROUP_ROLES
    settings.OIDC_GROUP_ROLE_GRANTS = parse(GROUP_ROLES)
    settings.RELEASEGATE_PASSWORD_LOGIN = password_login
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        *(["django.contrib.auth.backends.ModelBackend"] if password_login else []),
        "checklists.identity.backend.CompanyOIDCBackend",
    ]


@dataclass
class Flow:
    """A sign-in walked with requests up to the moment the browser would come back to releasegate."""

    session: requests.Session
    authorization: dict  # the parameters releasegate sent to the provider
    callback_url: str


def walk_to_callback(
    base_url: str, username: str, password: str, session: requests.Session | None = None
) -> Flow:
    session = session or requests.Session()
    started = session.get(f"{base_url}/oidc/authenticate/", allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text[:500]
    url = started.headers["Location"]
    authorization = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    for _ in range(12):
        if url.startswith(f"{base_url}/oidc/callback/"):
            return Flow(session, authorization, url)
        response = session.get(url, allow_redirects=False, timeout=10)
        if response.status_code == 200 and 'name="password"' in response.text:
            action = response.text.split('action="', 1)[1].split('"', 1)[0]
            response = session.post(
                urljoin(url, action),
                data={"username": username, "password": password},
                allow_redirects=False,
                timeout=10,
            )
        assert response.status_code in (302, 303), (response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("the provider never sent the browser back")
