"""Sign-in URLs, with password reset only where email really leaves the machine.

Django's reset flow emails a link whose token lets anyone who holds it choose the user's
password. With the console, file or local-memory email backend (the default when
EMAIL_HOST is unset) that email lands in a log or a file, readable by whoever reads logs,
so there the reset pages answer 404 and no link is ever made. Set EMAIL_HOST (the SMTP
backend) and they work. The access log never writes a reset token either
(checklists/web/middleware.py). docs/configuration.md explains the choice.

`axes_username` is the user name django-axes records for a failed sign-in (settings:
AXES_USERNAME_CALLABLE), held to its 255-character column.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth import views
from django.http import Http404
from django.urls import path

# django-axes' AccessAttempt.username is a varchar(255).
AXES_USERNAME_MAX = 255

# Backends that keep mail on this machine (printed, written to files, held in memory, dropped).
LOCAL_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    }
)


def password_reset_enabled() -> bool:
    """Reset by email only where email leaves the machine, and only while passwords are in use."""
    passwords = getattr(settings, "RELEASEGATE_PASSWORD_LOGIN", True)
    return passwords and settings.EMAIL_BACKEND not in LOCAL_EMAIL_BACKENDS


def needs_real_email(view):
    """A 404 unless email is sent to a mail server (read at each request, so tests can switch it)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not password_reset_enabled():
            raise Http404("Password reset is off: releasegate sends no email here (set EMAIL_HOST).")
        return view(request, *args, **kwargs)

    return guarded


def axes_username(request, credentials: dict | None = None) -> str | None:
    """The user name of a failed sign-in as django-axes stores it: NUL-free, at most 255 characters.

    Django's sign-in form passes a user name of any length to authenticate(); axes then
    wrote it whole, and PostgreSQL refused a longer one with a 500 (tests/test_ops_access_log.py).
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    source = credentials or getattr(request, "data", request.POST)
    username = source.get(field)
    if not isinstance(username, str):
        return None
    return username.replace("\x00", " ")[:AXES_USERNAME_MAX]


# The sign-in page itself is checklists.identity.views.SignInView (releasegate/urls.py).
urlpatterns = [
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", needs_real_email(views.PasswordResetView.as_view()), name="password_reset"),
    path(
        "password_reset/done/",
        needs_real_email(views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        needs_real_email(views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        needs_real_email(views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]
