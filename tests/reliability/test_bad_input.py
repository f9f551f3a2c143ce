"""Hostile input through the API and the forms: a clear 4xx (or a safe result), never half-written.

Every refusal is checked against a snapshot of everything a request could write:
releases (with their revisions), items, sign-offs, scan runs, reports, idempotency
records and audit events. A case that is accepted (stored as text) must come back
escaped on every page that shows it.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from checklists.models import (
    AuditEvent,
    ChecklistItem,
    ChecklistTemplate,
    IdempotencyRecord,
    Release,
    ScanRun,
    SignOff,
    TestReport,
)
from tests.helpers.api import API, client_for, release_url
from tests.helpers.factories import release_data, sha

pytestmark = pytest.mark.reliability
MANUAL = "correctness.tests-pass-locally"  # replaced by a real manual key in the fixture


def snapshot() -> tuple:
    """Everything a request could have written, in a comparable form."""
    return (
        sorted(Release.objects.values_list("pk", "revision", "status", "title", "repository", "commit")),
        sorted(ChecklistItem.objects.values_list("pk", "state", "evidence", "reason")),
        sorted(SignOff.objects.values_list("pk", "decision", "stale")),
        ScanRun.objects.count(),
        TestReport.objects.count(),
        IdempotencyRecord.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def ctx(team, alice, bob, release):
    manual = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    return {"team": team, "alice": alice, "bob": bob, "release": release, "manual": manual}


def api(user):
    return client_for(user)


def create(body, **kwargs):
    return lambda c: api(c["alice"]).post(f"{API}/releases/", body, **kwargs)


def create_raw(data: bytes | str, content_type: str):
    return lambda c: api(c["alice"]).generic("POST", f"{API}/releases/", data, content_type=content_type)


def patch_item(body, key=None):
    return lambda c: api(c["alice"]).patch(
        release_url(c["release"], f"items/{key or c['manual']}/"), body, format="json"
    )


def report(data: bytes, content_type="application/xml"):
    return lambda c: api(c["alice"]).generic(
        "POST", release_url(c["release"], "test-reports/"), data, content_type=content_type
    )


def get_as(path_of, header=None):
    def go(c):
        client = Client()
        return client.get(path_of(c), HTTP_AUTHORIZATION=header) if header else client.get(path_of(c))

    return go


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<testsuite tests="1" failures="0"><testcase name="&lol4;"/></testsuite>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<testsuite tests="1" failures="0"><testcase name="&xxe;"/></testsuite>"""
BODY = {"team": "payments", **release_data()}


def with_body(**changes):
    return {**BODY, "commit": sha(), **changes}


