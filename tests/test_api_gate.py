"""The deploy gate and test-report uploads."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from checklists import workflow
from checklists.models import AuditEvent, Membership, ScanRun, TestReport

from .helpers.api import assert_error, client_for, release_url
from .helpers.factories import add_member, sha

GREEN = b"<testsuite name='unit' tests='2' failures='0'><testcase/><testcase/></testsuite>"


def gate(client, release, commit):
    url = release_url(release, "gate/")
    return client.get(url if commit is None else f"{url}?commit={commit}")


# --- gate ----------------------------------------------------------------------


def test_gate_opens_for_the_approved_commit(approved, ci_user):
    response = gate(client_for(ci_user), approved, approved.commit)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["open"] is True
    assert (body["release"], body["commit"]) == (approved.pk, approved.commit)
    assert body["approved_at"] and body["approvals"] == 1 == body["required_approvals"]


def test_gate_accepts_an_upper_case_sha(approved, ci_user):
    assert gate(client_for(ci_user), approved, approved.commit.upper()).status_code == 200


def test_gate_is_closed_for_another_commit(approved, ci_user):
    response = gate(client_for(ci_user), approved, sha())
    assert response.status_code == 409
    body = response.json()
    assert body["open"] is False
    assert any("is not the release's commit" in reason for reason in body["reasons"])
    assert body["error"]["code"] == "gate_closed"


@pytest.mark.parametrize("commit", [None, "", "main", "abc123"])
def test_gate_without_a_full_sha_is_closed_with_a_reason(approved, ci_user, commit):
    response = gate(client_for(ci_user), approved, commit)
    assert response.status_code == 409
    assert any("40-character SHA" in reason for reason in response.json()["reasons"])


def test_gate_is_closed_while_in_review(in_review, ci_user):
    body = gate(client_for(ci_user), in_review, in_review.commit).json()
    assert body["open"] is False
    assert body["reasons"] == ["The release is in review, not approved."]


def test_gate_closes_when_a_change_makes_the_approval_stale(approved, alice, ci_user):
    key = approved.items.filter(satisfied_by="manual").first().key
    workflow.set_item_state(approved, key, actor=alice, state="done", evidence="changed after approval")
    response = gate(client_for(ci_user), approved, approved.commit)
    assert response.status_code == 409
    assert "not approved" in " ".join(response.json()["reasons"])


def test_gate_closes_when_the_approving_reviewer_loses_the_role(approved, bob, team, ci_user):
    add_member(team, bob, Membership.Role.MEMBER)
    response = gate(client_for(ci_user), approved, approved.commit)
    assert response.status_code == 409
    assert response.json()["reasons"] == ["It has 0 current approval(s); team payments requires 1."]


def test_gate_is_closed_once_deployed(approved, alice, ci_user):
    workflow.deploy(approved, actor=alice)
    assert gate(client_for(ci_user), approved, approved.commit).status_code == 409


def test_gate_of_another_teams_release_is_a_404(approved, mallory):
    assert_error(gate(client_for(mallory), approved, approved.commit), 404, "not_found")


# --- test reports ------------------------------------------------------------------


def upload_raw(client, release, data, *, commit=None, content_type="application/xml", **extra):
    url = release_url(release, "test-reports/") + (f"?commit={commit}" if commit else "")
    return client.generic("POST", url, data, content_type=content_type, **extra)


def test_raw_xml_upload_is_stored_and_queues_the_tests_scan(release, ci_user):
    response = upload_raw(client_for(ci_user), release, GREEN)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["summary"]["tests"] == 2 and body["summary"]["failures"] == 0
    assert body["report"]["commit"] == release.commit
    assert [(s["scanner"], s["status"]) for s in body["scans"]] == [("tests", "queued")]
    report = TestReport.objects.get()
    assert bytes(report.content) == GREEN and report.uploaded_by == ci_user and report.size == len(GREEN)
    assert AuditEvent.objects.filter(release=release, verb="test_report.uploaded").count() == 1


def test_multipart_upload_with_a_commit_field(release, ci_user):
    response = client_for(ci_user).post(
        release_url(release, "test-reports/"),
        {"file": SimpleUploadedFile("junit.xml", GREEN, "application/xml"), "commit": release.commit},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert TestReport.objects.get().commit == release.commit


def test_a_new_report_reruns_a_finished_tests_scan(release, ci_user):
    client = client_for(ci_user)
    first = upload_raw(client, release, GREEN).json()["scans"][0]["id"]
    workflow.claim_scan(first)
    workflow.record_scan_result(first, status="passed")
    second = upload_raw(client, release, GREEN.replace(b"unit", b"unit2")).json()["scans"][0]["id"]
    assert second != first
    assert ScanRun.objects.get(pk=second).status == "queued"


def test_a_report_for_another_commit_is_stored_without_a_scan(release, ci_user):
    other = sha()
    response = upload_raw(client_for(ci_user), release, GREEN, commit=other)
    assert response.status_code == 201
    assert response.json()["scans"] == []
    assert TestReport.objects.get().commit == other


def test_a_report_with_a_short_commit_is_a_400(release, ci_user):
    response = upload_raw(client_for(ci_user), release, GREEN, commit="abc123")
    assert "commit" in assert_error(response, 400)["details"]
    assert not TestReport.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<testsuite>",
        b'{"tests": 1}',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite name="&e;"/>',
    ],
)
def test_a_bad_report_is_a_400_and_nothing_is_stored(release, ci_user, data):
    assert_error(upload_raw(client_for(ci_user), release, data), 400, "invalid_report")
    assert not TestReport.objects.exists()
    assert not ScanRun.objects.exists()


def test_a_report_over_the_cap_is_a_413(release, ci_user, settings):
    settings.RELEASEGATE_MAX_REPORT_BYTES = 1000
    big = b"<testsuite>" + b"<testcase/>" * 200 + b"</testsuite>"
    assert_error(upload_raw(client_for(ci_user), release, big), 413, "too_large")
    assert not TestReport.objects.exists()


def test_an_oversized_multipart_upload_is_refused_before_parsing(release, ci_user, settings):
    settings.RELEASEGATE_MAX_REPORT_BYTES = 10
    response = client_for(ci_user).post(
        release_url(release, "test-reports/"),
        {"file": SimpleUploadedFile("junit.xml", b"x" * (70 * 1024))},
        format="multipart",
    )
    assert_error(response, 413, "too_large")


def test_the_parser_reads_no_more_than_the_cap(release, ci_user, settings):
    """A raw body is read up to the cap plus one byte, never the whole body."""
    settings.RELEASEGATE_MAX_REPORT_BYTES = 100
    reads = []

    class Body:
        def __init__(self):
            self.left = 10_000_000

        def read(self, size=-1):
            reads.append(size)
            size = self.left if size is None or size < 0 else min(size, self.left)
            self.left -= size
            return b"x" * size

    from checklists.api.junit_reports import XMLReportParser
    from checklists.errors import TooLarge

    with pytest.raises(TooLarge):
        XMLReportParser().parse(Body())
    assert reads == [101]


def test_a_report_with_an_unsupported_content_type_is_a_415(release, ci_user):
    response = upload_raw(client_for(ci_user), release, b"{}", content_type="application/json")
    assert_error(response, 415, "unsupported_media_type")


def test_uploading_to_a_deployed_release_is_a_409(approved, alice, ci_user):
    workflow.deploy(approved, actor=alice)
    assert_error(upload_raw(client_for(ci_user), approved, GREEN), 409, "invalid_transition")


def test_a_manager_cannot_upload_a_report(release, carol):
    assert_error(upload_raw(client_for(carol), release, GREEN), 403, "forbidden")
