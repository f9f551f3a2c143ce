"""Forms of the browser pages. They shape input; the workflow decides what is allowed."""

from __future__ import annotations

from django import forms

from .errors import WorkflowError
from .models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    REPOSITORY_MAX,
    TITLE_MAX,
    VERSION_MAX,
    ChecklistItem,
    Release,
    SignOff,
    Team,
)

TEXTAREA = {"rows": 3}


class ReleaseEditForm(forms.Form):
    title = forms.CharField(max_length=TITLE_MAX)
    repository = forms.CharField(
        max_length=REPOSITORY_MAX,
        help_text="Where the code lives: https://, ssh://, git@host:path, file:// or a local path.",
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

    @classmethod
    def for_release(cls, release: Release, data=None) -> ReleaseEditForm:
        initial = {name: getattr(release, name) for name in cls.base_fields}
        return cls(data=data, initial=initial)

    def changed_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


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
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        if len(teams) == 1:  # evaluates the queryset once; the choices reuse its cache
            self.fields["team"].initial = teams[0]

    def workflow_data(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "team"}


class ItemForm(forms.Form):
    state = forms.ChoiceField(choices=ChecklistItem.State.choices)
    evidence = forms.CharField(max_length=EVIDENCE_MAX, required=False)
    reason = forms.CharField(max_length=EVIDENCE_MAX, required=False)


class SignOffForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOff.Decision.choices)
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
