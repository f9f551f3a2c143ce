"""Every URL pattern refuses an anonymous visitor, except sign-in, health and static files.

The patterns are enumerated from the URLconf itself, so a route added later is
checked without anyone remembering to add it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from checklists import workflow
from checklists.models import Release

# Sign-in (and the password reset that belongs to it) and health: open to anyone.
PUBLIC = {
    "healthz",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "admin:login",
    "admin:logout",
    # Signing in through the company's identity provider (404 when it is not configured).
    "oidc_authentication_init",
    "oidc_authentication_callback",
}
LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


@dataclass(frozen=True)
class Route:
    name: str
    parts: tuple  # the URLPattern/URLResolver patterns from the root down
    callback: object


def walk(patterns, parts=(), namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, (*parts, entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {entry.pattern}>"
            yield Route(name, (*parts, entry.pattern), entry.callback)


ROUTES = list(walk(get_resolver().url_patterns))


def sample_for_regex(regex: str, values: dict) -> str:
    def group(match):
        name, body = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        words = body.split("|")
        return words[0] if all(re.fullmatch(r"[\w-]+", w) for w in words) else "x"

    text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", group, regex)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def sample_for_route(route: str, values: dict) -> str:
    samples = {
        "int": "1",
        "str": "x",
        "slug": "x",
        "path": "x",
        "uuid": "00000000-0000-0000-0000-000000000000",
    }

    def converter(match):
        kind, name = match.group(1) or "str", match.group(2)
        return str(values.get(name, samples.get(kind, "x")))

    return re.sub(r"<(?:(\w+):)?(\w+)>", converter, route)


def url_of(route: Route, values: dict) -> str:
    path = ""
    for pattern in route.parts:
        if isinstance(pattern, RoutePattern):
            path += sample_for_route(str(pattern._route), values)
        elif isinstance(pattern, RegexPattern):
            path += sample_for_regex(pattern._regex, values)
        else:  # pragma: no cover - a new kind of pattern: make the test say so
            raise AssertionError(f"unknown pattern type {type(pattern)}")
    return "/" + path


@pytest.fixture
def values(release, alice):
    """Real ids, so a missing auth check cannot hide behind a 404 for a missing row."""
    run = workflow.request_scans(release, actor=alice)[0]
    user_pk = urlsafe_base64_encode(force_bytes(alice.pk))
    return {
        "pk": release.pk,
        "run_id": run.pk,
        "key": release.items.first().key,
        "object_id": release.pk,
        "id": alice.pk,
        "content_type_id": ContentType.objects.get_for_model(Release).pk,
        "uidb64": user_pk,
        "token": default_token_generator.make_token(alice),
        "url": "x",
    }


def refused(response, *, api: bool) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 404:
        return api
    if response.status_code in (301, 302, 303, 307, 308):
        return urlsplit(response["Location"]).path.startswith(LOGIN_PATHS)
    return False


def test_the_enumeration_sees_every_kind_of_route():
    names = {route.name for route in ROUTES}
    assert {"healthz", "login", "api:release-detail", "checklists:release", "admin:index"} <= names
    assert len(ROUTES) > 50


@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in PUBLIC], ids=lambda r: r.name)
def test_anonymous_requests_are_refused(client, values, route):
    url = url_of(route, values)
    assert resolve(url).func == route.callback, f"{url} resolves elsewhere; teach url_of about {route.name}"
    api = url.startswith("/api/") or url == "/metrics"
    # 405 counts as refused: the view did nothing. A route open to one method is
    # caught by the other request.
    for response in (client.get(url), client.post(url, {})):
        assert refused(response, api=api) or response.status_code == 405, (
            url,
            response.request["REQUEST_METHOD"],
            response.status_code,
            response.get("Location"),
        )


def test_static_files_and_public_routes_answer_anonymously(client, db, settings):
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/accounts/login/").status_code == 200
    # Password reset is public where email goes to a mail server (tests/test_hard_edges_accounts.py).
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert client.get("/accounts/password_reset/").status_code == 200


def test_an_open_page_or_a_redirect_elsewhere_would_not_count_as_refused():
    from django.http import HttpResponse, HttpResponseRedirect

    assert not refused(HttpResponse("hello"), api=False)
    assert not refused(HttpResponseRedirect("/somewhere/"), api=False)
    assert not refused(HttpResponse(status=404), api=False)
    assert refused(HttpResponseRedirect("/accounts/login/?next=/"), api=False)
