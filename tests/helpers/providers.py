"""A local HTTP server that speaks the documented request and response shapes of GitHub's,
GitLab's and Slack's APIs, records what releasegate sent, and checks its credentials
(a real RS256 App JWT, the installation token it issued, the GitLab token, the bot token).

Only 127.0.0.1 is contacted, on this suite's ports (8150-8159).
"""

from __future__ import annotations

import errno
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PORTS = range(8150, 8155)  # unit tests; tests/integration uses 8155-8159
INSTALLATION_ID = 4242


def new_app_key() -> tuple[str, object]:
    """A fresh RSA key for the test App (made at run time: no key is ever committed)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


@dataclass
class Sent:
    method: str
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class FakeProviders:
    app_id: str
    public_key: object
    gitlab_token: str
    bot_token: str
    requests: list[Sent] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before succeeding
    installed: bool = True
    url: str = ""

    def sent(self, pattern: str) -> list[Sent]:
        return [r for r in self.requests if re.search(pattern, r.path)]

    # --- routes ------------------------------------------------------------------------

    def answer(self, req: Sent) -> tuple[int, dict | str]:
        if self.fail_next:
            return self.fail_next.pop(0), {"message": "try again"}
        path = req.path
        if path.startswith("/api/v3/"):
            return self.github(req, path[len("/api/v3") :])
        if path.startswith("/api/v4/"):
            return self.gitlab(req, path[len("/api/v4") :])
        if path.startswith("/slack/api/"):
            return self.slack_api(req, path[len("/slack/api/") :])
        if path.startswith("/hooks/"):
            return 200, "ok"
        return 404, {"message": "Not Found"}

    def _app_jwt_ok(self, req: Sent) -> bool:
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(
                auth[7:], self.public_key, algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}
            )
        except jwt.PyJWTError:
            return False
        return claims["iss"] == self.app_id and claims["exp"] - claims["iat"] <= 600

    def _token_ok(self, req: Sent) -> bool:
        auth = req.headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.issued_tokens

    def github(self, req: Sent, path: str) -> tuple[int, dict]:
        if req.headers.get("Accept") != "application/vnd.github+json":
            return 415, {"message": "Unsupported Accept"}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/installation", path) and req.method == "GET":
            if not self._app_jwt_ok(req):
                return 401, {"message": "A JSON web token could not be decoded"}
            if not self.installed:
                return 404, {"message": "Not Found"}
            return 200, {"id": INSTALLATION_ID, "app_id": int(self.app_id), "target_type": "Organization"}
        if path == f"/app/installations/{INSTALLATION_ID}/access_tokens" and req.method == "POST":
            if not self._app_jwt_ok(req):
                return 401, {"message": "A JSON web token could not be decoded"}
            token = "ghs_" + secrets.token_hex(18)
            self.issued_tokens.append(token)
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            return 201, {"token": token, "expires_at": expires, "permissions": {"statuses": "write"}}
        if not self._token_ok(req):
            return 401, {"message": "Bad credentials"}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/statuses/[0-9a-f]{40}", path) and req.method == "POST":
            body = req.json
            if body.get("state") not in ("error", "failure", "pending", "success"):
                return 422, {"message": "Validation Failed"}
            return 201, {"id": 1, "state": body["state"], "context": body.get("context")}
        if re.fullmatch(r"/repos/[^/]+/[^/]+/actions/runs/[0-9]+/deployment_protection_rule", path):
            body = req.json
            if body.get("state") not in ("approved", "rejected") or not body.get("environment_name"):
                return 422, {"message": "Validation Failed"}
            return 204, ""
        return 404, {"message": "Not Found"}

    def gitlab(self, req: Sent, path: str) -> tuple[int, dict]:
        if req.headers.get("PRIVATE-TOKEN") != self.gitlab_token:
            return 401, {"message": "401 Unauthorized"}
        if re.fullmatch(r"/projects/[^/]+/statuses/[0-9a-f]{40}", path) and req.method == "POST":
            body = req.json
            if body.get("state") not in ("pending", "running", "success", "failed", "canceled", "skipped"):
                return 400, {"message": "state does not have a valid value"}
            return 201, {"id": 1, "status": body["state"], "name": body.get("name")}
        return 404, {"message": "404 Not found"}

    def slack_api(self, req: Sent, method: str) -> tuple[int, dict]:
        if req.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return 200, {"ok": False, "error": "invalid_auth"}
        body = (
            req.json
            if req.headers.get("Content-Type", "").startswith("application/json")
            else {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        )
        if method == "chat.postMessage":
            return 200, {
                "ok": True,
                "channel": body.get("channel"),
                "ts": f"{time.time():.6f}",
                "message": {},
            }
        if method == "chat.update":
            return 200, {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "views.open":
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            if not body.get("trigger_id") or not isinstance(view, dict):
                return 200, {"ok": False, "error": "invalid_arguments"}
            return 200, {"ok": True, "view": {"id": "V1", **view}}
        return 200, {"ok": False, "error": "unknown_method"}


def start(app_id: str, public_key, gitlab_token: str, bot_token: str, ports=PORTS):
    """Start the server on the first free port of `ports`; returns (FakeProviders, stop)."""
    fake = FakeProviders(app_id, public_key, gitlab_token, bot_token)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            req = Sent(self.command, self.path, dict(self.headers), self.rfile.read(length))
            fake.requests.append(req)
            status, body = fake.answer(req)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815 - http.server's names

        def log_message(self, *args):
            pass

    server = None
    for port in ports:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    if server is None:
        raise RuntimeError(f"no free port in {ports}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_port}"

    def stop():
        server.shutdown()
        server.server_close()

    return fake, stop


# The registered repository of the GitHub tests (acme/payments-api on the fake GitHub).
GITHUB_REPOSITORY = "https://github.example.org/acme/payments-api.git"
