"""parse_junit: counts from attributes or test cases; hostile or broken XML refused."""

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from checklists.errors import TooLarge
from checklists.scans.junit import InvalidReport, parse_junit

SUITES = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="unit" tests="3" failures="1" errors="0" skipped="1">
    <testcase name="a"/><testcase name="b"><failure message="x"/></testcase>
    <testcase name="c"><skipped/></testcase>
  </testsuite>
  <testsuite name="api" tests="2" failures="0" errors="1">
    <testcase name="d"/><testcase name="e"><error/></testcase>
  </testsuite>
</testsuites>"""


def test_testsuites_counts_come_from_attributes_and_add_up():
    summary = parse_junit(SUITES)
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (5, 1, 1, 1)
    assert [s.name for s in summary.suites] == ["unit", "api"]
    assert summary.suites[1].skipped == 0  # no attribute: counted from the (un-skipped) cases
    assert not summary.passed


def test_bare_testsuite_without_attributes_is_counted_from_its_cases():
    summary = parse_junit(
        b"<testsuite name='s'><testcase/><testcase><failure/></testcase>"
        b"<testcase><error/></testcase><testcase><skipped/></testcase><testcase/></testsuite>"
    )
    assert (summary.tests, summary.failures, summary.errors, summary.skipped) == (5, 1, 1, 1)


def test_a_green_report_passes_and_an_empty_one_does_not():
    assert parse_junit(b"<testsuite tests='2'><testcase/><testcase/></testsuite>").passed
    assert not parse_junit(b"<testsuites/>").passed


def test_attribute_counts_win_over_counted_cases():
    summary = parse_junit(b"<testsuite tests='10' failures='0'><testcase/></testsuite>")
    assert summary.tests == 10


def test_pytest_style_float_counts_are_read():
    assert parse_junit(b"<testsuite tests='4.0'/>").tests == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<testsuite><testcase></testsuite>",
        b"<html><body>oops</body></html>",
        b"<testsuite tests='-1'/>",
        b"<testsuite tests='many'/>",
        b"<testsuite tests='nan'/>",
    ],
)
def test_broken_or_foreign_documents_are_invalid_reports(data):
    with pytest.raises(InvalidReport) as caught:
        parse_junit(data)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_report"


def test_billion_laughs_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<testsuite name='&lol2;'/>"
    )
    with pytest.raises(InvalidReport):
        parse_junit(bomb)


def test_external_entities_are_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<testsuite name='&xxe;'/>"
    )
    with pytest.raises(InvalidReport):
        parse_junit(xxe)


def test_a_report_over_the_cap_is_too_large(settings):
    settings.RELEASEGATE_MAX_REPORT_BYTES = 100
    with pytest.raises(TooLarge) as caught:
        parse_junit(b"<testsuite>" + b" " * 100 + b"</testsuite>")
    assert caught.value.status == 413


# The XML declaration names the encoding; Python looks it up, and an unknown or non-text
# codec raised LookupError (a 500 on upload, an errored scan later).
ODD_ENCODINGS = ["bogus-enc", "rot13", "hex", "base64", "zlib", "uu", "mbcs", "utf-7", "utf-32",
                 "idna", "undefined", "x" * 300, "utf-8\x00"]  # fmt: skip


def declared(encoding: str) -> bytes:
    text = f'<?xml version="1.0" encoding="{encoding}"?><testsuite tests="1"><testcase name="a"/></testsuite>'
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("encoding", ODD_ENCODINGS, ids=lambda e: e[:20])
def test_a_report_declaring_an_encoding_that_cannot_be_read_is_an_invalid_report(encoding):
    with pytest.raises(InvalidReport) as caught:
        parse_junit(declared(encoding))
    assert caught.value.status == 400
    assert len(caught.value.message) < 400  # the echoed name is capped


def test_a_report_in_a_real_single_byte_encoding_is_read():
    assert parse_junit(declared("latin-1")).tests == 1


@given(encoding=st.text(min_size=1, max_size=40).filter(lambda e: '"' not in e))
@hypothesis_settings(max_examples=200, deadline=None)
def test_any_declared_encoding_gives_a_summary_or_an_invalid_report(encoding):
    try:
        assert parse_junit(declared(encoding)).tests == 1
    except InvalidReport as refused:
        assert refused.status == 400


def test_uploading_a_report_with_a_bogus_encoding_is_a_400(release, alice):
    from tests.helpers.api import assert_error, client_for, release_url

    response = client_for(alice).generic(
        "POST", release_url(release, "test-reports/"), declared("bogus-enc"), content_type="application/xml"
    )
    assert_error(response, 400, "invalid_report")
    assert not release.test_reports.exists()
