"""One error format under /api/, never HTML; Idempotency-Key replays; exceptions, templates, schema."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from checklists import workflow
from checklists.models import AuditEvent, IdempotencyRecord, Release, ScanRun, SignOff, TestReport
from checklists.policy import gate as gate_rules

from .helpers.api import API, assert_error, client_for, release_url
from .helpers.factories import TeamFactory, UserFactory, add_member, register, release_data

# --- error format --------------------------------------------------------------


def test_anonymous_is_a_401_with_a_token_challenge(release):
    response = APIClient().get(f"{API}/releases/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_a_401(release):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(client.get(f"{API}/releases/"), 401, "authentication_failed")


@pytest.mark.parametrize("pk", ["999999", "99999999999999999999999999", "0"])
def test_unknown_and_huge_ids_are_json_404s(alice, pk):
    assert_error(client_for(alice).get(f"{API}/releases/{pk}/"), 404, "not_found")
    assert_error(client_for(alice).get(f"{API}/releases/{pk}/gate/?commit=" + "a" * 40), 404)


@pytest.mark.parametrize(
    "path", ["/api/v1/releases/abc/", "/api/v1/nothing/", "/api/v2/releases/", "/api/", "/api/v1/releases"]
)
def test_unknown_api_paths_are_json_404s_not_html(alice, path):
    assert_error(client_for(alice).get(path), 404, "not_found")
    assert_error(client_for(alice).post(path, {}, format="json"), 404, "not_found")


def test_a_wrong_method_is_a_405_with_allow(release, alice):
    response = client_for(alice).delete(release_url(release))
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_options_is_a_json_405(release, alice):
    assert_error(client_for(alice).options(release_url(release, "cancel/")), 405, "method_not_allowed")


def test_a_session_post_to_an_unknown_path_is_a_json_404_not_a_csrf_page(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert_error(client.post("/api/v1/releases/x/submit/"), 404, "not_found")


def test_csrf_is_enforced_for_session_clients_in_the_error_format(release, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(release_url(release, "submit/"))
    assert_error(response, 403, "forbidden")


def test_a_session_user_reads_the_api(release, alice):
    client = Client()
    client.force_login(alice)
    assert client.get(release_url(release)).json()["id"] == release.pk


def test_an_unexpected_error_under_api_is_a_json_500(release, alice, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(gate_rules, "gate_status", boom)
    client = client_for(alice)
    client.raise_request_exception = False
    response = client.get(release_url(release, "gate/?commit=" + release.commit))
    assert_error(response, 500, "server_error")


def test_pages_outside_the_api_keep_html_404s(alice):
    client = Client()
    client.force_login(alice)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


# --- Idempotency-Key -----------------------------------------------------------------


def post_create(client, key, **overrides):
    body = {"team": "payments", **release_data(**{"commit": "b" * 40, **overrides})}
    return client.post(f"{API}/releases/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replays_the_first_answer_and_changes_nothing(team, alice):
    client = client_for(alice)
    first = post_create(client, "key-1")
    events = AuditEvent.objects.count()
    second = post_create(client, "key-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Release.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_the_same_key_with_another_body_is_a_422(team, alice):
    client = client_for(alice)
    post_create(client, "key-1")
    assert_error(post_create(client, "key-1", title="Something else"), 422, "idempotency_key_reused")
    assert Release.objects.count() == 1


def test_keys_are_per_user_and_per_path(team, alice, ci_user):
    post_create(client_for(alice), "shared")
    assert post_create(client_for(ci_user), "shared").status_code == 201
    assert Release.objects.count() == 2


def test_a_refused_request_is_not_recorded_and_can_be_retried(team, alice):
    client = client_for(alice)
    assert post_create(client, "k", commit="nope").status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert post_create(client, "k").status_code == 201


def test_a_sign_off_is_replayed_not_repeated(in_review, bob):
    client = client_for(bob)
    url = release_url(in_review, "signoffs/")
    first = client.post(url, {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    second = client.post(url, {"decision": "approve"}, format="json", HTTP_IDEMPOTENCY_KEY="s1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert SignOff.objects.count() == 1
    # without the key, the second decision is refused by the workflow as usual
    assert_error(client.post(url, {"decision": "approve"}, format="json"), 409)


def test_a_test_report_upload_is_replayed_not_stored_twice(release, ci_user):
    client = client_for(ci_user)
    url = release_url(release, "test-reports/")
    xml = b"<testsuite tests='1'><testcase/></testsuite>"
    first = client.generic("POST", url, xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="r1")
    second = client.generic("POST", url, xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="r1")
    assert first.status_code == second.status_code == 201
    assert TestReport.objects.count() == 1 and ScanRun.objects.count() == 1
    other = client.generic(
        "POST", url, xml.replace(b"1", b"2"), content_type="application/xml", HTTP_IDEMPOTENCY_KEY="r1"
    )
    assert_error(other, 422, "idempotency_key_reused")


@pytest.mark.parametrize("key", ["", " ", "x" * 256])
def test_a_malformed_key_is_a_400(team, alice, key):
    assert_error(post_create(client_for(alice), key), 400, "invalid")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises writers; the race needs PostgreSQL"
)
def test_two_racing_requests_with_one_key_create_one_release():
    from checklists.models import Membership

    alice = UserFactory(username="alice")
    team = TeamFactory(slug="payments", owner=alice)
    add_member(team, alice, Membership.Role.MEMBER)
    register(team, release_data()["repository"])
    barrier, results = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            results.append(post_create(client_for(alice), "race").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201, 201]
    assert Release.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- exception queue and templates ------------------------------------------------------


def errored_scan(release, scanner="secrets", error="repository unreachable"):
    run = workflow.request_scans(release, actor=None, scanners=[scanner])[0]
    workflow.claim_scan(run.pk)
    workflow.record_scan_result(run.pk, status="error", error=error)
    return run


def test_exception_queue_lists_errored_scans_with_team_owner_and_age(release, alice, mallory, carol):
    run = errored_scan(release)
    ScanRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(hours=2))
    passed = workflow.request_scans(release, actor=None, scanners=["debug_off"])[0]
    workflow.claim_scan(passed.pk)
    workflow.record_scan_result(passed.pk, status="passed")
    body = client_for(alice).get(f"{API}/exceptions/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["release"], row["team"], row["owner"], row["scanner"]) == (
        run.pk,
        release.pk,
        "payments",
        "bob",
        "secrets",
    )
    assert row["error"] == "repository unreachable" and row["age_seconds"] >= 7200
    assert client_for(carol).get(f"{API}/exceptions/").json()["count"] == 1
    assert client_for(mallory).get(f"{API}/exceptions/").json()["count"] == 0


def test_a_rerun_takes_the_scan_out_of_the_exception_queue(release, alice):
    errored_scan(release)
    workflow.request_scans(release, actor=alice, scanners=["secrets"], force=True)
    assert client_for(alice).get(f"{API}/exceptions/").json()["count"] == 0


def test_templates_are_readable_with_their_items(team, alice):
    client = client_for(alice)
    listing = client.get(f"{API}/templates/").json()
    default = next(t for t in listing["results"] if t["is_default"])
    detail = client.get(f"{API}/templates/{default['id']}/").json()
    assert len(detail["items"]) == 19
    assert {"key", "category", "title", "required", "waivable", "satisfied_by"} <= set(detail["items"][0])
    assert_error(client.get(f"{API}/templates/99999/"), 404)


# --- schema and docs ------------------------------------------------------------------


def test_schema_is_json_for_signed_in_users_only(alice):
    schema = client_for(alice).get(f"{API}/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/releases/{id}/gate/" in paths
    gate = paths["/api/v1/releases/{id}/gate/"]["get"]["responses"]
    assert {"200", "409", "404"} <= set(gate)
    assert "202" in paths["/api/v1/releases/{id}/scans/"]["post"]["responses"]
    assert_error(APIClient().get(f"{API}/schema/"), 401)


def test_docs_page_uses_local_assets(alice):
    client = Client()
    client.force_login(alice)
    page = client.get(f"{API}/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html and "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()
    assert Client().get(f"{API}/docs/").status_code == 302  # to the login page


def test_outsider_gets_an_empty_list_and_404s(release, mallory):
    client = client_for(mallory)
    assert client.get(f"{API}/releases/").json()["results"] == []
    assert_error(client.get(release_url(release)), 404, "not_found")
