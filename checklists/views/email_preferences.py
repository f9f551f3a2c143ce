"""The profile page's email section: each person chooses which events email them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..errors import InvalidInput, WorkflowError
from ..models import EMAIL_EVENTS
from ..workflow.preferences import set_email_preferences
from .common import refusal


class EmailPreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        choices=list(EMAIL_EVENTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me when",
    )


@login_required
@require_POST
def save_email_preferences(request: HttpRequest) -> HttpResponse:
    form = EmailPreferencesForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput("Choose among the listed events.", details=dict(form.errors))
        set_email_preferences(actor=request.user, events=form.cleaned_data["events"])
    except WorkflowError as exc:
        return refusal(request, exc)
    messages.success(request, "Email choices saved.")
    return redirect(reverse("checklists:profile") + "#email")
