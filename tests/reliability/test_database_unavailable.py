"""A view that loses the database answers 503 with Retry-After (checklists/web/middleware.py), never 500.

The live version (a real PostgreSQL refusing connections, then recovering) is in
test_live_outages.py; here the database driver is made to fail at the edge.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from tests.helpers.api import client_for, release_url

pytestmark = pytest.mark.reliability


def failing_database(error):
    return mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=error("connection lost"))


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_answers_503_json_when_the_database_is_gone(release, alice, error):
    client = client_for(alice)
    with failing_database(error):
        response = client.get(release_url(release))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "unavailable"


def test_pages_answer_a_plain_503_page_when_the_database_is_gone(release, alice):
    client = Client()
    client.force_login(alice)
    with failing_database(OperationalError):
        response = client.get(f"/releases/{release.pk}/")
    assert response.status_code == 503
    assert b"briefly unavailable" in response.content


def test_other_errors_are_not_disguised_as_503(release, alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=ValueError("bug")):
        response = client.get(f"/releases/{release.pk}/")
    assert response.status_code == 500
