"""releasegate's domain: teams, checklist templates, releases and what happens to them.

State changes never happen here: they live in checklists/workflow/. Models hold
data, invariants (constraints) and read-only predicates.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

SHA_VALIDATOR = RegexValidator(
    r"^[0-9a-f]{40}$", "Commit must be a full 40-character hexadecimal SHA (lower case).", "invalid_sha"
)
SLUG_VALIDATOR = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and dashes.")

MANAGERS_GROUP = "managers"

DEFAULT_PRODUCTION_CONFIG_GLOBS = [
    "**/.env.production",
    "**/.env.prod",
    "**/*prod*.{yml,yaml,json,toml,ini,cfg}",
    "**/settings/production.py",
    "**/settings/prod.py",
]

# Lengths of text fields, shared by forms, serializers and the workflow's checks.
TITLE_MAX = 200
VERSION_MAX = 64
REPOSITORY_MAX = 500
LONG_TEXT_MAX = 20_000
EVIDENCE_MAX = 4_000


def default_globs() -> list[str]:
    return list(DEFAULT_PRODUCTION_CONFIG_GLOBS)


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, validators=[SLUG_VALIDATOR])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_teams",
        help_text="Named owner of the team's exception queue.",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    required_approvals = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    production_config_globs = models.JSONField(default=default_globs, blank=True)
    probe_endpoints = models.JSONField(default=list, blank=True, help_text="URLs the auth probe may contact.")
    probe_public_allowlist = models.JSONField(
        default=list, blank=True, help_text="Endpoints that may answer anonymously (e.g. /healthz)."
    )
    secrets_allowlist = models.JSONField(
        default=list, blank=True, help_text="Path globs or finding fingerprints the secrets scan ignores."
    )
    template = models.ForeignKey(
        "ChecklistTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="teams",
        help_text="Empty: the built-in default template.",
    )
    # Rules beyond the gate (docs/rules.md).
    allow_commit_authors_to_review = models.BooleanField(
        default=False,
        help_text="Let authors or committers of commits in the release's range approve it (teams of one or two).",
    )
    approval_valid_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Approvals older than this many days no longer count for deploy. Empty: they never expire.",
    )
    followup_due_working_days = models.PositiveSmallIntegerField(
        default=5, help_text="Working days a hotfix waiver's follow-up is due after it is opened."
    )
    # Notification settings: a team address (a mailing list) told about the events chosen here.
    notify_email = models.EmailField(blank=True, help_text="A team address that receives the chosen events.")
    notify_events = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1), name="%(app_label)s_%(class)s_approvals_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person on a team: a member or reviewer for its releases, and perhaps one of its owners.

    `owner` is the owner role (docs/teams.md): it manages the team's settings, members and
    checklist on the team pages, beside the release role. Team.owner, the named owner of the
    exception queue, is always one of the owners (checklists/workflow/teams.py keeps it so).
    """

    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        REVIEWER = "reviewer", "Reviewer"

    class Source(models.TextChoices):
        LOCAL = "local", "Team page"
        IDENTITY_PROVIDER = "idp", "Identity provider"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    owner = models.BooleanField(
        default=False, help_text="Manages the team's settings, members and checklist."
    )
    # Who keeps this membership: the identity provider's groups (changed at each sign-in) or the
    # team's owners on the team page (sign-in leaves it alone). `groups` are the granting groups.
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.LOCAL)
    groups = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="%(app_label)s_%(class)s_one_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class ChecklistTemplate(models.Model):
    """One version of a checklist. A draft is edited by a team's owner; releases only ever start
    from published versions, and keep their own copy of its items."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(max_length=50, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    # The team whose owners edit this checklist on its pages; empty for shared ones (the default).
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="checklist_versions"
    )
    # What a draft started from: its diff is shown against it.
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug", "version"], name="%(app_label)s_%(class)s_unique_version"
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="%(app_label)s_%(class)s_one_default",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(status="draft"),
                name="%(app_label)s_%(class)s_one_draft_per_team",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(status="published"),
                name="%(app_label)s_%(class)s_default_is_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @classmethod
    def default(cls) -> ChecklistTemplate:
        return cls.objects.get(is_default=True)

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class TemplateItem(models.Model):
    class Category(models.TextChoices):
        CORRECTNESS = "correctness", "Correctness"
        SECURITY = "security", "Security"
        OPERATIONS = "operations", "Operations"
        DEPLOYMENT = "deployment", "Deployment"
        HANDOFF = "handoff", "Handoff"

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=100)
    category = models.CharField(max_length=32, choices=Category.choices)
    title = models.CharField(max_length=200)
    help = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    waivable = models.BooleanField(default=False)
    satisfied_by = models.CharField(max_length=40, default="manual")

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key


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

    @property
    def kind(self) -> str:
        return self.satisfied_by.partition(":")[0]

    @property
    def argument(self) -> str:
        return self.satisfied_by.partition(":")[2]

    @property
    def is_satisfied(self) -> bool:
        return self.state in {self.State.DONE, self.State.WAIVED, self.State.NOT_APPLICABLE}

    @property
    def depends_on_commit(self) -> bool:
        """Scan items (test reports included) judge a commit; manual and field items do not."""
        return self.kind == "scan"

    @property
    def evidence_about(self) -> dict:
        """What the item's evidence covers: a commit for scans, text and time for the rest."""
        if self.depends_on_commit:
            return {"kind": "commit", "commit": self.evidence_commit or None}
        return {"kind": "text", "text": self.evidence, "at": self.set_at.isoformat() if self.set_at else None}


