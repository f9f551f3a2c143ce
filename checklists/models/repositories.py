"""Registered repositories and what ships from them (docs/workflow.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .limits import EVIDENCE_MAX, REPOSITORY_MAX
from .teams import Team


class Repository(models.Model):
    """A git repository registered for a team: the only places its releases come from.

    The location is checked when registered and again before every fetch
    (checklists/git/locations.py). Credentials are kept here, server-side: they are never shown
    again, never logged, and git gets them only from the askpass helper, for this host only.
    """

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="repositories")
    location = models.CharField(max_length=REPOSITORY_MAX, help_text="https://, ssh:// or user@host:path.")
    username = models.CharField(max_length=100, blank=True, help_text="For https: the token's user name.")
    token = models.CharField(max_length=1000, blank=True, help_text="For https: a read-only access token.")
    ssh_key = models.TextField(blank=True, max_length=20_000, help_text="For ssh: a read-only deploy key.")
    archived = models.BooleanField(default=False, help_text="Archived repositories take no new releases.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "location"]
        verbose_name_plural = "repositories"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "location"], name="%(app_label)s_%(class)s_unique_location"
            ),
        ]

    def __str__(self) -> str:
        return self.location

    @property
    def has_credentials(self) -> bool:
        return bool(self.token or self.ssh_key)


class CommitRange(models.Model):
    """What ships: the commits and files between two commits of a repository, as a worker read them.

    Rows are created `pending` by the workflow and filled by the `read_commit_range` task;
    pages, the API, sign-off and the gate read only these rows (DESIGN rule 8).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Being read"
        READY = "ready", "Read"
        UNREADABLE = "unreadable", "Could not be read"

    class Relation(models.TextChoices):
        NEW = "new", "Nothing deployed yet"
        SAME = "same", "The deployed commit"
        AHEAD = "ahead", "Ahead of production"
        BEHIND = "behind", "Older than production"
        DIVERGED = "diverged", "Diverged from production"

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="ranges")
    base = models.CharField(max_length=40, blank=True, help_text="Empty: no earlier deployment.")
    head = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    relation = models.CharField(max_length=16, choices=Relation.choices, blank=True)
    ahead_by = models.PositiveIntegerField(null=True, blank=True)
    behind_by = models.PositiveIntegerField(null=True, blank=True)
    commits = models.JSONField(default=list, blank=True)
    files = models.JSONField(default=list, blank=True)
    truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"], name="commitrange_status_requested")]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "base", "head"], name="%(app_label)s_%(class)s_unique_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.base[:8] or 'root'}..{self.head[:8]} ({self.status})"

    @property
    def is_older_or_diverged(self) -> bool:
        return self.relation in (self.Relation.BEHIND, self.Relation.DIVERGED)


class RangeOverride(models.Model):
    """A reviewer let a hotfix be approved although what ships could not be read, and said why."""

    release = models.ForeignKey("Release", on_delete=models.PROTECT, related_name="range_overrides")
    commit_range = models.ForeignKey(CommitRange, on_delete=models.PROTECT, related_name="overrides")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=EVIDENCE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "commit_range"], name="%(app_label)s_%(class)s_one_per_range"
            ),
        ]

    def __str__(self) -> str:
        return f"range override for #{self.release_id}"
