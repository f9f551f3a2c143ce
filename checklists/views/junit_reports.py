"""Upload a JUnit XML report from the release page (the API has always taken one).

The same workflow as the API (`workflow.store_test_report`): the report is checked, stored
for the release's commit, and the `tests` scan re-runs to judge it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import workflow
from ..errors import InvalidInput, TooLarge, WorkflowError
from ..scans.junit import max_report_bytes
from .common import readable_release, refusal


class TestReportUploadForm(forms.Form):
    report = forms.FileField(label="JUnit XML report", help_text="For the release's commit; at most 10 MB.")

    __test__ = False  # not a pytest test class


@login_required
@require_POST
def upload_test_report(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    form = TestReportUploadForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise InvalidInput("Choose a JUnit XML file to upload.", details={"report": ["Required."]})
        upload = form.cleaned_data["report"]
        limit = max_report_bytes()
        if upload.size > limit:
            raise TooLarge(f"The report is over {limit} bytes.", details={"max_bytes": limit})
        result = workflow.store_test_report(release.pk, actor=request.user, content=upload.read(limit + 1))
    except WorkflowError as exc:
        return refusal(request, exc)
    summary = result.summary
    messages.success(
        request,
        f"Report stored for {release.commit[:8]}: {summary.tests} tests, {summary.failures} failure(s), "
        f"{summary.errors} error(s). The tests scan judges it.",
    )
    return redirect(reverse("checklists:release", args=[release.pk]) + "#scans")