class SignOffQuerySet(models.QuerySet):
    def current(self):
        return self.filter(stale=False)

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


class ScanRunQuerySet(models.QuerySet):
    def current(self):
        return self.filter(current=True)

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

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="scans")
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

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="test_reports")
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


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key and body."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    scope = models.CharField(max_length=255, help_text="Method and path the key was used on.")
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key", "scope"], name="%(app_label)s_%(class)s_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class EmailFailure(models.Model):
    """An email that could not be sent: logged as an error by the worker, listed for staff in the admin."""

    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=64, help_text="Which email: the task that tried to send it.")
    release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipients = models.JSONField(default=list, blank=True)
    subject = models.TextField(blank=True)
    error = models.TextField()
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} for #{self.release_id}: {self.error[:80]}"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditEvent.Immutable("Audit events are append-only.")

    def delete(self):
        raise AuditEvent.Immutable("Audit events are append-only.")


class AuditEvent(models.Model):
    class Immutable(Exception):
        pass

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    verb = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Hash chain: each event carries the hash of the one before it (manage.py verify_audit).
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.verb} #{self.release_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.Immutable("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.Immutable("Audit events are append-only.")


def checklist_digest(release: Release, items) -> str:
    """Digest of what an approval approves: the commit, versions and every item's state."""
    state = {
        "commit": release.commit,
        "versions": [release.version_before, release.version_after],
        "items": sorted((i.key, i.state, i.evidence, i.reason) for i in items if i.kind != "signoff"),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


# --- rules beyond the gate (docs/rules.md) ------------------------------------------


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


class ReviewerGroup(models.Model):
    """A named set of people (security, release-eng); a required group needs one approval."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="reviewer_groups")
    name = models.SlugField(max_length=50, validators=[SLUG_VALIDATOR])
    required = models.BooleanField(default=True, help_text="Each release needs one approval from this group.")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="reviewer_groups", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="%(app_label)s_%(class)s_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"


class SignOffSnapshot(models.Model):
    """The checklist as a reviewer saw it when signing off, to show what changed since."""

    signoff = models.OneToOneField(SignOff, on_delete=models.CASCADE, related_name="snapshot")
    state = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"snapshot of sign-off {self.signoff_id}"


class FreezeWindow(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="freeze_windows")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="%(app_label)s_%(class)s_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug} freeze {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"

    def as_dict(self) -> dict:
        return {
            "id": self.pk,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
        }


class FreezeOverride(models.Model):
    """A reviewer let a hotfix through a freeze window, and said why."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="freeze_overrides")
    window = models.ForeignKey(FreezeWindow, on_delete=models.PROTECT, related_name="overrides")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(max_length=EVIDENCE_MAX)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "window"], name="%(app_label)s_%(class)s_one_per_window"
            ),
        ]

    def __str__(self) -> str:
        return f"override of {self.window_id} for #{self.release_id}"


WEBHOOK_EVENTS = ("submitted", "approved", "rejected", "deployed", "rolled_back", "scan_failed")


def all_webhook_events() -> list[str]:
    return list(WEBHOOK_EVENTS)


class Webhook(models.Model):
    """A team's outbound URL. The secret signs each body (HMAC-SHA256); it is shown once, at creation."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, editable=False)
    events = models.JSONField(default=all_webhook_events)
    active = models.BooleanField(default=True)
    allow_private = models.BooleanField(
        default=False,
        help_text="Admins only: allow loopback, private, link-local and this app's own addresses.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "id"]

    def __str__(self) -> str:
        return f"{self.team.slug} -> {self.url}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(help_text="The exact JSON body that is signed and sent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} to hook {self.webhook_id}: {self.status}"


# --- registered repositories and what ships from them (docs/workflow.md) ------------------


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

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="range_overrides")
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


# --- identity and personal settings (docs/identity.md) --------------------------------------


class ExternalIdentity(models.Model):
    """A person as the company's identity provider knows them: issuer and subject, never a password."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="The groups of the last sign-in.")
    # The manager role came from a group (so a sign-in without that group takes it away again).
    manager_from_groups = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="%(app_label)s_%(class)s_unique_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


# Which events may email a person, each with the sentence the profile page shows.
EMAIL_EVENTS = {
    "review_requested": "A release of my team waits for my review",
    "approved": "My release was approved",
    "rejected": "My release was rejected",
    "scan_failed": "A scan failed or ended in error on my release",
    "rolled_back": "A release I wrote or approved was rolled back",
}


def all_email_events() -> list[str]:
    return list(EMAIL_EVENTS)


class EmailPreference(models.Model):
    """The events a person wants email about; without a row, every one of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    events = models.JSONField(default=all_email_events, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"email choices of {self.user}"


# The integrations' own rows (GitHub, GitLab, Slack) live beside their code.
from .integrations.models import (  # noqa: E402, F401
    DeploymentCheck,
    GitLabProject,
    IntegrationDelivery,
    SeenRequest,
    SlackAccount,
    SlackChannel,
    SlackMessage,
)
