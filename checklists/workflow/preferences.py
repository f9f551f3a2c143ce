"""A person's own settings: which events email them (the profile page)."""

from __future__ import annotations

from django.contrib.auth.models import User

from ..errors import InvalidInput, NotAllowed
from ..models import EMAIL_EVENTS, EmailPreference
from .base import _audit
from .transactions import write_transaction


def email_events_of(user: User) -> list[str]:
    """The events that email `user`: their choice, or every event if they never chose."""
    found = EmailPreference.objects.filter(user=user).values_list("events", flat=True).first()
    return list(EMAIL_EVENTS) if found is None else [e for e in EMAIL_EVENTS if e in found]


@write_transaction
def set_email_preferences(*, actor: User, events: list[str]) -> EmailPreference:
    """Choose which events email the signed-in person (audited with before and after)."""
    if actor is None or not actor.is_authenticated:
        raise NotAllowed("Sign in first.")
    if not isinstance(events, list | tuple) or any(e not in EMAIL_EVENTS for e in events):
        raise InvalidInput(
            "Unknown email event.", details={"events": [f"Choose from {', '.join(EMAIL_EVENTS)}."]}
        )
    chosen = [e for e in EMAIL_EVENTS if e in events]
    preference, _ = EmailPreference.objects.select_for_update().get_or_create(
        user=actor, defaults={"events": list(EMAIL_EVENTS)}
    )
    before = [e for e in EMAIL_EVENTS if e in preference.events]
    if before == chosen:
        return preference
    preference.events = chosen
    preference.save(update_fields=["events", "updated_at"])
    _audit(None, actor, "profile.email_changed", user=actor.get_username(), before=before, after=chosen)
    return preference