# (name, request, accepted statuses). Every one must leave the database as it was.
REFUSED = [
    ("malformed JSON", create_raw(b'{"team": "payments", "title": ', "application/json"), {400}),
    ("JSON array instead of object", create_raw(b"[1, 2, 3]", "application/json"), {400}),
    ("JSON nested 100,000 deep", create_raw(b"[" * 100_000 + b"]" * 100_000, "application/json"), {400}),
    ("number with 100,000 digits", create_raw(b'{"title": ' + b"9" * 100_000 + b"}", "application/json"), {400}),
    ("body over the upload limit", create_raw(b'{"title": "' + b"a" * (12 * 1024 * 1024) + b'"}',
                                              "application/json"), {400, 413}),
    ("text/plain body", create_raw(b"team=payments", "text/plain"), {415}),
    ("form-encoded body on the API", create_raw(b"team=payments&title=x", "application/x-www-form-urlencoded"),
     {415}),
    ("XML body on the JSON API", create_raw(b"<release><title>x</title></release>", "application/xml"), {415}),
    ("title of the wrong type", create(with_body(title={"$gt": ""}), format="json"), {400}),
    ("title one over the limit", create(with_body(title="t" * 201), format="json"), {400}),
    ("description one over the limit", create(with_body(description="d" * 20_001), format="json"), {400}),
    ("NUL in the title", create(with_body(title="a\x00b"), format="json"), {400}),
    ("lone surrogate in the title", create_raw(
        b'{"team": "payments", "title": "x\\ud800y", "repository": "https://g.example/r.git", "commit": "'
        + sha().encode() + b'"}', "application/json"), {400}),
    ("whitespace-only title", create(with_body(title=" \t\n "), format="json"), {400}),
    ("commit not hexadecimal", create(with_body(commit="z" * 40), format="json"), {400}),
    ("commit of 41 characters", create(with_body(commit="a" * 41), format="json"), {400}),
    ("commit as a ref name", create(with_body(commit="refs/heads/main"), format="json"), {400}),
    ("repository as a git option", create(with_body(repository="--upload-pack=touch /tmp/pwned"), format="json"),
     {400}),
    ("repository as a remote helper", create(with_body(repository="ext::sh -c touch% /tmp/pwned"), format="json"),
     {400}),
    ("repository with a newline", create(with_body(repository="https://g.example/r.git\n-c core.x=y"),
                                         format="json"), {400}),
    ("repository with a control character", create(with_body(repository="https://g.example/r\x1b.git"),
                                                   format="json"), {400}),
    ("team that does not exist", create(with_body(team="../../etc"), format="json"), {400, 403, 404}),
    ("unknown item state", patch_item({"state": "hacked"}), {400}),
    ("item key with path traversal", patch_item({"state": "done"}, key="..%2F..%2Fadmin"), {404}),
    ("item key that does not exist", patch_item({"state": "done"}, key="security.nope"), {404}),
    ("evidence over the limit", patch_item({"state": "done", "evidence": "e" * 4001}), {400}),
    ("evidence with NUL", patch_item({"state": "done", "evidence": "ok\x00"}), {400}),
    ("skip without a reason", patch_item({"state": "not_applicable", "reason": " "}), {400}),
    ("negative release id", get_as(lambda c: f"{API}/releases/-1/"), {401, 404}),
    ("huge release id", lambda c: api(c["alice"]).get(f"{API}/releases/{10**30}/"), {404}),
    ("release id at the 64-bit edge", lambda c: api(c["alice"]).get(f"{API}/releases/{2**63}/"), {404}),
    ("forged token", get_as(lambda c: release_url(c["release"]), "Token " + "f" * 40), {401}),
    ("malformed Authorization header", get_as(lambda c: release_url(c["release"]), "Token a b c"), {401}),
    ("bearer scheme", get_as(lambda c: release_url(c["release"]), "Bearer " + "f" * 40), {401}),
    ("sign-off with an unknown decision", lambda c: api(c["bob"]).post(
        release_url(c["release"], "signoffs/"), {"decision": "maybe"}, format="json"), {400}),
    ("scanner name with path traversal", lambda c: api(c["alice"]).post(
        release_url(c["release"], "scans/"), {"scanners": ["../../etc/passwd"]}, format="json"), {400}),
    ("scanners as a string", lambda c: api(c["alice"]).post(
        release_url(c["release"], "scans/"), {"scanners": "secrets"}, format="json"), {400}),
    ("XML bomb as a test report", report(BILLION_LAUGHS), {400, 422}),
    ("external entity in a test report", report(XXE), {400, 422}),
    ("test report that is not XML", report(b"\x89PNG\r\n\x1a\n\x00\x00"), {400, 422}),
    ("test report over 10 MB", report(b"<testsuite>" + b" " * (10 * 1024 * 1024 + 10) + b"</testsuite>"), {413}),
    ("test report as JSON", report(b"{}", "application/json"), {415}),
    ("test report for a malformed commit", lambda c: api(c["alice"]).generic(
        "POST", release_url(c["release"], "test-reports/") + "?commit=../../HEAD",
        b'<testsuite tests="1" failures="0"><testcase name="a"/></testsuite>',
        content_type="application/xml"), {400, 409, 422}),
    ("deploy with a malformed commit", lambda c: api(c["alice"]).post(
        release_url(c["release"], "deploy/"), {"commit": "HEAD~1"}, format="json"), {400, 409}),
    ("rollback without a reason", lambda c: api(c["alice"]).post(
        release_url(c["release"], "rollback/"), {}, format="json"), {400, 409}),
    ("Idempotency-Key of 10,000 characters", lambda c: api(c["alice"]).post(
        f"{API}/releases/", with_body(title=""), format="json", HTTP_IDEMPOTENCY_KEY="k" * 10_000), {400}),
    ("outsider edits an item", lambda c: client_for(c["mallory"]).patch(
        release_url(c["release"], f"items/{c['manual']}/"), {"state": "done"}, format="json"), {404}),
    # Issue 12 (hard edges): one-line fields, control characters, encodings, headers.
    ("title with CR/LF (a mail header)", create(with_body(title="Release\r\nBcc: x@evil.example"), format="json"),
     {400}),
    ("title with a Unicode line separator", create(with_body(title="a\u2028b"), format="json"), {400}),
    ("version with a line break", create(with_body(version_after="2.4\n2.5"), format="json"), {400}),
    ("description with a terminal escape", create(with_body(description="ok\x1b[2J"), format="json"), {400}),
    ("evidence with a C1 control character", patch_item({"state": "done", "evidence": "ok\x9b1m"}), {400}),
    ("test report in an unknown encoding", report(
        b'<?xml version="1.0" encoding="bogus-enc"?><testsuite tests="1"><testcase name="a"/></testsuite>'), {400}),
    ("test report in a codec that is not text", report(
        b'<?xml version="1.0" encoding="rot13"?><testsuite tests="1"><testcase name="a"/></testsuite>'), {400}),
    ("folded X-Request-ID on a refused create", lambda c: api(c["alice"]).post(
        f"{API}/releases/", with_body(title=""), format="json", HTTP_X_REQUEST_ID="abc\r\n def"), {400}),
    ("a template of no team of the user's", lambda c: client_for(c["mallory"]).get(
        f"{API}/templates/{ChecklistTemplate.default().pk}/"), {404}),
]  # fmt: skip


