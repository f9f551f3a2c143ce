"""A team's webhooks: registered (the secret is shown once), paused, resumed or given other events.
checklists/effects/webhooks.py sends the events."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from ..effects import webhooks
from ..errors import InvalidInput, NotAllowed, NotFound
from ..models import Team, Webhook
from ..policy import teams as team_policy
from .base import _audit
from .teams import _lock_team, _require_manager, _team_audit
from .transactions import write_transaction


@dataclass(frozen=True)
class NewWebhook:
    webhook: Webhook
    secret: str  # shown once, never again


@write_transaction
def create_webhook(
    team: Team | str, *, actor: User, url: str, events: list[str] | None = None, allow_private: bool = False
) -> NewWebhook:
    """Register a team URL for signed events. Owners, reviewers and staff may; allow_private needs a superuser."""
    if isinstance(team, str):
        team = Team.objects.filter(slug=team).first()
        if team is None:
            raise NotFound("No such team.")
    if not actor.is_superuser and (refusal := team_policy.webhook_creation_refusal(actor, team)):
        raise refusal
    if allow_private and not actor.is_superuser:
        raise NotAllowed("Only an admin may allow private addresses.")
    chosen = list(dict.fromkeys(events)) if events else list(webhooks.WEBHOOK_EVENTS)
    unknown = [e for e in chosen if e not in webhooks.WEBHOOK_EVENTS]
    if unknown:
        raise InvalidInput(
            f"Unknown event(s): {', '.join(map(str, unknown))}.",
            details={"events": [f"Choose from {', '.join(webhooks.WEBHOOK_EVENTS)}."]},
        )
    if not isinstance(url, str) or len(url) > 500:
        raise InvalidInput("Give a URL of at most 500 characters.", details={"url": ["Invalid."]})
    try:
        webhooks.check_url(url, allow_private=allow_private)
    except webhooks.UnsafeURL as exc:
        raise InvalidInput(str(exc), details={"url": [str(exc)]}, code="unsafe_url") from None
    secret = webhooks.new_secret()
    hook = Webhook.objects.create(
        team=team, url=url, secret=secret, events=chosen, allow_private=allow_private, created_by=actor
    )
    _audit(
        None,
        actor,
        "webhook.created",
        team=team.slug,
        webhook=hook.pk,
        url=url,
        events=chosen,
        allow_private=allow_private,
    )
    return NewWebhook(webhook=hook, secret=secret)


def _hook_state(hook: Webhook) -> dict:
    return {"url": hook.url, "events": list(hook.events), "active": hook.active}


@write_transaction
def update_webhook(
    team: Team | str,
    *,
    actor: User | None,
    webhook: Webhook | int,
    active: bool | None = None,
    events: list[str] | None = None,
) -> Webhook:
    """Pause or resume a hook, or change its events (its URL and secret never change: make a new one)."""
    team = _lock_team(team)
    _require_manager(actor, team)
    pk = webhook.pk if isinstance(webhook, Webhook) else webhook
    hook = Webhook.objects.filter(team=team, pk=pk).first()
    if hook is None:
        raise NotFound("No such webhook.")
    before = _hook_state(hook)
    if events is not None:
        unknown = [e for e in events if e not in webhooks.WEBHOOK_EVENTS]
        if unknown or not events:
            raise InvalidInput(
                "Choose at least one known event.",
                details={"events": [f"Choose from {', '.join(webhooks.WEBHOOK_EVENTS)}."]},
            )
        hook.events = [e for e in webhooks.WEBHOOK_EVENTS if e in events]
    if active is not None:
        hook.active = bool(active)
    after = _hook_state(hook)
    if after == before:
        return hook
    hook.save(update_fields=["events", "active"])
    _team_audit(actor, "team.webhook_changed", team, before=before, after=after, webhook=hook.pk)
    return hook
