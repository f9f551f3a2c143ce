"""A release and what happens to it: its checklist, sign-offs, waiver follow-ups and contributors.

State changes never happen here: they live in checklists/workflow/. Models hold
data, invariants (constraints) and read-only predicates.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from . import satisfied_by
from .checklist_templates import ChecklistTemplate, TemplateItem
from .limits import EVIDENCE_MAX, LONG_TEXT_MAX, SHA_VALIDATOR, TITLE_MAX, VERSION_MAX
from .scans import ScanRun
from .teams import MANAGERS_GROUP, FreezeWindow, Membership, ReviewerGroup, Team


class ReleaseQuerySet(models.QuerySet):
    def with_related(self):
        return self.select_related("team", "author", "repository")

    def with_facts(self, viewer=None, *, now=None):
        # `viewer`: a user or a user id (checklists/policy/prepared.py compiles this with marker ids).
        """Read, with each release, what its rules would otherwise ask in queries of their own.

        checklists/policy/abilities.py `Facts` uses these when present: production's commit (the
        repository's latest deployment other than the release), whether the team has required
        reviewer groups and an active freeze window, and the viewer's role and manager group.
        They are the same questions asked as subqueries of one statement, so one row answers them.
        """
        from django.db.models import Exists, OuterRef, Subquery
        from django.utils import timezone

        now = now or timezone.now()
        production = (
            Release.objects.filter(repository_id=OuterRef("repository_id"), status=Release.Status.DEPLOYED)
            .exclude(pk=OuterRef("pk"))
            .order_by("-deployed_at", "-id")
        )
        qs = self.annotate(
            fact_production_id=Subquery(production.values("pk")[:1]),
            fact_production_commit=Subquery(production.values("commit")[:1]),
            fact_has_groups=Exists(ReviewerGroup.objects.filter(team_id=OuterRef("team_id"), required=True)),
            fact_freeze_now=Exists(
                FreezeWindow.objects.filter(team_id=OuterRef("team_id"), starts_at__lte=now, ends_at__gt=now)
            ),
        )
        current_approvals = SignOff.objects.filter(
            release_id=OuterRef("pk"), stale=False, decision=SignOff.Decision.APPROVE
        ).order_by()
        counting = current_approvals.exclude(reviewer_id=OuterRef("author_id")).filter(
            reviewer_id__in=Membership.objects.filter(
                team_id=OuterRef(OuterRef("team_id")), role=Membership.Role.REVIEWER
            ).values("user_id")
        )
        qs = qs.annotate(
            # For caches of what a release shows (checklists/web/release_cache.py): answers that can
            # change without a release write change these.
            fact_counting=Subquery(
                counting.values("release_id")
                .annotate(n=models.Count("reviewer_id", distinct=True))
                .values("n")[:1]
            ),
            fact_oldest_approval=Subquery(
                current_approvals.values("release_id").annotate(t=models.Min("created_at")).values("t")[:1]
            ),
            fact_newest_approval=Subquery(
                current_approvals.values("release_id").annotate(t=models.Max("created_at")).values("t")[:1]
            ),
            fact_scans_pending=Exists(
                ScanRun.objects.filter(
                    release_id=OuterRef("pk"),
                    current=True,
                    status__in=(ScanRun.Status.QUEUED, ScanRun.Status.RUNNING),
                )
            ),
            fact_team_debt=Exists(
                FollowUp.objects.filter(team_id=OuterRef("team_id"), closed_at__isnull=True).exclude(
                    release__status=Release.Status.CANCELLED
                )
            ),
        )
        viewer_id = viewer if isinstance(viewer, int) else getattr(viewer, "pk", None)
        if viewer_id is not None:
            from django.contrib.auth import get_user_model

            qs = qs.annotate(
                fact_viewer_role=Subquery(
                    Membership.objects.filter(team_id=OuterRef("team_id"), user_id=viewer_id)
                    .order_by("id")
                    .values("role")[:1]
                ),
                fact_viewer_is_manager=Exists(
                    get_user_model().groups.through.objects.filter(
                        user_id=viewer_id, group__name=MANAGERS_GROUP
                    )
                ),
            )
        return qs


class Release(models.Model):
    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard"
        HOTFIX = "hotfix", "Hotfix"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        DEPLOYED = "deployed", "Deployed"
        ROLLED_BACK = "rolled_back", "Rolled back"
        CANCELLED = "cancelled", "Cancelled"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="releases")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="releases")
    title = models.CharField(max_length=TITLE_MAX)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STANDARD)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="releases")
    repository = models.ForeignKey("Repository", on_delete=models.PROTECT, related_name="releases")
    commit = models.CharField(max_length=40, validators=[SHA_VALIDATOR])
    # What ships, as a worker read it: the range from the team's last deployed commit of this
    # repository to `commit`. Set by the workflow whenever either end moves (workflow/ranges.py).
    commit_range = models.ForeignKey(
        "CommitRange", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version_before = models.CharField(max_length=VERSION_MAX, blank=True)
    version_after = models.CharField(max_length=VERSION_MAX, blank=True)
    description = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    rollback_plan = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    deployment_steps = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    known_limitations = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    rollback_reason = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    # Bumped by every workflow change: a cheap version for caches and ETags.
    revision = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "status"], name="release_team_status"),
            models.Index(fields=["status", "created_at"], name="release_status_created"),
            models.Index(fields=["repository", "status", "deployed_at"], name="release_repo_deployed"),
            # The history's sortable columns, each with the id that breaks its ties
            # (checklists/web/filters.py): a numbered page far down one of these orders walks
            # an index instead of sorting every readable release (docs/benchmarks.md).
            models.Index(fields=["title", "id"], name="release_title_id"),
            models.Index(fields=["kind", "id"], name="release_kind_id"),
            models.Index(fields=["status", "id"], name="release_status_id"),
            models.Index(fields=["approved_at", "id"], name="release_approved_id"),
            models.Index(fields=["deployed_at", "id"], name="release_deployed_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(commit__regex=r"^[0-9a-f]{40}$"), name="%(app_label)s_%(class)s_commit_is_sha"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open_for_changes(self) -> bool:
        return self.status in {self.Status.DRAFT, self.Status.IN_REVIEW, self.Status.APPROVED}

    def field_value(self, name: str) -> str:
        if name == "versions":
            both = self.version_before.strip() and self.version_after.strip()
            return f"{self.version_before} -> {self.version_after}" if both else ""
        return getattr(self, name).strip()


class ChecklistItemQuerySet(models.QuerySet):
    """Items by how they are satisfied (checklists/models/satisfied_by.py)."""

    def manual(self):
        return self.filter(satisfied_by=satisfied_by.MANUAL)

    def signoff(self):
        return self.filter(satisfied_by=satisfied_by.SIGNOFF)

    def fields(self):
        return self.filter(satisfied_by__startswith=satisfied_by.field(""))

    def scans(self, scanners=None):
        """Scan items; only those of `scanners` (names) if given."""
        if scanners is None:
            return self.filter(satisfied_by__startswith=satisfied_by.scan(""))
        return self.filter(satisfied_by__in=[satisfied_by.scan(name) for name in scanners])


class ChecklistItem(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        WAIVED = "waived", "Waived"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=100)
    category = models.CharField(max_length=32, choices=TemplateItem.Category.choices)
    title = models.CharField(max_length=200)
    help = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    waivable = models.BooleanField(default=False)
    satisfied_by = models.CharField(max_length=40)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    evidence = models.TextField(blank=True, max_length=EVIDENCE_MAX)
    reason = models.TextField(blank=True, max_length=EVIDENCE_MAX)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(null=True, blank=True)
    scan = models.ForeignKey("ScanRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the evidence was about: the commit a scan or test report judged (empty for text evidence).
    evidence_commit = models.CharField(max_length=40, blank=True)

    objects = ChecklistItemQuerySet.as_manager()

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["release", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(
                condition=~Q(state__in=["waived", "not_applicable"]) | ~Q(reason=""),
                name="%(app_label)s_%(class)s_skip_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.state}"

    # How the item is satisfied (checklists/models/satisfied_by.py); a release's `kind` is another thing.
    @property
    def is_manual(self) -> bool:
        return satisfied_by.kind(self.satisfied_by) == satisfied_by.MANUAL

    @property
    def is_field(self) -> bool:
        return satisfied_by.kind(self.satisfied_by) == satisfied_by.FIELD

    @property
    def is_scan(self) -> bool:
        """Scan items (test reports included) judge a commit; manual and field items do not."""
        return satisfied_by.kind(self.satisfied_by) == satisfied_by.SCAN

    @property
    def is_signoff(self) -> bool:
        return satisfied_by.kind(self.satisfied_by) == satisfied_by.SIGNOFF

    @property
    def argument(self) -> str:
        """The release field of a `field:` item, the scanner of a `scan:` item."""
        return satisfied_by.argument(self.satisfied_by)

    @property
    def is_satisfied(self) -> bool:
        return self.state in {self.State.DONE, self.State.WAIVED, self.State.NOT_APPLICABLE}

    @property
    def evidence_about(self) -> dict:
        """What the item's evidence covers: a commit for scans, text and time for the rest."""
        if self.is_scan:
            return {"kind": "commit", "commit": self.evidence_commit or None}
        return {"kind": "text", "text": self.evidence, "at": self.set_at.isoformat() if self.set_at else None}


