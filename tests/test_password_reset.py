"""Password reset works only where email reaches a mail server; its link and token are never logged.

Django's reset email carries a link that lets its holder set the user's password. With the
console backend (the default without EMAIL_HOST) that email was printed into the worker's
or web's log. Now the reset pages answer 404 unless email goes to a mail server, and the
access log hides the token of a reset link.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checklists.identity.accounts import LOCAL_EMAIL_BACKENDS

ROOT = Path(__file__).resolve().parent.parent
SMTP = "django.core.mail.backends.smtp.EmailBackend"
RESET_PAGES = ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/",
               "/accounts/reset/MQ/abc-123/"]  # fmt: skip


@pytest.mark.parametrize("backend", sorted(LOCAL_EMAIL_BACKENDS))
def test_reset_pages_are_off_when_email_stays_on_this_machine(client, alice, settings, backend, capsys):
    settings.EMAIL_BACKEND = backend
    for path in RESET_PAGES:
        assert client.get(path).status_code == 404, path
    response = client.post("/accounts/password_reset/", {"email": alice.email})
    assert response.status_code == 404
    assert "reset" not in capsys.readouterr().out  # the console backend printed nothing


def test_the_production_default_without_email_host_has_no_reset(client, alice):
    from releasegate import settings as project_settings

    if project_settings.EMAIL_HOST:
        pytest.skip("EMAIL_HOST is set in this environment")
    assert project_settings.EMAIL_BACKEND in LOCAL_EMAIL_BACKENDS


@pytest.fixture
def smtp_server(settings, monkeypatch):
    """Email configured for a mail server; the server itself (the edge) is replaced by a list."""
    settings.EMAIL_BACKEND = SMTP
    received = []

    def send_messages(backend, messages):
        received.extend(messages)
        return len(messages)

    monkeypatch.setattr("django.core.mail.backends.smtp.EmailBackend.send_messages", send_messages)
    return received


def test_with_a_mail_server_the_reset_link_works_and_no_log_line_carries_it(
    client, alice, smtp_server, caplog
):
    caplog.set_level(logging.DEBUG)
    response = client.post("/accounts/password_reset/", {"email": alice.email})
    assert response.status_code == 302
    (message,) = smtp_server
    link = re.search(r"https?://[^/\s]+(/accounts/reset/[^\s]+/)", message.body).group(1)
    token = link.rstrip("/").rsplit("/", 1)[1]

    opened = client.get(link)  # Django moves the token into the session and redirects
    assert opened.status_code == 302
    form = client.get(opened["Location"])
    assert form.status_code == 200 and form.context["validlink"]
    changed = client.post(
        opened["Location"],
        {"new_password1": "a new long passphrase 7", "new_password2": "a new long passphrase 7"},
    )
    assert changed.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a new long passphrase 7")

    assert token not in caplog.text
    access = [r.getMessage() for r in caplog.records if r.name == "releasegate.access"]
    assert any("/accounts/reset/***/***/" in line for line in access), access


@pytest.mark.parametrize("email", ["", "mail.example.com"], ids=["reset off", "reset on"])
def test_no_log_line_of_the_web_process_carries_a_reset_token(tmp_path, email):
    """The real handler and formatter (JSON, as in production): Django's own 404 line names the path."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "Client().get('/accounts/reset/MQ/c8k2p1-0123456789abcdef0123456789abcdef/', secure=True)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELEASEGATE_DEMO", "LOG_LEVEL"}},
        "RELEASEGATE_ENV": "production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "testserver",
        "EMAIL_HOST": email,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "RELEASEGATE_DATA_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "releasegate.settings",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "/accounts/reset/***/***/" in result.stderr  # the request was logged...
    assert "0123456789abcdef" not in result.stderr  # ...without its token
