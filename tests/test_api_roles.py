"""Who may do what, on every endpoint: one table.

Roles: anonymous, mallory (outsider), alice (member, the author), bob (reviewer),
carol (manager: reads everything, changes nothing), ci (pipeline member, never a reviewer).
"""

import pytest

from checklists import workflow

from .helpers.api import API, client_for, release_url
from .helpers.factories import release_data
from .helpers.release_steps import tick_manual_items

ROLES = ["anonymous", "mallory", "alice", "bob", "carol", "ci_user"]
XML = b"<testsuite tests='1'><testcase/></testsuite>"


def manual_key(release):
    return release.items.filter(satisfied_by="manual").first().key


# endpoint -> (fixture it needs, how to call it)
ENDPOINTS = {
    "list": ("team", lambda r: ("get", f"{API}/releases/", None)),
    "create": (
        "team",
        lambda r: ("post", f"{API}/releases/", {"team": "payments", **release_data()}),
    ),
    "detail": ("release", lambda r: ("get", release_url(r), None)),
    "item": (
        "release",
        lambda r: ("patch", release_url(r, f"items/{manual_key(r)}/"), {"state": "done", "evidence": "x"}),
    ),
    "submit": ("ready_draft", lambda r: ("post", release_url(r, "submit/"), None)),
    "signoff": ("in_review", lambda r: ("post", release_url(r, "signoffs/"), {"decision": "approve"})),
    "scans": ("release", lambda r: ("post", release_url(r, "scans/"), {"scanners": ["secrets"]})),
    "test-report": ("release", lambda r: ("xml", release_url(r, "test-reports/"), XML)),
    "gate": ("approved", lambda r: ("get", release_url(r, f"gate/?commit={r.commit}"), None)),
    "deploy": ("approved", lambda r: ("post", release_url(r, "deploy/"), {})),
    "rollback": ("deployed", lambda r: ("post", release_url(r, "rollback/"), {"reason": "errors"})),
    "cancel": ("release", lambda r: ("post", release_url(r, "cancel/"), {})),
    "exceptions": ("team", lambda r: ("get", f"{API}/exceptions/", None)),
    "templates": ("team", lambda r: ("get", f"{API}/templates/", None)),
    "schema": ("team", lambda r: ("get", f"{API}/schema/", None)),
}

#                anonymous mallory alice bob  carol ci
EXPECTED = {
    "list":        (401, 200, 200, 200, 200, 200),
    "create":      (401, 403, 201, 201, 403, 201),
    "detail":      (401, 404, 200, 200, 200, 200),
    "item":        (401, 404, 200, 200, 403, 200),
    "submit":      (401, 404, 200, 200, 403, 200),
    "signoff":     (401, 404, 403, 201, 403, 403),
    "scans":       (401, 404, 202, 202, 403, 202),
    "test-report": (401, 404, 201, 201, 403, 201),
    "gate":        (401, 404, 200, 200, 200, 200),
    "deploy":      (401, 404, 200, 200, 403, 200),
    "rollback":    (401, 404, 200, 200, 403, 200),
    "cancel":      (401, 404, 200, 200, 403, 200),
    "exceptions":  (401, 200, 200, 200, 200, 200),
    "templates":   (401, 200, 200, 200, 200, 200),
    "schema":      (401, 200, 200, 200, 200, 200),
}  # fmt: skip
CODES = {("signoff", "alice"): "self_review", ("signoff", "carol"): "not_a_reviewer"}
CASES = [(endpoint, role, EXPECTED[endpoint][ROLES.index(role)]) for endpoint in ENDPOINTS for role in ROLES]


@pytest.fixture
def ready_draft(release, alice):
    tick_manual_items(release, alice)
    return release


@pytest.fixture
def deployed(approved, alice):
    workflow.deploy(approved, actor=alice)
    return approved


def test_every_endpoint_is_in_the_table():
    assert set(ENDPOINTS) == set(EXPECTED)


@pytest.mark.parametrize(("endpoint", "role", "expected"), CASES, ids=[f"{e}-{r}" for e, r, _ in CASES])
def test_role_matrix(request, endpoint, role, expected):
    needs, call = ENDPOINTS[endpoint]
    target = request.getfixturevalue(needs)
    user = None if role == "anonymous" else request.getfixturevalue(role)
    request.getfixturevalue("carol")  # the manager exists in every case
    request.getfixturevalue("mallory")
    method, url, body = call(target)
    client = client_for(user)
    if method == "xml":
        response = client.generic("POST", url, body, content_type="application/xml")
    else:
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
    if (endpoint, role) in CODES:
        assert response.json()["error"]["code"] == CODES[endpoint, role]
    if endpoint == "signoff" and role == "ci_user":
        assert response.json()["error"]["code"] == "not_a_reviewer"


def test_outsider_list_is_empty_even_with_filters(release, mallory):
    body = client_for(mallory).get(f"{API}/releases/?team=payments").json()
    assert body["count"] == 0 and body["results"] == []


def test_manager_reads_every_team(release, carol):
    assert client_for(carol).get(f"{API}/releases/").json()["count"] == 1