class SignOffQuerySet(models.QuerySet):
    def current_approvals(self):
        return self.filter(stale=False, decision=SignOff.Decision.APPROVE)


class SignOff(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="signoffs")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs")
    # A copy of the release's author, always taken from the release on save, so that
    # the database itself can refuse a self-review (the constraint below).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True, max_length=LONG_TEXT_MAX)
    commit = models.CharField(max_length=40)
    checklist_digest = models.CharField(max_length=64)
    # The range of commits the reviewer was shown, and the relation to production they
    # acknowledged when the release ships an older or diverged commit (docs/workflow.md).
    commit_range = models.ForeignKey(
        "CommitRange", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_relation = models.CharField(max_length=16, blank=True)
    stale = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SignOffQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reviewer=F("author")), name="%(app_label)s_%(class)s_not_self_review"
            ),
            # One current decision per reviewer: a second one needs the first to go stale.
            models.UniqueConstraint(
                fields=["release", "reviewer"],
                condition=Q(stale=False),
                name="%(app_label)s_%(class)s_one_current_per_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.decision}s #{self.release_id}"

    def save(self, *args, **kwargs):
        self.author_id = Release.objects.values_list("author_id", flat=True).get(pk=self.release_id)
        super().save(*args, **kwargs)


class SignOffSnapshot(models.Model):
    """The checklist as a reviewer saw it when signing off, to show what changed since."""

    signoff = models.OneToOneField(SignOff, on_delete=models.CASCADE, related_name="snapshot")
    state = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"snapshot of sign-off {self.signoff_id}"


def checklist_digest(release: Release, items) -> str:
    """Digest of what an approval approves: the commit, versions and every item's state."""
    state = {
        "commit": release.commit,
        "versions": [release.version_before, release.version_after],
        "items": sorted((i.key, i.state, i.evidence, i.reason) for i in items if not i.is_signoff),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


class FollowUpQuerySet(models.QuerySet):
    def open(self):
        """Open follow-ups that count: their hotfix was not cancelled."""
        return self.filter(closed_at__isnull=True).exclude(release__status=Release.Status.CANCELLED)


class FollowUp(models.Model):
    """Waiver debt: an item waived on a hotfix, to be done properly and closed with evidence."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="followups")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="followups")
    item_key = models.CharField(max_length=100)
    item_title = models.CharField(max_length=200)
    waiver_reason = models.TextField(blank=True, max_length=EVIDENCE_MAX)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups")
    due_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.TextField(blank=True, max_length=EVIDENCE_MAX)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "item_key"], name="%(app_label)s_%(class)s_one_per_item"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | ~Q(evidence=""),
                name="%(app_label)s_%(class)s_closed_has_evidence",
            ),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.item_key} of #{self.release_id}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Contribution(models.Model):
    """Someone other than the author changed what a release ships; they may not approve it."""

    class Kind(models.TextChoices):
        COMMIT = "commit", "changed the commit"
        REPOSITORY = "repository", "changed the repository"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="contributions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "user", "kind"], name="%(app_label)s_%(class)s_once_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()} of #{self.release_id}"
