"""A team and its people, its reviewer groups and its deploy freezes."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from .limits import EVIDENCE_MAX, SLUG_VALIDATOR

MANAGERS_GROUP = "managers"

DEFAULT_PRODUCTION_CONFIG_GLOBS = [
    "**/.env.production",
    "**/.env.prod",
    "**/*prod*.{yml,yaml,json,toml,ini,cfg}",
    "**/settings/production.py",
    "**/settings/prod.py",
]


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

    release = models.ForeignKey("Release", on_delete=models.PROTECT, related_name="freeze_overrides")
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
