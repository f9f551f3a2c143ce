"""Every input field and every header, API and pages, with hostile values: never a 5xx.

Each value below broke something somewhere once (a folded header, a date at the end of
the calendar, an encoding nobody has, control characters in a title). Here each one goes
into every field of every endpoint that takes input, and into every header a client or a
proxy can set, on pages and on the API. The answer may be a success or a refusal; a 5xx is
a bug. docs/reliability.md lists the values and what they get.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.helpers.api import API, client_for, release_url
from tests.helpers.factories import make_release, release_data, sha
from tests.helpers.release_steps import ready_for_review

pytestmark = pytest.mark.reliability

# Strings for every field: line breaks (folded header), NUL, terminal escapes, Unicode line
# separator, RTL override, very long, digits, calendar edges, impossible dates, paths, SQL,
# markup, a percent-encoded NUL, emoji, blanks.
TEXT = ["abc\r\n def", "line\nbreak", "\x00", "nul\x00inside", "\x1b[2J\x07", "a\u2028b", "\u202eevil",
        "x" * 10_000, "9" * 400, "-1", "0", "9999-12-31", "0001-01-01", "9999-12-31T23:59:59-10:00",
        "0001-01-01T00:00:00+10:00", "2026-13-45", "../../etc/passwd", "' OR 1=1 --",
        "<script>alert(1)</script>", "%00", "\U0001f680" * 50, " ", ""]  # fmt: skip
# JSON bodies also get other types (a lone surrogate goes as raw bytes, below).
JSON_ONLY = [None, 123, -1, 1e308, True, [], {}, ["a"], {"$gt": ""}]
# Header values as a WSGI server hands them over (latin-1 text).
HEADER_VALUES = ["abc\r\n def", "a\r\nX-Injected: 1", "a\x00b", "\x1b[31m", "x" * 8000,
                 "caf\u00c3\u00a9", " ", "", "../../", "9999-12-31", "-1", "' OR 1=1 --",
                 "<script>", "Token " + "f" * 40, "bytes=0-99999999999999999999"]  # fmt: skip


def no_5xx(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])


@pytest.fixture
def world(team, alice, bob, carol):
    draft = make_release(team, alice)
    in_review = ready_for_review(make_release(team, alice, title="review"), alice)
    manual = draft.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    return {"team": team, "alice": alice, "bob": bob, "carol": carol, "manual": manual, "body": release_data(),
            "draft": draft, "in_review": in_review}  # fmt: skip


def page_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def api_client(user):
    client = client_for(user)
    client.raise_request_exception = False
    return client


# --- API fields -------------------------------------------------------------------------

# (name, fields, how to send one body)
API_WRITES = {
    "create": (
        ["team", "title", "kind", "repository", "commit", "version_before", "version_after", "description",
         "rollback_plan", "deployment_steps", "known_limitations"],
        lambda w, body: api_client(w["alice"]).post(
            f"{API}/releases/", {"team": "payments", **w["body"], "commit": sha(), **body}, format="json"),
    ),
    "item": (
        ["state", "evidence", "reason"],
        lambda w, body: api_client(w["alice"]).patch(
            release_url(w["draft"], f"items/{w['manual']}/"), {"state": "done", **body}, format="json"),
    ),
    "signoff": (
        ["decision", "comment"],
        lambda w, body: api_client(w["bob"]).post(
            release_url(w["in_review"], "signoffs/"), {"decision": "reject", "comment": "no", **body},
            format="json"),
    ),
    "scans": (
        ["scanners", "force"],
        lambda w, body: api_client(w["alice"]).post(release_url(w["draft"], "scans/"), body, format="json"),
    ),
    "deploy": (
        ["commit", "version_after"],
        lambda w, body: api_client(w["alice"]).post(release_url(w["in_review"], "deploy/"), body, format="json"),
    ),
    "rollback": (
        ["reason"],
        lambda w, body: api_client(w["alice"]).post(release_url(w["in_review"], "rollback/"), body, format="json"),
    ),
    "cancel": (
        ["reason"],
        lambda w, body: api_client(w["alice"]).post(release_url(w["in_review"], "cancel/"), body, format="json"),
    ),
}  # fmt: skip
API_WRITE_CASES = [(name, field) for name, (fields, _) in API_WRITES.items() for field in fields]


@pytest.mark.parametrize(("endpoint", "field"), API_WRITE_CASES, ids=[f"{e}.{f}" for e, f in API_WRITE_CASES])
def test_every_api_field_takes_hostile_values_without_a_5xx(world, endpoint, field):
    _, send = API_WRITES[endpoint]
    for value in [*TEXT, *JSON_ONLY]:
        no_5xx(send(world, {field: value}), (endpoint, field, repr(value)[:60]))


API_QUERIES = {
    "list": (["team", "status", "kind", "author", "since", "until", "page", "page_size"],
             lambda w: f"{API}/releases/"),
    "gate": (["commit"], lambda w: release_url(w["in_review"], "gate/")),
    "test-report": (["commit"], lambda w: release_url(w["draft"], "test-reports/")),
    "templates": (["page"], lambda w: f"{API}/templates/"),
    "exceptions": (["page"], lambda w: f"{API}/exceptions/"),
}  # fmt: skip
API_QUERY_CASES = [(name, field) for name, (fields, _) in API_QUERIES.items() for field in fields]
REPORT = b'<testsuite tests="1" failures="0"><testcase name="a"/></testsuite>'


@pytest.mark.parametrize(("endpoint", "field"), API_QUERY_CASES, ids=[f"{e}.{f}" for e, f in API_QUERY_CASES])
def test_every_api_query_parameter_takes_hostile_values_without_a_5xx(world, endpoint, field):
    _, path_of = API_QUERIES[endpoint]
    client = api_client(world["alice"])
    for value in TEXT:
        if endpoint == "test-report":
            response = client.generic(
                "POST", path_of(world) + "?" + _query({field: value}), REPORT, content_type="application/xml"
            )
        else:
            response = client.get(path_of(world), {field: value})
        no_5xx(response, (endpoint, field, repr(value)[:60]))


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


@pytest.mark.parametrize(
    "encoding", ["bogus-enc", "rot13", "utf-7", "x" * 200, "utf-16", "hex"], ids=lambda e: e[:12]
)
def test_a_test_report_in_any_declared_encoding_is_never_a_5xx(world, encoding):
    body = f'<?xml version="1.0" encoding="{encoding}"?><testsuite tests="1"><testcase name="a"/></testsuite>'
    response = api_client(world["alice"]).generic(
        "POST",
        release_url(world["draft"], "test-reports/"),
        body.encode("latin-1"),
        content_type="application/xml",
    )
    assert response.status_code == 400, response.content


def test_raw_bodies_of_every_shape_are_never_a_5xx(world):
    client = api_client(world["alice"])
    bodies = [b"", b"\x00", b"\xff\xfe", b"{", b"[]", b"null", b'"x"', b"1e999999", b'{"title": "\\ud800"}',
              json.dumps({"team": "payments", "title": "a\r\nb"}).encode()]  # fmt: skip
    for body in bodies:
        for content_type in (
            "application/json",
            "application/json; charset=bogus",
            "application/xml",
            "bogus/x",
        ):
            response = client.generic("POST", f"{API}/releases/", body, content_type=content_type)
            no_5xx(response, (body[:20], content_type))


# --- page fields --------------------------------------------------------------------------

PAGE_FORMS = {
    "create": (
        ["team", "title", "kind", "repository", "commit", "version_before", "version_after", "description",
         "rollback_plan", "deployment_steps", "known_limitations"],
        lambda w: "/releases/new/",
        lambda w: {"team": w["team"].pk, **w["body"], "commit": sha()},
    ),
    "edit": (
        ["title", "repository", "commit", "version_before", "version_after", "description"],
        lambda w: f"/releases/{w['draft'].pk}/edit/",
        lambda w: {**w["body"], "commit": w["draft"].commit},
    ),
    "item": (
        ["state", "evidence", "reason"],
        lambda w: f"/releases/{w['draft'].pk}/items/{w['manual']}/",
        lambda w: {"state": "done"},
    ),
    "signoff": (["decision", "comment"], lambda w: f"/releases/{w['in_review'].pk}/signoff/",
                lambda w: {"decision": "reject", "comment": "no"}),
    "deploy": (["version_after", "commit"], lambda w: f"/releases/{w['in_review'].pk}/deploy/", lambda w: {}),
    "rollback": (["reason"], lambda w: f"/releases/{w['in_review'].pk}/rollback/", lambda w: {}),
    "cancel": (["reason"], lambda w: f"/releases/{w['in_review'].pk}/cancel/", lambda w: {}),
    "scans": (["scanner"], lambda w: f"/releases/{w['draft'].pk}/scans/run/", lambda w: {}),
    "sign-in": (["username", "password"], lambda w: "/accounts/login/",
                lambda w: {"username": "alice", "password": "wrong"}),
}  # fmt: skip
PAGE_FORM_CASES = [(name, field) for name, (fields, _, _) in PAGE_FORMS.items() for field in fields]


@pytest.mark.parametrize(("form", "field"), PAGE_FORM_CASES, ids=[f"{f}.{x}" for f, x in PAGE_FORM_CASES])
def test_every_page_form_field_takes_hostile_values_without_a_5xx(world, form, field):
    _, path_of, base_of = PAGE_FORMS[form]
    user = world["bob"] if form == "signoff" else world["alice"]
    client = page_client(user)
    # htmx posts get partials from the same views; those that branch on it get both.
    variants = ({}, {"HTTP_HX_REQUEST": "true"}) if form in ("item", "scans") else ({},)
    for value in TEXT:
        for htmx in variants:
            response = client.post(path_of(world), {**base_of(world), field: value}, **htmx)
            no_5xx(response, (form, field, value[:40]))


PAGE_QUERIES = {
    "history": (["team", "status", "kind", "author", "since", "until", "q", "o", "page"], "/history/"),
    "export": (["team", "status", "kind", "author", "since", "until", "q", "o"], "/history/export.csv"),
    "metrics": (["team"], "/metrics/"),
    "scans": (["rev"], None),
}  # fmt: skip
PAGE_QUERY_CASES = [(name, field) for name, (fields, _) in PAGE_QUERIES.items() for field in fields]


@pytest.mark.parametrize(("page", "field"), PAGE_QUERY_CASES, ids=[f"{p}.{f}" for p, f in PAGE_QUERY_CASES])
def test_every_page_query_parameter_takes_hostile_values_without_a_5xx(world, page, field):
    _, path = PAGE_QUERIES[page]
    path = path or f"/releases/{world['draft'].pk}/scans/"
    user = world["carol"] if page == "metrics" else world["alice"]
    client = page_client(user)
    for value in TEXT:
        response = client.get(path, {field: value})
        if response.streaming:
            b"".join(response.streaming_content)  # the CSV is written while it streams
        no_5xx(response, (page, field, value[:40]))


# --- headers ------------------------------------------------------------------------------

HEADERS = ["HTTP_X_REQUEST_ID", "HTTP_IDEMPOTENCY_KEY", "HTTP_AUTHORIZATION", "CONTENT_TYPE", "HTTP_ACCEPT",
           "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT_ENCODING", "HTTP_COOKIE", "HTTP_HOST", "HTTP_X_FORWARDED_PROTO",
           "HTTP_X_FORWARDED_FOR", "HTTP_HX_REQUEST", "HTTP_HX_CURRENT_URL", "HTTP_HX_TARGET", "HTTP_HX_TRIGGER",
           "HTTP_REFERER", "HTTP_ORIGIN", "HTTP_USER_AGENT", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE",
           "HTTP_RANGE", "HTTP_X_CSRFTOKEN", "HTTP_X_HUB_SIGNATURE_256"]  # fmt: skip


def header_requests(world) -> list:
    """One request of each kind a client makes: pages and API, reads and writes, signed in or not."""
    release, key = world["draft"], world["manual"]
    return [
        lambda c, h: c["page"].post(f"/releases/{release.pk}/items/{key}/", {"state": "done"}, **h),
        lambda c, h: c["api"].post(f"{API}/releases/", {"team": "payments", **world["body"], "commit": sha()},
                                   format="json", **h),
        lambda c, h: c["page"].get(f"/releases/{release.pk}/", **h),
        lambda c, h: c["anonymous"].get("/accounts/login/", **h),
        lambda c, h: c["api"].get(f"{API}/releases/", **h),
        lambda c, h: c["page"].get("/", **h),
        lambda c, h: c["page"].get("/history/", {"until": "9999-12-31"}, **h),
        lambda c, h: c["anonymous"].post("/accounts/login/", {"username": "alice", "password": "x"}, **h),
        lambda c, h: c["anonymous"].get("/healthz", **h),
        lambda c, h: c["api"].patch(release_url(release, f"items/{key}/"), {"evidence": "x"}, format="json", **h),
        lambda c, h: c["api"].generic("POST", release_url(release, "test-reports/"), REPORT,
                                      content_type="application/xml", **h),
        lambda c, h: c["anonymous"].get("/metrics", **h),
        lambda c, h: c["anonymous"].post("/integrations/github/events/", b"{}", content_type="application/json",
                                         **h),
    ]  # fmt: skip


# Line breaks and NUL go to every request; every value goes to a page write and an API
# write, where most headers are read (CSRF, htmx, content type, idempotency), so the
# suite stays quick.
WORST_HEADER_VALUES = HEADER_VALUES[:3]


@pytest.mark.parametrize("header", HEADERS)
def test_every_header_takes_hostile_values_without_a_5xx(world, header):
    clients = {
        "page": page_client(world["alice"]),
        "api": api_client(world["alice"]),
        "anonymous": Client(raise_request_exception=False),
    }
    requests = header_requests(world)
    for value in HEADER_VALUES:
        for number, send in enumerate(requests if value in WORST_HEADER_VALUES else requests[:2]):
            response = send(clients, {header: value})
            no_5xx(response, (header, value[:40], number))
            assert "\n" not in response.get("X-Request-ID", ""), (header, value[:40])
