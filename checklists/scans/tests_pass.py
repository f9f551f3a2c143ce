"""tests: the JUnit report uploaded for the release commit has tests and no failures or errors."""

from __future__ import annotations

from checklists.errors import TooLarge
from checklists.scans.junit import InvalidReport, parse_junit

from .base import Finding, ScanResult, ScanTarget

REPORT = "junit-report"


def run(target: ScanTarget) -> ScanResult:
    if target.test_report is None:
        return ScanResult.from_findings(
            [
                Finding(
                    REPORT, None, "no-report", "", f"No JUnit report was uploaded for commit {target.commit}."
                )
            ]
        )
    if target.test_report_commit and target.test_report_commit != target.commit:
        return ScanResult.from_findings(
            [
                Finding(
                    REPORT,
                    None,
                    "report-for-other-commit",
                    "",
                    f"The report is for commit {target.test_report_commit}, not {target.commit}.",
                )
            ]  # fmt: skip
        )
    try:
        summary = parse_junit(target.test_report)
    except (InvalidReport, TooLarge) as exc:
        return ScanResult.from_findings([Finding(REPORT, None, "invalid-report", "", exc.message)])
    findings = []
    if summary.tests == 0:
        findings.append(Finding(REPORT, None, "no-tests", "", "The report holds no tests."))
    for suite in summary.suites:
        if suite.failures or suite.errors:
            findings.append(
                Finding(
                    suite.name or REPORT,
                    None,
                    "tests-failed",
                    f"{suite.failures} failure(s), {suite.errors} error(s) of {suite.tests}",
                    f"Suite {suite.name or '(unnamed)'} has failures or errors.",
                )
            )
    counts = {"tests": summary.tests, "failures": summary.failures, "errors": summary.errors,
              "skipped": summary.skipped, "suites": len(summary.suites)}  # fmt: skip
    return ScanResult.from_findings(findings, **counts)
