"""Forms of the team pages. They shape input into what checklists/workflow/teams.py and
checklist_versions.py take; the workflow validates again and decides."""

from __future__ import annotations

from datetime import UTC

from django import forms

from ..models import REPOSITORY_MAX, WEBHOOK_EVENTS, Membership, TemplateItem
from ..models.satisfied_by import choices as satisfied_by_choices

LINES = {"rows": 3, "spellcheck": "false"}
EVENT_CHOICES = [(e, e.replace("_", " ")) for e in WEBHOOK_EVENTS]


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class TeamCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="As people call it: Payments, Identity platform.")
    slug = forms.SlugField(
        max_length=50,
        label="Short name",
        help_text="Lower-case letters, digits and dashes; used in URLs and the API (payments).",
    )


class ApprovalRulesForm(forms.Form):
    required_approvals = forms.IntegerField(
        min_value=1, max_value=20, help_text="Approvals from reviewers (never the author) a release needs."
    )
    approval_valid_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        label="Approvals expire after (days)",
        help_text="Empty: approvals never expire. An expired approval no longer counts for deploy.",
    )
    allow_commit_authors_to_review = forms.BooleanField(
        required=False,
        label="People who wrote commits in a release may approve it",
        help_text="Off by default: only for teams of one or two. Only staff may turn it on (it lets a "
        "reviewer approve code he wrote); owners may turn it off.",
    )
    followup_due_working_days = forms.IntegerField(
        min_value=1, max_value=60, label="Hotfix follow-ups due after (working days)"
    )


class ProbesForm(forms.Form):
    probe_endpoints = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=LINES),
        label="Endpoints the auth probe checks",
        help_text="One URL a line. Each must refuse an anonymous request (401/403 or a redirect to sign-in).",
    )
    probe_public_allowlist = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=LINES),
        label="Public allowlist",
        help_text="One a line: endpoints that may answer anonymously, as a path (/healthz) or a whole URL.",
    )
    production_config_globs = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs=LINES),
        label="Production configuration files",
        help_text="One glob a line; the config scans read these files.",
    )

    def workflow_data(self) -> dict:
        return {name: lines(value) for name, value in self.cleaned_data.items()}


class NotificationsForm(forms.Form):
    notify_email = forms.EmailField(
        required=False,
        label="Team address",
        help_text="A mailing list told about the events below. Each person chooses their own on their profile.",
    )
    notify_events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple, label="Events"
    )


class MemberAddForm(forms.Form):
    user = forms.CharField(
        max_length=254,
        label="Person",
        help_text="User name or email address. People get an account when they first sign in.",
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
    owner = forms.BooleanField(required=False, label="Owner (manages this team)")


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(
        choices=Membership.Role.choices, widget=forms.Select(attrs={"class": "form-select form-select-sm"})
    )
    owner = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )


class QueueOwnerForm(forms.Form):
    user = forms.ChoiceField(label="Named owner of the exception queue and follow-ups")

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(m.user_id, m.user.get_username()) for m in owners]


class ReviewerGroupForm(forms.Form):
    name = forms.SlugField(max_length=50, help_text="security, release-eng, ...")
    required = forms.BooleanField(
        required=False, initial=True, label="Required: each release needs one approval from this group"
    )
    members = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(m.user_id, m.user.get_username()) for m in people]


class RepositoryForm(forms.Form):
    location = forms.CharField(
        max_length=REPOSITORY_MAX,
        help_text="https://host/path or ssh://git@host/path (or git@host:path) on an allowed git host.",
    )
    username = forms.CharField(max_length=100, required=False, help_text="https: the token's user name.")
    token = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="https: a read-only token. Stored server-side, never shown again.",
    )
    ssh_key = forms.CharField(
        max_length=20_000,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        label="SSH deploy key",
        help_text="ssh: a read-only private deploy key. Stored server-side, never shown again.",
    )


class FreezeForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Starts (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label="Ends (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(max_length=500, help_text="Shown to everyone whose deploy it stops.")

    def clean(self):
        data = super().clean()
        # The page says UTC: read naive input as UTC, whatever the server's time zone.
        for name in ("starts_at", "ends_at"):
            value = data.get(name)
            if value is not None:
                data[name] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return data


class WebhookCreateForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, initial=list(WEBHOOK_EVENTS), widget=forms.CheckboxSelectMultiple
    )


class ChecklistItemForm(forms.Form):
    key = forms.CharField(
        max_length=100, help_text="Stable id, e.g. security.pen-test. Keep it across versions."
    )
    category = forms.ChoiceField(choices=TemplateItem.Category.choices)
    title = forms.CharField(max_length=200)
    help = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    satisfied_by = forms.ChoiceField(label="Satisfied by", choices=satisfied_by_choices)
    required = forms.BooleanField(required=False, initial=True)
    waivable = forms.BooleanField(required=False, label="Waivable on a hotfix")


class ChecklistImportForm(forms.Form):
    file = forms.FileField(
        label="YAML file",
        help_text="The format of `manage.py export_template`; it replaces the draft's items.",
    )
