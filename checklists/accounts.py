"""Sign-in URLs, with password reset only where email really leaves the machine.

Django's reset flow emails a link whose token lets anyone who holds it choose the user's
password. With the console, file or local-memory email backend (the default when
EMAIL_HOST is unset) that email lands in a log or a file, readable by whoever reads logs,
so there the reset pages answer 404 and no link is ever made. Set EMAIL_HOST (the SMTP
backend) and they work. The access log never writes a reset token either
(checklists/middleware.py). docs/configuration.md explains the choice.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth import views
from django.http import Http404
from django.urls import path

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
    return settings.EMAIL_BACKEND not in LOCAL_EMAIL_BACKENDS


def needs_real_email(view):
    """A 404 unless email is sent to a mail server (read at each request, so tests can switch it)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not password_reset_enabled():
            raise Http404("Password reset is off: releasegate sends no email here (set EMAIL_HOST).")
        return view(request, *args, **kwargs)

    return guarded


urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
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
