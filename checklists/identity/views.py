"""Sign-in pages: the password form (unless turned off) beside the button of the company's provider.

`authenticate` starts a sign-in (mozilla-django-oidc keeps state, nonce and the PKCE verifier
in the session); `callback` finishes it. Whatever the provider or a forger sends, the answer is
a page that says why the sign-in failed, with a 4xx (or 502 when the provider cannot be
reached), never a 500, and nobody is signed in.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import LoginView
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from . import discovery
from .backend import enabled

logger = logging.getLogger(__name__)


def _sign_in_page(request: HttpRequest, *, error: str, status: int) -> HttpResponse:
    return render(
        request,
        "registration/login.html",
        {**sign_in_context(), "sso_error": error, "form": None, "next": ""},
        status=status,
    )


def sign_in_context() -> dict:
    return {
        "sso_enabled": enabled(),
        "sso_name": settings.OIDC_PROVIDER_NAME,
        "password_login": settings.RELEASEGATE_PASSWORD_LOGIN,
    }


class SignInView(LoginView):
    """Django's sign-in page, with the provider's button; a password POST is refused when turned off."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **sign_in_context()}

    def post(self, request, *args, **kwargs):
        if not settings.RELEASEGATE_PASSWORD_LOGIN:
            return _sign_in_page(
                request,
                error="Passwords are turned off here: sign in with " + settings.OIDC_PROVIDER_NAME + ".",
                status=403,
            )
        return super().post(request, *args, **kwargs)


class AuthenticateView(OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)  # the endpoint is discovered at request time, not here
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery.document()["authorization_endpoint"]
        except discovery.DiscoveryError as exc:
            logger.warning("sign-in not started: %s", exc)
            return _sign_in_page(
                request, error=f"{settings.OIDC_PROVIDER_NAME} cannot be reached now; try again.", status=502
            )
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    def get(self, request):
        if not enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            reason = str(exc)
        except (requests.RequestException, discovery.DiscoveryError) as exc:
            # The token or key endpoint refused (a wrong PKCE verifier, a replayed code) or failed.
            logger.warning("sign-in refused by the provider: %s", exc)
            if request.user.is_authenticated:
                auth.logout(request)
            status = (
                400
                if isinstance(exc, requests.HTTPError)
                and exc.response is not None
                and exc.response.status_code < 500
                else 502
            )
            return _sign_in_page(
                request,
                error=f"{settings.OIDC_PROVIDER_NAME} did not confirm the sign-in; start again.",
                status=status,
            )
        logger.warning("sign-in refused: %s", reason)
        return _sign_in_page(
            request, error=f"The sign-in could not be verified ({reason}) Start again.", status=400
        )

    def login_failure(self):
        error = self.request.GET.get("error_description") or self.request.GET.get("error") or ""
        message = "The sign-in did not succeed"
        message += f": {error[:200]}." if error else " (the account may be inactive, or the sign-in expired)."
        return _sign_in_page(self.request, error=message + " Start again.", status=403)
