"""The authentication backend: mozilla-django-oidc's code flow, with what it leaves unchecked checked.

mozilla-django-oidc (docs/identity.md says why this library) sends state, nonce and a S256
PKCE challenge, keeps them in the session, redeems the code and verifies the ID token's
signature, expiry and nonce. This subclass adds, from OpenID Connect Core 1.0:
- the ID token's `iss` is the configured issuer and `aud` holds our client id (3.1.3.7 steps
  2-3), with `azp` when there are several audiences (step 5); `exp`, `iat` and `sub` present;
- the UserInfo `sub` equals the ID token's `sub` (5.3.2);
- endpoints come from discovery (discovery.py), read when a sign-in needs them, so that
  loading this backend (every request of a signed-in person) makes no network call.

The person is then found or created, and their roles follow their groups, by
checklists/workflow/identity.py, in one transaction after every network call is done.
"""

from __future__ import annotations

import logging

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from ..policy.group_roles import groups_from_claim
from ..workflow.identity import sign_in_from_provider
from . import discovery

logger = logging.getLogger(__name__)

ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
CLOCK_SKEW_SECONDS = 60


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


class CompanyOIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # No super().__init__: it would read the endpoints (discovery, a network call) each time
        # Django loads this backend, which it does on every request of a signed-in person.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    @staticmethod
    def get_settings(attr, *args):
        if attr in ENDPOINTS:
            return discovery.document()[ENDPOINTS[attr]]
        return OIDCAuthenticationBackend.get_settings(attr, *args)

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # noqa: N802 - the library's attribute name
        return self.get_settings("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:  # noqa: N802
        return self.get_settings("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:  # noqa: N802
        return self.get_settings("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request, **kwargs):
        if not enabled():
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload, key):
        """Signature (the configured algorithm only), issuer, audience, expiry: refuse what fails."""
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.InvalidTokenError:
            raise SuspiciousOperation("The ID token cannot be read.") from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(
                f"The ID token is signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO}."
            )
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"The ID token was refused: {exc}.") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("The ID token names several audiences and another authorized party.")
        return claims

    def verify_token(self, token, **kwargs):
        if not isinstance(token, str) or not token:
            raise SuspiciousOperation("The provider sent no ID token.")
        try:
            return super().verify_token(token, **kwargs)
        except (KeyError, TypeError, ValueError, jwt.InvalidTokenError) as exc:
            # A key set or token header without the fields the library indexes (kid, alg, keys).
            raise SuspiciousOperation(f"The ID token could not be verified: {exc!r}.") from None

    def get_userinfo(self, access_token, id_token, payload):
        """The UserInfo claims of the ID token's subject, with the ID token's own claims beneath."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The UserInfo response is about another subject than the ID token.")
        return {**payload, **userinfo, "iss": payload["iss"], "sub": payload["sub"]}

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("The provider named no subject.")
        groups = groups_from_claim(claims.get(settings.OIDC_GROUPS_CLAIM))
        user = sign_in_from_provider(
            issuer=claims["iss"], subject=str(claims["sub"]), claims=claims, groups=groups
        )
        if user is None or not user.is_active:
            logger.warning("sign-in refused: the account of %s is inactive", claims["sub"])
            return None
        return user
