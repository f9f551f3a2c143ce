"""Cache what one person sees of one release (its page, its review page, its JSON) until it changes.

Every workflow change bumps `Release.revision`, but some answers change without a release
write. The key holds each of them, read in the same statement as the release
(`ReleaseQuerySet.with_facts`), so a changed answer is a new key and an old entry is never
read again (no invalidation):

- the release: pk, created_at (tests reuse pks), revision;
- the person: who they are, their email (commit-author independence), superuser, manager,
  their role on the team (granted or revoked);
- the team's rules: required approvals, approval validity, commit authors reviewing;
- the approvals that count now (a reviewer's role revoked changes that count);
- time: whether current approvals are all valid or all expired (partly expired: not cached);
- production: the repository's latest deployment (another release deployed moves it);
- a freeze window active now (one starting or ending flips it);
- what ships as a worker stored it (a range read after the release closed changes no revision).

Not cached at all (rendered each time), because their answer depends on rows outside the key:
required reviewer groups (their members), scans queued or running (a worker claims them
without a release write), a standard draft while the team owes follow-ups (other releases'
debt), and any response that carries a message or an error. Entries live
RELEASEGATE_FRAGMENT_CACHE_SECONDS (relative times such as "5 minutes ago" drift at most that
long); 0 turns the cache off. Measured in docs/benchmarks.md; tests in tests/test_release_cache.py.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import Release

PREFIX = "rg:release"


def seconds() -> int:
    return getattr(settings, "RELEASEGATE_FRAGMENT_CACHE_SECONDS", 60)


def _expiry_state(release: Release, now) -> str | None:
    """'none' (no approval can expire), 'valid', 'expired'; None when some are and some are not."""
    days = release.team.approval_valid_days
    oldest, newest = release.fact_oldest_approval, release.fact_newest_approval
    if not days or oldest is None:
        return "none"
    cutoff = now - timedelta(days=days)
    if oldest > cutoff:
        return "valid"
    if newest <= cutoff:
        return "expired"
    return None


def key(kind: str, release: Release, user: User) -> str | None:
    """The cache key of `kind` ('page', 'review', 'json') for `user`; None: do not cache it."""
    if not seconds() or not hasattr(release, "fact_counting") or not user.is_authenticated:
        return None
    if getattr(release, "fact_viewer_id", None) != user.pk:
        return None
    if release.fact_has_groups or release.fact_scans_pending:
        return None
    if (
        release.status == Release.Status.DRAFT
        and release.kind == Release.Kind.STANDARD
        and release.fact_team_debt
    ):
        return None
    expiry = _expiry_state(release, timezone.now())
    if expiry is None:
        return None
    team = release.team
    rng = release.commit_range if release.commit_range_id else None
    parts = (
        kind,
        release.pk,
        release.created_at.isoformat(),
        release.revision,
        user.pk,
        user.email,
        user.is_superuser,
        release.fact_viewer_is_manager,
        release.fact_viewer_role,
        team.required_approvals,
        team.approval_valid_days,
        team.allow_commit_authors_to_review,
        release.fact_counting,
        expiry,
        release.fact_production_id,
        release.fact_freeze_now,
        (rng.pk, rng.status, rng.read_at.isoformat() if rng.read_at else "") if rng else "",
    )
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:40]
    return f"{PREFIX}:{kind}:{release.pk}:{digest}"


def get(cache_key: str | None):
    return cache.get(cache_key) if cache_key else None


def put(cache_key: str | None, value) -> None:
    if cache_key:
        cache.set(cache_key, value, seconds())


CSRF_PLACEHOLDER = "rg-page-csrf-placeholder-5d1c"


def has_messages(request) -> bool:
    """Whether a flash message waits for this response (then the page is rendered, not cached)."""
    from django.contrib.messages import get_messages

    storage = get_messages(request)
    return bool(getattr(storage, "_queued_messages", None)) or bool(storage._loaded_messages)


def page(request, release: Release, kind: str, template: str, build_context) -> HttpResponse:
    """A release's page for this person, rendered once per key and served from the cache after.

    The CSRF token is cached as a placeholder and replaced with the request's own on the way out.
    """
    cache_key = None if has_messages(request) else key(kind, release, request.user)
    html = get(cache_key)
    if html is None:
        context = build_context()
        if cache_key:
            context["csrf_token"] = CSRF_PLACEHOLDER
        html = render_to_string(template, context, request)
        put(cache_key, html)
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    return HttpResponse(html)
