"""What GitHub, GitLab and Slack bring in: deployments that wait for the gate, linked Slack accounts.

The integrations only carry requests and answers: a deployment's answer is the gate's
(checklists/policy/gate.py), a press in Slack is `sign_off` by the linked user, with every rule of it.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from ..errors import InvalidInput, NotAllowed, TransitionError
from ..integrations import deliveries, github, slack
from ..models import Release
from ..models.integrations import DeploymentCheck, IntegrationDelivery, SlackAccount
from ..policy.gate import gate_status
from .base import Status, _audit, _bump, _lock
from .transactions import write_transaction

CLOSED_FOR_GOOD = (Status.DEPLOYED, Status.ROLLED_BACK, Status.CANCELLED)
# GitHub stops waiting for a custom deployment protection rule after 30 days.
WAIT_LIMIT = timedelta(days=30)
COMMENT_MAX = 1000
SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")
SLACK_TEAM_RE = re.compile(r"^(?:[TE][A-Z0-9]{2,30})?$")


def deployment_answer(release: Release, sha: str, *, waiting_since=None) -> tuple[str, str] | None:
    """('approved'|'rejected', comment) once the gate decides for `sha`; None while it may still open."""
    gate = gate_status(release, sha)
    url = slack.release_url(release)
    if not gate.reasons:
        return DeploymentCheck.State.APPROVED, _cut(
            f"releasegate: release #{release.pk} \u201c{release.title}\u201d is approved for commit {sha[:12]} "
            f"({gate.approvals} approval(s)). {url}"
        )
    expired = waiting_since is not None and timezone.now() - waiting_since > WAIT_LIMIT
    if release.status in CLOSED_FOR_GOOD or sha != release.commit or expired:
        reasons = list(gate.reasons) + (["GitHub stopped waiting after 30 days."] if expired else [])
        return DeploymentCheck.State.REJECTED, _cut("releasegate: " + " ".join(reasons) + f" {url}")
    return None


def _cut(text: str) -> str:
    return text if len(text) <= COMMENT_MAX else text[: COMMENT_MAX - 1] + "…"


def _answer(check: DeploymentCheck, state: str, comment: str) -> None:
    check.state, check.comment, check.answered_at = state, comment, timezone.now()
    check.save(update_fields=["state", "comment", "answered_at"])
    deliveries.log(
        IntegrationDelivery.Kind.GITHUB_DEPLOYMENT,
        release=check.release,
        deployment_check=check,
        sha=check.sha,
        target=check.callback_url,
        body={"environment_name": check.environment, "state": state, "comment": comment},
    )


def find_release(full_name: str, sha: str) -> Release | None:
    """The release of GitHub's `owner/name` at `sha`: the newest one not cancelled, else the newest."""
    repositories = github.matching_repositories(full_name)
    if not repositories:
        return None
    found = Release.objects.filter(repository__in=repositories, commit=sha).order_by("-created_at", "-id")
    return found.exclude(status=Status.CANCELLED).first() or found.first()


@write_transaction
def request_deployment(
    *, repository: str, sha: str, environment: str, installation_id: int, callback_url: str, delivery: str
) -> DeploymentCheck:
    """A GitHub deployment asks the gate: answered now if it is open or closed for good, else later."""
    fields = dict(
        repository=repository,
        sha=sha,
        environment=environment,
        installation_id=installation_id,
        callback_url=callback_url,
        delivery=delivery,
    )
    release = find_release(repository, sha)
    if release is None:
        known = github.matching_repositories(repository)
        why = (
            f"no release of {repository} ships commit {sha[:12]}; open one for it (docs/ci.md) and re-run "
            f"the job. Only releases of team {known[0].team.slug}, which registered it first, count."
            if known
            else f"{repository} is not a repository registered in releasegate."
        )
        check = DeploymentCheck.objects.create(release=None, **fields)
        _answer(check, DeploymentCheck.State.REJECTED, f"releasegate: {why}")
        _audit(None, None, "github.deployment_requested", state=check.state, comment=check.comment, **fields)
        return check
    release = _lock(release)
    check = DeploymentCheck.objects.create(release=release, **fields)
    if answer := deployment_answer(release, sha):
        _answer(check, *answer)
    _bump(release)
    del fields["callback_url"]
    _audit(release, None, "github.deployment_requested", state=check.state, comment=check.comment, **fields)
    return check


@write_transaction
def answer_deployments(release: Release | int) -> list[DeploymentCheck]:
    """Answer the deployments waiting for this release that the gate now decides (none: no change)."""
    release = _lock(release)
    waiting = list(
        DeploymentCheck.objects.select_for_update()
        .filter(release=release, state=DeploymentCheck.State.WAITING)
        .order_by("id")
    )
    answered = []
    for check in waiting:
        if answer := deployment_answer(release, check.sha, waiting_since=check.created_at):
            _answer(check, *answer)
            answered.append(check)
    if answered:
        _bump(release)
        _audit(
            release,
            None,
            "github.deployment_answered",
            checks=[
                {"environment": c.environment, "sha": c.sha, "state": c.state, "comment": c.comment}
                for c in answered
            ],
        )
    return answered


def _may_link(actor: User | None, user: User) -> None:
    if actor is not None and actor.pk != user.pk and not actor.is_staff:
        raise NotAllowed("Only the person themselves or staff may link a Slack account.")


@write_transaction
def link_slack_account(
    user: User, *, actor: User | None, slack_user_id: str, slack_team_id: str = ""
) -> SlackAccount:
    """Link a Slack user to `user` (actor: the user, on their profile; None: staff at the shell)."""
    _may_link(actor, user)
    slack_user_id = (slack_user_id or "").strip()
    slack_team_id = (slack_team_id or "").strip()
    if not SLACK_ID_RE.fullmatch(slack_user_id) or not SLACK_TEAM_RE.fullmatch(slack_team_id):
        raise InvalidInput(
            "A Slack member id looks like U0123ABCD (profile → ⋮ → Copy member ID).",
            details={"slack_user_id": ["Not a Slack member id."]},
        )
    taken = SlackAccount.objects.select_for_update().filter(slack_user_id=slack_user_id).first()
    if taken is not None and taken.user_id != user.pk:
        raise TransitionError(
            "This Slack account is linked to another releasegate account; unlink it there first.",
            code="slack_already_linked",
        )
    account, _ = SlackAccount.objects.update_or_create(
        user=user, defaults={"slack_user_id": slack_user_id, "slack_team_id": slack_team_id}
    )
    _audit(
        None, actor, "slack.linked", user=user.get_username(), slack_user_id=slack_user_id, team=slack_team_id
    )
    return account


@write_transaction
def unlink_slack_account(user: User, *, actor: User | None) -> bool:
    _may_link(actor, user)
    removed = SlackAccount.objects.filter(user=user).values_list("slack_user_id", flat=True).first()
    if removed is None:
        return False
    SlackAccount.objects.filter(user=user).delete()
    _audit(None, actor, "slack.unlinked", user=user.get_username(), slack_user_id=removed)
    return True
