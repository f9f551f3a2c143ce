"""The provider's configuration, read from OIDC_ISSUER/.well-known/openid-configuration.

Read when a sign-in needs it (never at start-up: a provider that is down must not stop the
app from starting) and kept in the cache for an hour. The document must name the configured
issuer exactly (OpenID Connect Discovery 1.0, section 4.3) and, when it lists them, support
the code flow and S256 PKCE.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
CACHE_SECONDS = 3600


class DiscoveryError(Exception):
    """The provider's configuration could not be read or is not acceptable; the message says why."""


def _cache_key() -> str:
    return f"oidc-discovery:{settings.OIDC_ISSUER}"


def _check(document: dict) -> dict:
    if not isinstance(document, dict):
        raise DiscoveryError("the discovery document is not a JSON object")
    if document.get("issuer") != settings.OIDC_ISSUER:
        raise DiscoveryError(
            f"the provider calls itself {document.get('issuer')!r}, not OIDC_ISSUER {settings.OIDC_ISSUER!r}"
        )
    for name in REQUIRED:
        value = document.get(name)
        if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
            raise DiscoveryError(f"the discovery document has no usable {name}")
        if settings.PRODUCTION and urlsplit(value).scheme != "https":
            raise DiscoveryError(f"{name} is not https")
    methods = document.get("code_challenge_methods_supported")
    if methods is not None and "S256" not in methods:
        raise DiscoveryError("the provider does not support S256 PKCE")
    types = document.get("response_types_supported")
    if types is not None and "code" not in types:
        raise DiscoveryError("the provider does not support the authorization code flow")
    return document


def document() -> dict:
    """The checked discovery document (cached); raise DiscoveryError."""
    cached = cache.get(_cache_key())
    if cached is not None:
        return cached
    url = settings.OIDC_ISSUER + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        found = _check(response.json())
    except (requests.RequestException, ValueError) as exc:
        raise DiscoveryError(f"could not read {url}: {exc}") from None
    cache.set(_cache_key(), found, CACHE_SECONDS)
    return found
