"""Scan runs of a release, the test reports they judge, and the secrets scanner's findings per blob."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .limits import SHA_VALIDATOR


class ScanRunQuerySet(models.QuerySet):
    def exceptions(self):
        """Current runs that ended in error: the teams' exception queues."""
        return self.filter(current=True, status=ScanRun.Status.ERROR)


class ScanRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"

    FINAL = (Status.PASSED, Status.FAILED, Status.ERROR)

    release = models.ForeignKey("Release", on_delete=models.CASCADE, related_name="scans")
    scanner = models.CharField(max_length=32)
    # What the run reads: the release's repository and commit when it was requested.
    repository = models.ForeignKey(
        "Repository", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    commit = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    findings = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # False once a forced re-run replaces this run; history is kept.
    current = models.BooleanField(default=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_scans",
        help_text="Who handles this run if it lands in the exception queue.",
    )
    correlation_id = models.CharField(max_length=64, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScanRunQuerySet.as_manager()

    class Meta:
        ordering = ["queued_at", "id"]
        indexes = [models.Index(fields=["status", "queued_at"], name="scanrun_status_queued")]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "scanner", "commit"],
                condition=Q(current=True),
                name="%(app_label)s_%(class)s_one_current_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scanner}@{self.commit[:8]} {self.status}"


class TestReport(models.Model):
    """A JUnit XML report uploaded for a release commit; the tests scan reads it."""

    release = models.ForeignKey("Release", on_delete=models.CASCADE, related_name="test_reports")
    commit = models.CharField(max_length=40, validators=[SHA_VALIDATOR])
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    __test__ = False  # not a pytest test class

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"report {self.sha256[:8]} for #{self.release_id}"


class SecretBlobFindings(models.Model):
    """What the secrets scanner found in one git blob under one rules version.

    A blob id is the hash of its content, so the answer holds in every commit and repository
    that has the blob: a new commit is scanned for its new blobs only. Excerpts are redacted.
    """

    blob = models.CharField(max_length=64, help_text="git object id (SHA-1 or SHA-256)")
    context = models.CharField(
        max_length=16, blank=True, help_text="path kind and options that change the answer"
    )
    rules_version = models.CharField(max_length=64)
    binary = models.BooleanField(default=False)
    findings = models.JSONField(default=list, blank=True, help_text="[line, rule, redacted excerpt] lists")
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["blob", "context", "rules_version"], name="%(app_label)s_%(class)s_one_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.blob[:12]} ({self.rules_version})"
