"""The auth probe against a tiny local HTTP server on 127.0.0.1 (never any other address)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checklists.scans import auth_probe
from checklists.scans.base import ScannerUnavailable, ScanTarget

ROUTES = {
    "/api/private": (401, {}),
    "/api/admin": (403, {}),
    "/dashboard": (302, {"Location": "/accounts/login/?next=/dashboard"}),
    "/open": (200, {}),
    "/healthz": (200, {}),
    "/elsewhere": (302, {"Location": "http://127.0.0.1:9/landing"}),
    "/boom": (500, {}),
}


class Handler(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        Handler.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Cookie")))
        status, headers = ROUTES.get(self.path, (404, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def probe(base, paths, allow=()):
    return auth_probe.run(ScanTarget(endpoints=[base + p for p in paths], public_allowlist=list(allow)))


def test_protected_endpoints_pass(server):
    result = probe(server, ["/api/private", "/api/admin", "/dashboard"])
    assert result.status == "passed"
    assert sorted(result.summary["answers"].values()) == [302, 401, 403]


def test_anonymous_answer_fails_unless_allowlisted(server):
    result = probe(server, ["/open", "/healthz"], allow=["/healthz"])
    assert [(f.file, f.rule) for f in result.findings] == [(server + "/open", "answers-anonymously")]


def test_redirect_elsewhere_is_not_followed_and_fails(server):
    result = probe(server, ["/elsewhere"])
    assert [f.rule for f in result.findings] == ["redirect-not-login"]
    assert [path for path, *_ in Handler.seen] == ["/elsewhere"]  # nothing followed


def test_server_error_fails(server):
    assert [f.rule for f in probe(server, ["/boom"]).findings] == ["unexpected-status"]


def test_requests_carry_no_credentials(server):
    probe(server, ["/api/private"])
    assert Handler.seen == [("/api/private", None, None)]


def test_only_configured_endpoints_are_contacted(server):
    probe(server, ["/api/private", "/api/admin"])
    assert sorted(path for path, *_ in Handler.seen) == ["/api/admin", "/api/private"]


def test_unreachable_endpoint_is_transient(server):
    with pytest.raises(ScannerUnavailable) as info:
        auth_probe.run(ScanTarget(endpoints=["http://127.0.0.1:9/x"]))
    assert info.value.transient


def test_non_http_endpoint_is_a_finding_not_a_request():
    result = auth_probe.run(ScanTarget(endpoints=["file:///etc/passwd"]))
    assert [f.rule for f in result.findings] == ["bad-endpoint"]


def test_no_endpoints_configured_is_an_error_not_a_pass():
    with pytest.raises(ScannerUnavailable, match="no endpoints"):
        auth_probe.run(ScanTarget(endpoints=[]))