@pytest.mark.parametrize("name,request_of,statuses", REFUSED, ids=[case[0] for case in REFUSED])
def test_hostile_api_input_is_refused_with_a_4xx_and_writes_nothing(ctx, mallory, name, request_of, statuses):
    ctx["mallory"] = mallory
    before = snapshot()
    response = request_of(ctx)
    assert response.status_code in statuses, (name, response.status_code, response.content[:300])
    assert snapshot() == before, name


def test_rotated_token_stops_working_at_once(ctx):
    old = Token.objects.create(user=ctx["alice"]).key
    Token.objects.filter(user=ctx["alice"]).delete()
    Token.objects.create(user=ctx["alice"])
    response = Client().get(release_url(ctx["release"]), HTTP_AUTHORIZATION=f"Token {old}")
    assert response.status_code == 401


# --- forms ----------------------------------------------------------------------


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path_of,data",
    [
        (lambda c: f"/releases/{c['release'].pk}/items/{c['manual']}/", {"state": "done"}),
        (lambda c: f"/releases/{c['release'].pk}/submit/", {}),
        (lambda c: f"/releases/{c['release'].pk}/cancel/", {"reason": "csrf"}),
        (lambda c: f"/releases/{c['release'].pk}/signoff/", {"decision": "approve"}),
        (lambda c: "/releases/new/", {"team": "payments", **release_data()}),
        (lambda c: "/profile/token/", {}),
    ],
    ids=["tick", "submit", "cancel", "signoff", "create", "rotate-token"],
)
def test_form_posts_without_a_csrf_token_are_refused(ctx, path_of, data):
    before = snapshot()
    tokens = list(Token.objects.values_list("key", flat=True))
    response = csrf_client(ctx["alice"]).post(path_of(ctx), data)
    assert response.status_code == 403
    assert snapshot() == before
    assert list(Token.objects.values_list("key", flat=True)) == tokens


