"""Forms of the browser pages. They shape input; the workflow decides what is allowed."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from ..errors import WorkflowError
from ..models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    TITLE_MAX,
    VERSION_MAX,
    ChecklistItem,
    Release,
    Repository,
    SignOff,
    Team,
)

TEXTAREA = {"rows": 3}


class RepositoryChoiceField(forms.ModelChoiceField):
    show_team = False

    def label_from_instance(self, obj: Repository) -> str:
        return f"{obj.team.slug}: {obj.location}" if self.show_team else obj.location


class ReleaseEditForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    repository = RepositoryChoiceField(
        queryset=Repository.objects.none(),
        empty_label=None,
        help_text="One of the team's registered repositories (its owner registers them).",
    )
    commit = forms.CharField(
        max_length=40,
        help_text="The full 40-character SHA that will be deployed (not a branch).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    version_before = forms.CharField(max_length=VERSION_MAX, required=False, label="Version before")
    version_after = forms.CharField(max_length=VERSION_MAX, required=False, label="Version after")
    description = forms.CharField(
        max_length=LONG_TEXT_MAX, required=False, widget=forms.Textarea(attrs=TEXTAREA)
    )
    rollback_plan = forms.CharField(
        max_length=LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="How to go back, who decides, how long it takes. Ticks the rollback item.",
    )
    deployment_steps = forms.CharField(
        max_length=LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="The steps, in order. Ticks the deployment-steps item.",
    )
    known_limitations = forms.CharField(
        max_length=LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="What this release does not do yet. Ticks the known-limitations item.",
    )

    def __init__(self, *args, repositories=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["repository"]
        field.queryset = repositories if repositories is not None else Repository.objects.none()
        field.show_team = False

    @classmethod
    def for_release(cls, release: Release, data=None) -> ReleaseEditForm:
        initial = {name: getattr(release, name) for name in cls.base_fields}
        initial["repository"] = release.repository_id
        repositories = Repository.objects.filter(team_id=release.team_id).filter(
            Q(archived=False) | Q(pk=release.repository_id)
        )
        return cls(data=data, initial=initial, repositories=repositories)

    def changed_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.changed_data}
        if "repository" in values:
            values["repository"] = values["repository"].pk
        return values


class ReleaseForm(ReleaseEditForm):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    kind = forms.ChoiceField(
        choices=Release.Kind.choices,
        initial=Release.Kind.STANDARD,
        widget=forms.RadioSelect,
        help_text="A hotfix may waive waivable items, with a reason, during an incident.",
    )

    field_order = ["team", "title", "kind", "repository", "commit"]

    def __init__(self, *args, teams, **kwargs):
        repositories = Repository.objects.filter(team__in=teams, archived=False).select_related("team")
        super().__init__(*args, repositories=repositories, **kwargs)
        self.fields["team"].queryset = teams
        self.fields["repository"].show_team = True
        if len(teams) == 1:  # evaluates the queryset once; the choices reuse its cache
            self.fields["team"].initial = teams[0]
            self.fields["repository"].show_team = False

    def workflow_data(self) -> dict:
        data = {name: value for name, value in self.cleaned_data.items() if name != "team"}
        data["repository"] = data["repository"].pk  # the workflow checks it belongs to the team
        return data


class ItemForm(forms.Form):
    state = forms.ChoiceField(choices=ChecklistItem.State.choices)
    evidence = forms.CharField(max_length=EVIDENCE_MAX, required=False)
    reason = forms.CharField(max_length=EVIDENCE_MAX, required=False)


class SignOffForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOff.Decision.choices)
    acknowledge_relation = forms.ChoiceField(
        choices=[("", "—"), ("behind", "behind"), ("diverged", "diverged")], required=False
    )
    comment = forms.CharField(
        max_length=LONG_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="Required when you reject: say what must change.",
    )


class DeployForm(forms.Form):
    version_after = forms.CharField(max_length=VERSION_MAX, required=False, label="Version deployed")
    commit = forms.CharField(
        max_length=40,
        required=False,
        help_text="Optional: the SHA you deployed, checked against the approved one.",
    )


class RollbackForm(forms.Form):
    reason = forms.CharField(max_length=LONG_TEXT_MAX, widget=forms.Textarea(attrs=TEXTAREA))


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=LONG_TEXT_MAX, required=False, widget=forms.Textarea(attrs=TEXTAREA))


def add_workflow_errors(form: forms.Form, exc: WorkflowError) -> None:
    """Put a refusal beside the fields it names, and its message above the form."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for name, messages in details.items():
        if name in form.fields:
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(name, str(message))
            placed = True
    if not placed:
        form.add_error(None, exc.message)


def form_errors(form: forms.Form) -> dict[str, list[str]]:
    """A form's errors in the workflow's `details` shape: {field: [message, ...]}."""
    return {name: [str(message) for message in messages] for name, messages in form.errors.items()}
