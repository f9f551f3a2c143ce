"""Scan runs and uploaded test reports, read-only: scans are re-run from the release page."""

from django.contrib import admin

from ..models import ScanRun, TestReport
from .common import ReadOnlyAdmin


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "scanner", "commit", "status", "attempts", "current", "queued_at"]
    list_filter = ["status", "scanner", "current"]
    list_select_related = ["release"]


@admin.register(TestReport)
class TestReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "commit", "size", "uploaded_by", "created_at"]
    exclude = ["content"]
