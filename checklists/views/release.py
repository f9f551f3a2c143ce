"""The release page, with its in-place (htmx) checklist actions and its transitions."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import workflow
from ..checklist_format.files import CATEGORIES
from ..errors import InvalidInput, WorkflowError
from ..models import ChecklistItem, Release, ScanRun, SignOff, TemplateItem
from ..policy import abilities, approvals, followups
from ..policy.abilities import Abilities, Facts
from ..templatetags.releasegate import dom_id
from ..web import activity, release_cache, review
from .common import blocking_list, readable_release, refusal, release_url
from .release_forms import CancelForm, DeployForm, ItemForm, RollbackForm, SignOffForm, form_errors
from .review import review_page

Status = Release.Status
State = ChecklistItem.State
PENDING_SCANS = (ScanRun.Status.QUEUED, ScanRun.Status.RUNNING)
CATEGORY_LABELS = dict(TemplateItem.Category.choices)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def _progress(items: list[ChecklistItem]) -> Progress:
    return Progress(done=sum(1 for item in items if item.is_satisfied), total=len(items))


def release_context(request: HttpRequest, release: Release, **extra) -> dict:
    """Everything the release page shows, in a fixed number of queries.

    Which actions it offers comes from checklists/policy/abilities.py, the answers the workflow
    itself applies: a button is shown only to someone who may use it; an action that is
    refused for a reason the person can act on is shown disabled, with the reason.
    """
    user = request.user
    items = list(release.items.select_related("set_by"))
    signoffs = list(release.signoffs.select_related("reviewer", "snapshot").order_by("-created_at", "-id"))
    facts = abilities.Facts(release, items=items, signoffs=signoffs)
    may = abilities.abilities_for(user, release, facts)
    role = facts.role(user)
    is_member = role is not None
    can_write = may.may("tick")

    for item in items:
        item.actions = abilities.item_actions(release, item) if can_write else set()
    categories = []
    for category in CATEGORIES:
        in_category = [item for item in items if item.category == category]
        if in_category:
            categories.append(
                {
                    "slug": category,
                    "label": CATEGORY_LABELS.get(category, category),
                    "items": in_category,
                    "progress": _progress(in_category),
                }
            )

    scans = list(
        release.scans.filter(current=True, commit=release.commit).select_related("owner").order_by("scanner")
    )
    runs = {run.scanner: run for run in scans}
    # Lazy: read only when the timeline is rendered, not when its cached fragment is used.
    events = activity.TitledEvents(
        release.events.select_related("actor").order_by("-created_at", "-id"), {i.key: i.title for i in items}
    )

    approve, reject = may["approve"], may["reject"]
    mine_current = any(s.reviewer_id == user.pk and not s.stale for s in signoffs)
    renewable = release.status == Status.APPROVED and approve.allowed and mine_current
    if approve.allowed or reject.allowed:
        signoff_note = "Your approval expired; approve again to renew it." if renewable else ""
        if not approve.allowed:
            signoff_note = f"You may reject, but not approve yet: {approve.message}"
    else:
        signoff_note = approve.message

    blockers: list[dict] = []
    if release.status == Status.DRAFT:
        blockers = facts.blockers(for_submit=True)
    elif release.status == Status.IN_REVIEW:
        blockers = facts.blockers(for_submit=False)

    context = {
        "release": release,
        "role": role,
        "is_member": is_member,
        "abilities": may,
        "can_write": can_write,
        "items": items,
        "categories": categories,
        "overall": _progress(items),
        "scans": scans,
        "scans_pending": any(run.status in PENDING_SCANS for run in scans),
        "scan_rows": [(item, runs.get(item.argument)) for item in items if item.is_scan],
        "signoffs": signoffs,
        "approvals": len(facts.counting),
        "may_sign": may.may_sign,
        "may_approve": approve.allowed,
        "may_reject": reject.allowed,
        "signoff_note": signoff_note,
        "acknowledge_relation": may.acknowledge,
        "blockers": blockers,
        "situation": review.situation(release, facts, may, blockers),
        "events": events,
        "can_submit": may.may("submit"),
        "submit_refusal": may["submit"] if is_member and release.status == Status.DRAFT else None,
        "can_deploy": may.may("deploy"),
        "deploy_refusal": may["deploy"] if is_member and release.status == Status.APPROVED else None,
        "can_rollback": may.may("rollback"),
        "can_cancel": may.may("cancel"),
        "deploy_form": DeployForm(initial={"version_after": release.version_after}),
        "rollback_form": RollbackForm(),
        "cancel_form": CancelForm(),
        "item_errors": {},
        "primary": None,
        **rules_context(request, release, signoffs, items, facts, may),
    }
    context.update(extra)
    return context


def rules_context(
    request: HttpRequest, release: Release, signoffs: list, items: list, facts: Facts, may: Abilities
) -> dict:
    """What the release page shows about follow-ups, freezes, groups, expiry and what ships."""
    now = timezone.now()
    for signoff in signoffs:
        signoff.expires_at = approvals.expires_at(signoff, release)
        signoff.expired = bool(signoff.expires_at and signoff.expires_at <= now)
        signoff.changes = review.changes_since(signoff, release, items)
    windows = facts.freeze_windows if release.is_open_for_changes else []
    release_followups = list(release.followups.select_related("owner", "closed_by"))
    by_key = {f.item_key: f for f in release_followups}
    waivers = [
        {"title": i.title, "reason": i.reason, "followup": by_key.pop(i.key, None)}
        for i in items
        if i.state == ChecklistItem.State.WAIVED
    ]
    waivers += [{"title": f.item_title, "reason": f.waiver_reason, "followup": f} for f in by_key.values()]
    team_debt = []
    if (
        release.kind == Release.Kind.STANDARD
        and release.status == Release.Status.DRAFT
        and facts.role(request.user)
    ):
        team_debt = list(followups.open_for_team(release.team_id).order_by("due_date", "id"))
    return {
        "shipping": facts.shipping,
        "waivers": waivers,
        "team_debt": team_debt,
        "today": timezone.localdate(),
        "freeze_windows": windows,
        "can_override_freeze": may.may("override_freeze"),
        "can_override_range": may.may("override_range"),
        "can_read_range_again": may.may("read_range_again"),
        "required_groups": review.group_rows(release, facts),
        "approval_valid_days": release.team.approval_valid_days,
    }


def _page(request: HttpRequest, release: Release, *, status: int = 200, **extra) -> HttpResponse:
    return render(
        request, "checklists/release_detail.html", release_context(request, release, **extra), status=status
    )


def _live(
    request: HttpRequest, release: Release, primary: str, *, status: int = 200, **extra
) -> HttpResponse:
    """The parts of the release page that change, for htmx: `primary` is swapped, the rest out of band."""
    context = release_context(request, release, primary=primary, **extra)
    return render(request, "checklists/partials/_release_live.html", context, status=status)


@login_required
@require_GET
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = readable_release(request, pk)
    return release_cache.page(
        request, release, "page", "checklists/release_detail.html", lambda: release_context(request, release)
    )


@login_required
@require_GET
def release_scans(request: HttpRequest, pk: int) -> HttpResponse:
    """The scan panel, polled while scans run; when the release moved on, every part is refreshed."""
    release = readable_release(request, pk)
    if request.GET.get("rev") == str(release.revision):
        return render(request, "checklists/partials/_scans.html", release_context(request, release))
    return _live(request, release, "scans")


@login_required
@require_POST
def item_update(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """Tick, re-open, skip or waive one item. htmx gets the changed parts; a plain form gets a redirect."""
    release = readable_release(request, pk)
    form = ItemForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput("The item change has invalid fields.", details=form_errors(form))
        workflow.set_item_state(
            release.pk,
            key,
            actor=request.user,
            state=form.cleaned_data["state"],
            evidence=request.POST.get("evidence"),
            reason=request.POST.get("reason"),
        )
    except WorkflowError as exc:
        if not request.htmx:
            if exc.status == 404:
                raise Http404(exc.message) from None
            return _page(request, release, status=exc.status, item_errors={key: exc})
        release = readable_release(request, pk)
        return _live(
            request, release, "checklist", status=exc.status, item_errors={key: exc}, submitted=request.POST
        )
    release = readable_release(request, pk)
    if request.htmx:
        return _live(request, release, "checklist")
    return redirect(release_url(release, f"item-{dom_id(key)}"))


@login_required
@require_POST
def request_scans(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-run the release's scans (all, or the one named), replacing the current results."""
    release = readable_release(request, pk)
    scanner = request.POST.get("scanner") or None
    try:
        runs = workflow.request_scans(
            release.pk, actor=request.user, scanners=[scanner] if scanner else None, force=True
        )
    except WorkflowError as exc:
        if request.htmx:
            return _live(request, readable_release(request, pk), "scans", status=exc.status, scan_error=exc)
        return refusal(request, exc)
    release = readable_release(request, pk)
    if request.htmx:
        return _live(request, release, "scans")
    messages.success(request, f"Queued {len(runs)} scan(s).")
    return redirect(release_url(release, "scans"))