@pytest.mark.parametrize(
    "changes",
    [
        {"repository": "-oProxyCommand=touch /tmp/pwned"},
        {"repository": "ext::sh -c id"},
        {"commit": "not-a-sha"},
        {"title": "x" * 201},
        {"rollback_plan": "r" * 20_001},
    ],
    ids=["repo-option", "repo-helper", "commit", "title", "rollback-plan"],
)
def test_release_form_shows_errors_and_creates_nothing(ctx, changes):
    client = Client()
    client.force_login(ctx["alice"])
    before = snapshot()
    response = client.post("/releases/new/", {"team": ctx["team"].pk, **release_data(**changes)})
    assert response.status_code in {200, 400}
    assert snapshot() == before


def test_oversized_evidence_through_the_form_changes_nothing(ctx):
    client = Client()
    client.force_login(ctx["alice"])
    before = snapshot()
    response = client.post(
        f"/releases/{ctx['release'].pk}/items/{ctx['manual']}/", {"state": "done", "evidence": "e" * 4001}
    )
    assert 400 <= response.status_code < 500
    assert snapshot() == before


@pytest.mark.parametrize(
    "query",
    ["?since=not-a-date", "?page=-1", "?page=abc", f"?page={10**20}", "?o=password", "?team=%00",
     "?q=" + "%F0%9F%92%A3" * 500, "?status=approved' OR 1=1 --", "?until=9999-12-31", "?since=0001-01-01",
     "?since=9999-12-31&until=0001-01-01", "?until=10000-01-01"],
)  # fmt: skip
@pytest.mark.parametrize("path", ["/history/", "/history/export.csv"])
def test_history_survives_odd_filters(ctx, query, path):
    client = Client()
    client.force_login(ctx["alice"])
    response = client.get(path + query)
    if response.streaming:
        b"".join(response.streaming_content)
    assert response.status_code in {200, 400}


# --- accepted text is rendered escaped -----------------------------------------

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_html_in_every_text_field_is_rendered_escaped(ctx, bob):
    alice = ctx["alice"]
    body = {
        "team": "payments",
        **release_data(
            title=SCRIPT[:150],
            description=SCRIPT,
            rollback_plan=SCRIPT,
            deployment_steps=SCRIPT,
            known_limitations=SCRIPT,
            version_before="<b>1</b>",
            version_after="<i>2</i>",
        ),
    }
    created = api(alice).post(f"{API}/releases/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    key = ctx["manual"]
    assert api(alice).patch(release_url(pk, f"items/{key}/"), {"state": "done", "evidence": SCRIPT},
                            format="json").status_code == 200  # fmt: skip
    client = Client()
    client.force_login(alice)
    for path in (f"/releases/{pk}/", "/history/", "/", f"/history/?q={SCRIPT[:20]}"):
        html = client.get(path).content.decode()
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
    page = client.get(f"/releases/{pk}/").content.decode()
    assert "&lt;script&gt;alert(" in page
    assert "<b>1</b>" not in page


def test_unicode_edge_cases_round_trip_unchanged(ctx):
    title = "Zahlung 🚀 e\u0301 \u202eRTL\u202c \u200bzero-width 中文"
    created = api(ctx["alice"]).post(f"{API}/releases/", with_body(title=title), format="json")
    assert created.status_code == 201, created.content
    assert api(ctx["alice"]).get(release_url(created.json()["id"])).json()["title"] == title


def test_csv_export_neutralises_formulas(ctx):
    for title in ('=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)"):
        assert (
            api(ctx["alice"]).post(f"{API}/releases/", with_body(title=title), format="json").status_code
            == 201
        )
    client = Client()
    client.force_login(ctx["alice"])
    response = client.get("/history/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    titles = [row["title"] for row in rows]
    assert titles and all(not t.startswith(("=", "+", "-", "@")) for t in titles), titles
