"""The profile page: one's API token and which events email one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token

from ..errors import InvalidInput, WorkflowError
from ..models import EMAIL_EVENTS, Membership, SlackAccount
from ..policy import permissions
from ..workflow.preferences import email_events_of, set_email_preferences
from .common import refusal


class EmailPreferencesForm(forms.Form):
    events = forms.MultipleChoiceField(
        choices=list(EMAIL_EVENTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me when",
    )


@login_required
@require_GET
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "token": Token.objects.filter(user=user).first(),
        "memberships": Membership.objects.filter(user=user).select_related("team").order_by("team__name"),
        "is_manager": permissions.is_manager(user),
        "email_form": EmailPreferencesForm(initial={"events": email_events_of(user)}),
        "slack_account": SlackAccount.objects.filter(user=user).first(),
    }
    return render(request, "checklists/profile.html", context)


@login_required
@require_POST
def rotate_token(request: HttpRequest) -> HttpResponse:
    """Replace the user's API token: the old one stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=request.user).delete()
        Token.objects.create(user=request.user)
    messages.success(request, "A new API token was created; the old one no longer works.")
    return redirect("checklists:profile")


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
