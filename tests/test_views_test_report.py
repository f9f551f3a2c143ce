"""The release page takes a JUnit report from the browser, through the same workflow as the API."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists.models import AuditEvent, ScanRun, TestReport

GOOD = b'<testsuite name="s" tests="3" failures="0" errors="0"><testcase name="a"/><testcase name="b"/><testcase name="c"/></testsuite>'


def upload(client, release, content: bytes, name="junit.xml"):
    return client.post(
        reverse("checklists:upload_test_report", args=[release.pk]),
        {"report": SimpleUploadedFile(name, content, content_type="application/xml")},
    )


def test_a_member_uploads_a_report_and_the_tests_scan_judges_it(client, release, alice):
    client.force_login(alice)
    page = client.get(reverse("checklists:release", args=[release.pk])).content.decode()
    assert 'data-testid="test-report-upload"' in page and 'name="report"' in page
    answer = upload(client, release, GOOD)
    assert answer.status_code == 302 and answer["Location"].endswith("#scans")
    report = TestReport.objects.get(release=release)
    assert report.commit == release.commit and report.uploaded_by == alice and report.size == len(GOOD)
    assert ScanRun.objects.get(release=release, scanner="tests", current=True).status == "queued"
    assert AuditEvent.objects.filter(release=release, verb="test_report.uploaded").count() == 1
    followed = client.get(answer["Location"]).content.decode()
    assert "3 tests, 0 failure(s), 0 error(s)" in followed


def test_a_broken_or_missing_report_is_refused_and_nothing_is_stored(client, release, alice):
    client.force_login(alice)
    broken = upload(client, release, b"<testsuite")
    assert broken.status_code == 400 and "not well-formed" in broken.content.decode()
    entities = upload(client, release, b'<!DOCTYPE x [<!ENTITY a "b">]><testsuite tests="1"/>')
    assert entities.status_code == 400
    missing = client.post(reverse("checklists:upload_test_report", args=[release.pk]), {})
    assert missing.status_code == 400
    assert not TestReport.objects.exists()


def test_only_members_upload(client, release, carol, mallory):
    client.force_login(carol)  # a manager reads but changes nothing
    page = client.get(reverse("checklists:release", args=[release.pk])).content.decode()
    assert 'data-testid="test-report-upload"' not in page
    assert upload(client, release, GOOD).status_code == 403
    client.force_login(mallory)
    assert upload(client, release, GOOD).status_code == 404
    assert not TestReport.objects.exists()


def test_a_closed_release_takes_no_report(client, approved, alice):
    from checklists import workflow

    workflow.deploy(approved, actor=alice)
    client.force_login(alice)
    assert upload(client, approved, GOOD).status_code == 409
