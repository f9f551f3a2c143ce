"""What the integrations keep: their settings per team or repository, linked Slack accounts,
GitHub deployments waiting for an answer, requests already seen, and the delivery log.

Secrets (a GitLab token, a Slack bot token or incoming-webhook URL) are stored here,
server-side: forms take them write-only, nothing renders or logs them again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class GitLabProject(models.Model):
    """A registered repository that lives on GitLab: where its commit statuses go."""

    repository = models.OneToOneField(
        "checklists.Repository", on_delete=models.CASCADE, related_name="gitlab_project"
    )
    project = models.CharField(
        max_length=255,
        blank=True,
        help_text="Numeric id or path (group/project). Empty: the path of the repository's location.",
    )
    token = models.CharField(
        max_length=500, help_text="A project access token with the api scope (write-only here)."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "GitLab project"

    def __str__(self) -> str:
        return f"GitLab {self.project or self.repository.location}"


class SlackChannel(models.Model):
    """A team's Slack channel: an incoming webhook, or a bot token and channel (messages update)."""

    team = models.OneToOneField("checklists.Team", on_delete=models.CASCADE, related_name="slack_channel")
    webhook_url = models.CharField(
        max_length=500, blank=True, help_text="Incoming webhook URL (a secret; write-only here)."
    )
    bot_token = models.CharField(
        max_length=500, blank=True, help_text="Bot token (xoxb-…, a secret; write-only here)."
    )
    channel = models.CharField(max_length=100, blank=True, help_text="Channel id for the bot (C…).")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(webhook_url="") | (~Q(bot_token="") & ~Q(channel="")),
                name="%(app_label)s_%(class)s_webhook_or_bot",
            ),
        ]

    def __str__(self) -> str:
        return f"Slack for {self.team}"

    @property
    def uses_bot(self) -> bool:
        return bool(self.bot_token and self.channel)


class SlackMessage(models.Model):
    """A message releasegate posted about a release with a bot token; it is updated on changes."""

    release = models.ForeignKey("checklists.Release", on_delete=models.CASCADE, related_name="slack_messages")
    channel = models.CharField(max_length=100)
    ts = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "ts"], name="%(app_label)s_%(class)s_unique_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.ts} for #{self.release_id}"


class SlackAccount(models.Model):
    """A Slack user linked to a releasegate user: the only way a press in Slack acts as someone."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack")
    slack_user_id = models.CharField(max_length=32, unique=True)
    slack_team_id = models.CharField(max_length=32, blank=True, help_text="Empty: any workspace.")
    linked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} = Slack {self.slack_user_id}"


class DeploymentCheck(models.Model):
    """A GitHub deployment protection rule waiting for releasegate's answer (or answered)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the release"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    release = models.ForeignKey(
        "checklists.Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deployment_checks",
    )
    repository = models.CharField(max_length=200, help_text="owner/name on GitHub")
    sha = models.CharField(max_length=40)
    environment = models.CharField(max_length=255)
    installation_id = models.BigIntegerField()
    callback_url = models.CharField(max_length=500)
    delivery = models.CharField(max_length=64, help_text="GitHub's X-GitHub-Delivery id")
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["state", "release"], name="deploycheck_state_release")]

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha[:8]} → {self.environment}: {self.state}"


class SeenRequest(models.Model):
    """A signed inbound request already handled: the same one again is a replay (401)."""

    source = models.CharField(max_length=16)
    key = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="%(app_label)s_%(class)s_once"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.key[:12]}"


class IntegrationDelivery(models.Model):
    """One outbound call to GitHub, GitLab or Slack: the log, and the outbox the tasks work from.

    State-following kinds (commit statuses, Slack message updates) compute what they send when
    a worker claims them, from the release as it is then; one-shot kinds carry a fixed body.
    """

    class Kind(models.TextChoices):
        GITHUB_STATUS = "github_status", "GitHub commit status"
        GITHUB_DEPLOYMENT = "github_deployment", "GitHub deployment answer"
        GITLAB_STATUS = "gitlab_status", "GitLab commit status"
        SLACK_POST = "slack_post", "Slack message"
        SLACK_UPDATE = "slack_update", "Slack message update"
        SLACK_REPLY = "slack_reply", "Slack reply"
        SLACK_DIALOG = "slack_dialog", "Slack dialog"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (a newer one sends the same)"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    release = models.ForeignKey(
        "checklists.Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sha = models.CharField(max_length=40, blank=True)
    target = models.CharField(max_length=500, blank=True, help_text="Where it goes (no secrets).")
    deployment_check = models.ForeignKey(
        DeploymentCheck, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(
        SlackMessage, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    body = models.JSONField(default=dict, blank=True, help_text="What was (or will be) sent.")
    state = models.CharField(max_length=24, blank=True, help_text="The state a status carried.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a task was last sent for it (or its retry is due): the sweep re-sends overdue rows.
    enqueued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "integration deliveries"
        indexes = [
            models.Index(fields=["status", "enqueued_at"], name="integration_status_enqueued"),
            models.Index(fields=["release", "kind", "sha"], name="integration_release_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}: {self.status}"
