"""The team pages: /teams/, /teams/new/ and /teams/<slug>/ with every setting of a team.

Members (and managers) read a team's page; its owners and staff change it. Each form posts
to its own URL, the view calls checklists/workflow/teams.py (or repositories.py), and a
refusal re-renders the page with the form's errors beside its fields and the refusal's status.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import workflow
from ..errors import InvalidInput, NotFound, WorkflowError
from ..models import (
    REPOSITORY_MAX,
    FreezeWindow,
    Membership,
    Repository,
    ReviewerGroup,
    Team,
    Webhook,
)
from ..policy import permissions
from ..policy import teams as team_policy
from ..workflow import checklist_versions
from ..workflow.team_rules import may_create_webhook
from ..workflow.teams import team_creation_refusal
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import (
    ApprovalRulesForm,
    FreezeForm,
    MemberAddForm,
    MemberChangeForm,
    NotificationsForm,
    ProbesForm,
    QueueOwnerForm,
    ReviewerGroupForm,
    TeamCreateForm,
    WebhookCreateForm,
)


class RepositoryForm(forms.Form):
    location = forms.CharField(
        max_length=REPOSITORY_MAX,
        help_text="https://host/path or ssh://git@host/path (or git@host:path) on an allowed git host.",
    )
    username = forms.CharField(max_length=100, required=False, help_text="https: the token's user name.")
    token = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="https: a read-only token. Stored server-side, never shown again.",
    )
    ssh_key = forms.CharField(
        max_length=20_000,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        label="SSH deploy key",
        help_text="ssh: a read-only private deploy key. Stored server-side, never shown again.",
    )


SECTIONS = {
    "approvals": (ApprovalRulesForm, "approvals", "Approval rules saved."),
    "probes": (ProbesForm, "probes", "Probe endpoints and configuration files saved."),
    "notifications": (NotificationsForm, "notifications", "Notification settings saved."),
}


def _team(request: HttpRequest, slug: str) -> Team:
    team = team_policy.readable_team(request.user, slug)
    if team is None:
        raise Http404("No such team.")
    return team


def _team_url(team: Team, anchor: str = "") -> str:
    url = reverse("checklists:team", args=[team.slug])
    return f"{url}#{anchor}" if anchor else url


def _initial_settings(team: Team) -> dict:
    return {
        "required_approvals": team.required_approvals,
        "approval_valid_days": team.approval_valid_days,
        "allow_commit_authors_to_review": team.allow_commit_authors_to_review,
        "followup_due_working_days": team.followup_due_working_days,
        "probe_endpoints": "\n".join(team.probe_endpoints or []),
        "probe_public_allowlist": "\n".join(team.probe_public_allowlist or []),
        "production_config_globs": "\n".join(team.production_config_globs or []),
        "notify_email": team.notify_email,
        "notify_events": list(team.notify_events or []),
    }


def team_context(request: HttpRequest, team: Team, **bound) -> dict:
    """Everything the team page shows; `bound` replaces a blank form with a submitted one."""
    manage = team_policy.may_manage(request.user, team)
    memberships = list(Membership.objects.filter(team=team).select_related("user").order_by("user__username"))
    owners = [m for m in memberships if m.owner]
    groups = list(ReviewerGroup.objects.filter(team=team).prefetch_related("members"))
    initial = _initial_settings(team)
    for membership in memberships:
        membership.form = MemberChangeForm(
            initial={"role": membership.role, "owner": membership.owner}, prefix=f"m{membership.user_id}"
        )
    for group in groups:
        group.form = bound.pop(f"group_{group.pk}", None) or ReviewerGroupForm(
            initial={
                "name": group.name,
                "required": group.required,
                "members": [str(m.pk) for m in group.members.all()],
            },
            people=memberships,
            prefix=f"g{group.pk}",
        )
    context = {
        "team": team,
        "may_manage": manage,
        "is_staff": team_policy.is_staff(request.user),
        "memberships": memberships,
        "owners": owners,
        "groups": groups,
        "warnings": team_policy.approval_warnings(team),
        "repositories": list(Repository.objects.filter(team=team).order_by("archived", "location")),
        "freezes": list(
            FreezeWindow.objects.filter(team=team, ends_at__gt=timezone.now()).order_by("starts_at")
        ),
        "now": timezone.now(),
        "webhooks": list(Webhook.objects.filter(team=team).order_by("id")),
        "may_add_webhook": may_create_webhook(request.user, team),
        "checklist": checklist_versions.in_use(team),
        "draft": checklist_versions.draft_of(team),
        "approvals_form": ApprovalRulesForm(initial=initial),
        "probes_form": ProbesForm(initial=initial),
        "notifications_form": NotificationsForm(initial=initial),
        "member_form": MemberAddForm(),
        "queue_owner_form": QueueOwnerForm(initial={"user": team.owner_id}, owners=owners),
        "group_form": ReviewerGroupForm(people=memberships, prefix="new-group"),
        "freeze_form": FreezeForm(),
        "webhook_form": WebhookCreateForm(),
        "repository_form": RepositoryForm(),
        "new_secret": None,
        "page_error": None,
    }
    context.update(bound)
    return context


def _page(request: HttpRequest, team: Team, *, status: int = 200, **bound) -> HttpResponse:
    return render(request, "checklists/team.html", team_context(request, team, **bound), status=status)


def _change(
    request: HttpRequest,
    team: Team,
    *,
    form: forms.Form,
    form_name: str,
    change: Callable[[dict], object],
    done: str,
    anchor: str,
) -> HttpResponse:
    """Validate `form`, apply `change` through the workflow, redirect to the section or show why not."""
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    if not form.is_valid():
        return _page(request, team, status=400, **{form_name: form})
    try:
        change(form.cleaned_data)
    except InvalidInput as exc:
        add_workflow_errors(form, exc)
        return _page(request, team, status=400, **{form_name: form})
    except NotFound as exc:
        raise Http404(exc.message) from None
    except WorkflowError as exc:
        return _page(request, team, status=exc.status, page_error=exc)
    messages.success(request, done)
    return redirect(_team_url(team, anchor))


# --- pages ------------------------------------------------------------------------------------


@login_required
@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    teams = permissions.readable_teams(user)
    if team_policy.is_staff(user):
        teams = Team.objects.all()
    mine = dict(Membership.objects.filter(user=user).values_list("team_id", "owner"))
    rows = [
        {"team": t, "member": t.pk in mine, "owner": mine.get(t.pk, False)} for t in teams.order_by("name")
    ]
    return render(
        request,
        "checklists/team_list.html",
        {"rows": rows, "may_create": team_creation_refusal(user) is None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_create(request: HttpRequest) -> HttpResponse:
    if refused := team_creation_refusal(request.user):
        return refusal(request, refused)
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = workflow.create_team(
                actor=request.user, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"]
            )
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return refusal(request, exc)
        else:
            messages.success(
                request,
                f"Team {team.name} is open and you are its owner. Add its people, register its "
                "repositories and set its rules below.",
            )
            return redirect(_team_url(team))
    return render(request, "checklists/team_new.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_GET
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, _team(request, slug))


@login_required
@require_POST
def team_settings(request: HttpRequest, slug: str, section: str) -> HttpResponse:
    team = _team(request, slug)
    if section not in SECTIONS:
        raise Http404("No such settings section.")
    form_class, anchor, done = SECTIONS[section]
    form = form_class(request.POST)

    def change(data: dict) -> None:
        values = form.workflow_data() if hasattr(form, "workflow_data") else data
        workflow.update_team_settings(team, actor=request.user, changes=values)

    return _change(
        request, team, form=form, form_name=f"{section}_form", change=change, done=done, anchor=anchor
    )


# --- people --------------------------------------------------------------------------------------


@login_required
@require_POST
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    return _change(
        request,
        team,
        form=MemberAddForm(request.POST),
        form_name="member_form",
        change=lambda d: workflow.add_member(
            team, actor=request.user, user=d["user"], role=d["role"], owner=d["owner"]
        ),
        done="Added to the team.",
        anchor="people",
    )


@login_required
@require_POST
def member_change(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = _team(request, slug)
    form = MemberChangeForm(request.POST, prefix=f"m{user_id}")
    return _change(
        request,
        team,
        form=form,
        form_name="member_change_form",
        change=lambda d: workflow.change_member(
            team, actor=request.user, user=user_id, role=d["role"], owner=d["owner"]
        ),
        done="Role saved.",
        anchor="people",
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = _team(request, slug)
    return _change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="remove_form",
        change=lambda d: workflow.remove_member(team, actor=request.user, user=user_id),
        done="Removed from the team.",
        anchor="people",
    )


@login_required
@require_POST
def queue_owner(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    owners = Membership.objects.filter(team=team, owner=True).select_related("user")
    return _change(
        request,
        team,
        form=QueueOwnerForm(request.POST, owners=owners),
        form_name="queue_owner_form",
        change=lambda d: workflow.set_queue_owner(team, actor=request.user, user=int(d["user"])),
        done="Named owner saved.",
        anchor="people",
    )


# --- repositories (the team's registered repositories) --------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def team_repositories(request: HttpRequest, slug: str) -> HttpResponse:
    """The repositories section of the team page; its old URL still registers (POST) and redirects (GET)."""
    team = _team(request, slug)
    if request.method == "GET":
        return redirect(_team_url(team, "repositories"))
    form = RepositoryForm(request.POST)

    def register(data: dict) -> None:
        repository = workflow.register_repository(
            team,
            actor=request.user,
            location=data["location"],
            credentials=workflow.Credentials(data["username"], data["token"], data["ssh_key"]),
        )
        messages.info(request, f"Registered {repository.location}.")

    return _change(
        request,
        team,
        form=form,
        form_name="repository_form",
        change=register,
        done="Workers read it; releases of the team may name it now.",
        anchor="repositories",
    )


@login_required
@require_POST
def repository_archive(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team(request, slug)
    if not Repository.objects.filter(team=team, pk=pk).exists():
        raise Http404("No such repository.")
    archived = request.POST.get("archived") == "1"
    return _change(
        request,
        team,
        form=forms.Form(request.POST),
        form_name="archive_form",
        change=lambda d: workflow.update_repository(pk, actor=request.user, archived=archived),
        done="Archived: it takes no new releases." if archived else "In use again.",
        anchor="repositories",
    )
