"""Helpers for the API tests: token clients and URLs."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

API = "/api/v1"


def client_for(user=None) -> APIClient:
    """A client that authenticates the way pipelines do: `Authorization: Token <key>`."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def release_url(release, suffix: str = "") -> str:
    pk = release if isinstance(release, int) else release.pk
    return f"{API}/releases/{pk}/{suffix}"


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response is a `status` in the API's one error format (with `code`, if given)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]
