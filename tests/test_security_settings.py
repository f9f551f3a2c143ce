"""Security settings: check --deploy is quiet, CSP without inline code, lockout, sessions, admin."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from .helpers.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"  # the factories' test password, not a secret
WRONG_PASSWORD = "not-the-password"  # releasegate: allow - a deliberately wrong test password


def run_manage(*args, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "RELEASEGATE_DEMO"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "RELEASEGATE_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "releasegate.example.com",
}


def test_check_deploy_has_nothing_to_say_in_production():
    result = run_manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_does_complain_about_development_settings():
    # The test above would be worthless if check --deploy never spoke.
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", RELEASEGATE_ENV="development")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS in development


def test_production_cookies_are_secure_and_hsts_is_on():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.DEBUG)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "RELEASEGATE_DEMO"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **PRODUCTION, "DJANGO_SETTINGS_MODULE": "releasegate.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True", "True", "True", "False"], result.stderr


def test_pages_carry_a_csp_without_inline_scripts_and_refuse_framing(client, alice):
    client.force_login(alice)
    response = client.get(reverse("checklists:dashboard"))
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
HX_ON = re.compile(r"\shx-on[:-]", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted((ROOT / "templates").rglob("*.html")), ids=lambda p: p.name)
def test_templates_hold_no_inline_script_the_policy_would_block(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "move the script into static/js/"
    assert not EVENT_HANDLER.search(text), "inline event handlers are inline scripts"
    assert not HX_ON.search(text), "hx-on evaluates inline code"


def wrong_password(client, username):
    return client.post(reverse("login"), {"username": username, "password": WRONG_PASSWORD})


def test_five_wrong_passwords_lock_the_account_from_that_address(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert wrong_password(client, "alice").status_code == 200  # the form again, with an error
    assert wrong_password(client, "alice").status_code == 429
    # Locked: even the right password is refused now.
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_of_one_user_leaves_others_free(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        wrong_password(client, "alice")
    response = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_the_right_password_signs_in_and_resets_the_count(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong_password(client, "alice")
    assert client.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert wrong_password(client, "alice").status_code == 200


def test_token_authentication_still_works_with_the_lockout_backend(client, alice):
    token = Token.objects.create(user=alice)
    response = client.get("/api/v1/releases/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_sessions_expire_after_twelve_hours(client, alice):
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    assert cookie["httponly"]
    assert client.session.get_expiry_age() <= 12 * 60 * 60


def test_the_admin_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    staff = UserFactory(username="sam", is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_the_api_docs_page_starts_swagger_from_a_script_file_the_csp_allows(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html)
    script = re.search(r'<script src="([^"]*\?script=[^"]*)"', html).group(1).replace("&amp;", "&")
    assert client.get(script).status_code == 200
