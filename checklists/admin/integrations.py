"""Admin for the integrations: team and repository settings (secrets write-only), the logs."""

from django import forms
from django.contrib import admin

from ..integrations import slack
from ..models.integrations import (
    DeploymentCheck,
    GitLabProject,
    IntegrationDelivery,
    SlackAccount,
    SlackChannel,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def secret_field(max_length: int) -> forms.CharField:
    """A secret is typed, never shown again: an empty field keeps the stored value."""
    return forms.CharField(
        required=False, max_length=max_length, widget=forms.PasswordInput(render_value=False)
    )


class KeepSecretsForm(forms.ModelForm):
    secret_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.secret_fields:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class GitLabProjectForm(KeepSecretsForm):
    secret_fields = ("token",)
    token = secret_field(500)

    class Meta:
        model = GitLabProject
        fields = ["repository", "project", "token", "active"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("token"):
            self.add_error("token", "A project access token is required.")
        return cleaned


@admin.register(GitLabProject)
class GitLabProjectAdmin(admin.ModelAdmin):
    form = GitLabProjectForm
    list_display = ["repository", "project", "active", "created_at"]
    list_select_related = ["repository"]


class SlackChannelForm(KeepSecretsForm):
    secret_fields = ("webhook_url", "bot_token")
    webhook_url = secret_field(500)
    bot_token = secret_field(500)

    class Meta:
        model = SlackChannel
        fields = ["team", "webhook_url", "bot_token", "channel", "active"]

    def clean(self):
        cleaned = super().clean()
        url = cleaned.get("webhook_url")
        if url:
            try:
                slack.check_hooks_url(url)
            except slack.Refused:
                self.add_error("webhook_url", "An incoming webhook URL is on Slack's hooks host.")
        if not url and not (cleaned.get("bot_token") and cleaned.get("channel")):
            raise forms.ValidationError("Give an incoming webhook URL, or a bot token and a channel id.")
        return cleaned


@admin.register(SlackChannel)
class SlackChannelAdmin(admin.ModelAdmin):
    form = SlackChannelForm
    list_display = ["team", "channel", "active", "created_at"]


@admin.register(SlackAccount)
class SlackAccountAdmin(ReadOnly):
    """Links are made by their owners (profile page) or with manage.py link_slack, audited."""

    list_display = ["user", "slack_user_id", "slack_team_id", "linked_at"]
    search_fields = ["user__username", "slack_user_id"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeploymentCheck)
class DeploymentCheckAdmin(ReadOnly):
    list_display = ["id", "repository", "sha", "environment", "release", "state", "created_at", "answered_at"]
    list_filter = ["state"]
    exclude = ["callback_url"]


@admin.register(IntegrationDelivery)
class IntegrationDeliveryAdmin(ReadOnly):
    list_display = [
        "id",
        "kind",
        "release",
        "sha",
        "state",
        "status",
        "attempts",
        "response_status",
        "created_at",
    ]
    list_filter = ["kind", "status"]
