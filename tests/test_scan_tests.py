"""The tests scanner: an uploaded JUnit report for the release commit decides the item."""

from checklists.scans import tests_pass as tests_scanner
from checklists.scans.base import ScanTarget

SHA = "a" * 40
OTHER = "b" * 40

GREEN = b"""<?xml version="1.0"?>
<testsuites><testsuite name="unit" tests="3" failures="0" errors="0" skipped="1">
<testcase name="a"/><testcase name="b"/><testcase name="c"><skipped/></testcase></testsuite></testsuites>"""
RED = b"""<testsuites>
<testsuite name="unit" tests="2" failures="0" errors="0"><testcase name="a"/><testcase name="b"/></testsuite>
<testsuite name="api" tests="2" failures="1" errors="1"><testcase name="c"><failure/></testcase>
<testcase name="d"><error/></testcase></testsuite></testsuites>"""
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuite name="x" tests="1">&lol2;</testsuite>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<testsuite name="x" tests="1">&e;</testsuite>"""


def run(report, report_commit=SHA):
    return tests_scanner.run(ScanTarget(commit=SHA, test_report=report, test_report_commit=report_commit))


def test_green_report_passes_with_counts():
    result = run(GREEN)
    assert result.status == "passed"
    assert (result.summary["tests"], result.summary["skipped"], result.summary["suites"]) == (3, 1, 1)


def test_failures_and_errors_fail_naming_the_suite():
    result = run(RED)
    assert result.status == "failed"
    assert [(f.file, f.rule, f.excerpt) for f in result.findings] == [
        ("api", "tests-failed", "1 failure(s), 1 error(s) of 2")
    ]


def test_empty_suite_fails():
    result = run(b'<testsuite name="none" tests="0"/>')
    assert [f.rule for f in result.findings] == ["no-tests"]


def test_missing_report_fails_with_a_clear_message():
    result = run(None)
    assert result.status == "failed"
    assert result.findings[0].rule == "no-report"
    assert SHA in result.findings[0].message


def test_report_for_another_commit_does_not_count():
    result = run(GREEN, report_commit=OTHER)
    assert [f.rule for f in result.findings] == ["report-for-other-commit"]


def test_entity_bomb_and_external_entities_are_refused():
    for report in (BOMB, EXTERNAL):
        result = run(report)
        assert [f.rule for f in result.findings] == ["invalid-report"]
        assert "root:" not in result.findings[0].message


def test_twelve_megabyte_report_is_refused_as_too_large():
    huge = b"<testsuite>" + b"<testcase name='x'/>" * (12 * 1024 * 1024 // 20) + b"</testsuite>"
    result = run(huge)
    assert [f.rule for f in result.findings] == ["invalid-report"]
    assert "at most" in result.findings[0].message


def test_not_xml_fails_cleanly():
    result = run(b"\xff\xfe not xml")
    assert [f.rule for f in result.findings] == ["invalid-report"]
