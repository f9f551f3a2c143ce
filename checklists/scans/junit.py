"""Read a JUnit XML report into counts, safely: no DTDs, no entities, a size cap.

The API parses an upload with `parse_junit` before storing it (a bad report is a 400
then and there); the `tests` scanner parses the stored report again to decide its item.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings

from ..errors import InvalidInput, TooLarge

COUNTS = ("tests", "failures", "errors", "skipped")
# Some tools write "3.0"; anything else that is not a whole, non-negative number is refused.
COUNT_RE = re.compile(r"^\s*(\d{1,9})(\.0*)?\s*$")


class InvalidReport(InvalidInput):
    code = "invalid_report"


@dataclass(frozen=True)
class SuiteSummary:
    name: str
    tests: int
    failures: int
    errors: int
    skipped: int


@dataclass(frozen=True)
class JUnitSummary:
    tests: int
    failures: int
    errors: int
    skipped: int
    suites: list[SuiteSummary] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """At least one test ran and none failed or errored."""
        return self.tests > 0 and self.failures == 0 and self.errors == 0

    def as_dict(self) -> dict:
        return asdict(self)


def max_report_bytes() -> int:
    return settings.RELEASEGATE_MAX_REPORT_BYTES


def parse_junit(data: bytes) -> JUnitSummary:
    """Count the tests of a JUnit XML report (`<testsuites>` or a bare `<testsuite>`)."""
    limit = max_report_bytes()
    if len(data) > limit:
        raise TooLarge(
            f"The report is {len(data)} bytes; at most {limit} bytes are accepted.",
            details={"max_bytes": limit},
        )
    if not data.strip():
        raise InvalidReport("The report is empty.")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise InvalidReport("The report uses a DTD or entities, which are refused.") from None
    except LookupError as exc:
        # The XML declaration names an encoding Python does not have (`encoding="bogus-enc"`).
        raise InvalidReport(
            f"The report declares an encoding that cannot be read: {str(exc)[:200]!r}."
        ) from None
    except (ParseError, ValueError) as exc:
        raise InvalidReport(f"The report is not well-formed XML: {str(exc)[:200]}.") from None

    tag = _local(root.tag)
    if tag == "testsuite":
        suites = [root]
    elif tag == "testsuites":
        suites = [child for child in root if _local(child.tag) == "testsuite"]
    else:
        raise InvalidReport(
            f"Not a JUnit report: the root element is <{tag}>, not <testsuites> or <testsuite>."
        )

    summaries = [_suite(suite) for suite in suites]
    totals = {name: sum(getattr(s, name) for s in summaries) for name in COUNTS}
    return JUnitSummary(**totals, suites=summaries)


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _suite(suite: Any) -> SuiteSummary:
    counted = _count_cases(suite)
    counts = {}
    for name in COUNTS:
        raw = suite.get(name)
        if raw is None and name == "skipped":
            raw = suite.get("skips")
        counts[name] = counted[name] if raw is None else _count_attribute(suite, name, raw)
    return SuiteSummary(name=(suite.get("name") or "")[:200], **counts)


def _count_attribute(suite: Any, name: str, raw: str) -> int:
    match = COUNT_RE.match(raw)
    if not match:
        suite_name = (suite.get("name") or "?")[:100]
        raise InvalidReport(f"Suite {suite_name!r} has an invalid {name} count {raw[:40]!r}.")
    return int(match.group(1))


def _count_cases(suite: Any) -> dict[str, int]:
    counts = dict.fromkeys(COUNTS, 0)
    for case in suite.iter():
        if _local(case.tag) != "testcase":
            continue
        counts["tests"] += 1
        children = {_local(child.tag) for child in case}
        if "failure" in children:
            counts["failures"] += 1
        elif "error" in children:
            counts["errors"] += 1
        elif "skipped" in children:
            counts["skipped"] += 1
    return counts