def _transition(request: HttpRequest, pk: int, form_class, change, done) -> HttpResponse:
    """Validate a transition's form, call the workflow, and redirect, or show what blocks.

    `done` is the one flash message of the action (a callable gets the workflow's result).
    A form posted from the review page (`next=review`) goes back there, refusal or not.
    """
    release = readable_release(request, pk)
    from_review = request.POST.get("next") == "review"
    form = form_class(request.POST) if form_class else None
    try:
        if form is not None and not form.is_valid():
            raise InvalidInput("Check the form.", details=form_errors(form))
        result = change(release, request.user, form.cleaned_data if form is not None else {})
    except WorkflowError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from None
        release = readable_release(request, pk)
        show = review_page if from_review else _page
        return show(request, release, status=exc.status, action_error=exc, action_blockers=blocking_list(exc))
    messages.success(request, done(result) if callable(done) else done)
    if from_review:
        return redirect(reverse("checklists:release_review", args=[release.pk]))
    return redirect(release_url(release))


@login_required
@require_POST
def release_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        None,
        lambda release, user, data: workflow.submit(release.pk, actor=user),
        "Submitted for review. Scans that had not run on this commit are queued.",
    )


@login_required
@require_POST
def release_signoff(request: HttpRequest, pk: int) -> HttpResponse:
    def sign(release, user, data):
        return workflow.sign_off(
            release.pk,
            actor=user,
            decision=data["decision"],
            comment=data["comment"],
            acknowledge_relation=data["acknowledge_relation"],
        )

    def done(result: workflow.SignOffResult) -> str:
        if result.signoff.decision == SignOff.Decision.REJECT:
            return "Rejected; the release is back to draft."
        if result.release.status == Status.APPROVED:
            return "Approved: the release has all the approvals it needs."
        return "Approved; the release still needs more approvals."

    return _transition(request, pk, SignOffForm, sign, done)


@login_required
@require_POST
def release_deploy(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        DeployForm,
        lambda release, user, data: workflow.deploy(
            release.pk, actor=user, commit=data["commit"] or None, version_after=data["version_after"] or None
        ),
        "Recorded as deployed.",
    )


@login_required
@require_POST
def release_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        RollbackForm,
        lambda release, user, data: workflow.rollback(release.pk, actor=user, reason=data["reason"]),
        "Recorded as rolled back.",
    )


@login_required
@require_POST
def release_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _transition(
        request,
        pk,
        CancelForm,
        lambda release, user, data: workflow.cancel(release.pk, actor=user, reason=data["reason"]),
        "Release cancelled.",
    )
