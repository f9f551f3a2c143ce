"""Team-level changes: closing waiver follow-ups, registering webhooks."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.utils import timezone

from .. import permissions, webhooks
from ..errors import InvalidInput, NotAllowed, NotFound, TransitionError
from ..models import (
    EVIDENCE_MAX,
    FollowUp,
    Team,
    Webhook,
)
from .base import (
    _audit,
    _bump,
    _clean_text,
    _lock,
)
from .teams import refuse_webhook_creation
from .transactions import write_transaction


@write_transaction
def close_followup(followup: FollowUp | int, *, actor: User, evidence: str) -> FollowUp:
    """Close a hotfix waiver's follow-up with evidence that the item is now done (audited)."""
    pk = followup.pk if isinstance(followup, FollowUp) else followup
    release_id = FollowUp.objects.filter(pk=pk).values_list("release_id", flat=True).first()
    if release_id is None:
        raise NotFound("No such follow-up.")
    release = _lock(release_id)  # the release first, like every write (docs/reliability.md)
    found = FollowUp.objects.select_for_update().get(pk=pk)
    if permissions.role_in(actor, found.team_id) is None:
        raise NotAllowed("Only a member of the team may close its follow-ups.")
    if found.closed_at is not None:
        raise TransitionError("This follow-up is closed already.", code="already_closed")
    errors: dict[str, list[str]] = {}
    evidence = _clean_text("evidence", evidence, errors, limit=EVIDENCE_MAX)
    if not errors and not evidence.strip():
        errors["evidence"] = ["Show that the item is now done: a link or a sentence."]
    if errors:
        raise InvalidInput("Closing a follow-up needs evidence.", details=errors)
    found.closed_at, found.closed_by, found.evidence = timezone.now(), actor, evidence
    found.save(update_fields=["closed_at", "closed_by", "evidence"])
    # The release's timeline shows this event: bump its revision like every change (page caches).
    _bump(release)
    _audit(
        release,
        actor,
        "followup.closed",
        followup=found.pk,
        key=found.item_key,
        evidence=evidence,
        due_date=found.due_date.isoformat(),
    )
    return found


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
    if not actor.is_superuser:
        refuse_webhook_creation(actor, team)
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
