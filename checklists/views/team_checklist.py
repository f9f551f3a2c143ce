"""The team's checklist page: read the version in use; owners edit a draft, compare, publish.

Every change calls checklists/workflow/checklist_versions.py. YAML export (any reader) and
import (owners: it replaces the draft's items) use the format of `manage.py export_template`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import workflow
from ..checklist_format.diff import diff_items
from ..checklist_format.files import dump_checklist
from ..errors import InvalidInput, NotFound, WorkflowError
from ..models import Team
from ..policy import teams as team_policy
from ..workflow import checklist_versions
from .common import refusal
from .release_forms import add_workflow_errors
from .team_forms import ChecklistImportForm, ChecklistItemForm
from .team_page import team_or_404

MAX_IMPORT_BYTES = 1024 * 1024


def _url(team: Team, anchor: str = "") -> str:
    url = reverse("checklists:team_checklist", args=[team.slug])
    return f"{url}#{anchor}" if anchor else url


def _context(request: HttpRequest, team: Team, **bound) -> dict:
    in_use = checklist_versions.in_use(team)
    draft = checklist_versions.draft_of(team)
    published_items = list(in_use.items.order_by("order", "id"))
    draft_items = list(draft.items.order_by("order", "id")) if draft else []
    editing = bound.pop("editing", {})
    for item in draft_items:
        item.form = editing.get(item.key) or ChecklistItemForm(
            initial={
                "key": item.key,
                "category": item.category,
                "title": item.title,
                "help": item.help,
                "satisfied_by": item.satisfied_by,
                "required": item.required,
                "waivable": item.waivable,
            },
            prefix=f"item-{item.pk}",
        )
    context = {
        "team": team,
        "may_manage": team_policy.may_manage(request.user, team),
        "in_use": in_use,
        "published_items": published_items,
        "draft": draft,
        "draft_items": draft_items,
        "changes": diff_items(published_items, draft_items) if draft else [],
        "publish_problems": checklist_versions.publish_problems(draft_items) if draft else [],
        "add_form": ChecklistItemForm(prefix="new"),
        "import_form": ChecklistImportForm(),
        "page_error": None,
    }
    context.update(bound)
    return context


def _page(request: HttpRequest, team: Team, *, status: int = 200, **bound) -> HttpResponse:
    return render(request, "checklists/team_checklist.html", _context(request, team, **bound), status=status)


def _refused(request: HttpRequest, team: Team, exc: WorkflowError) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404(exc.message)
    return _page(request, team, status=exc.status, page_error=exc)


def _item_data(form: forms.Form) -> dict:
    return {name: form.cleaned_data[name] for name in form.fields}


@login_required
@require_GET
def team_checklist(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, team_or_404(request, slug))


@login_required
@require_GET
def checklist_export(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    template = checklist_versions.in_use(team)
    if request.GET.get("version") == "draft":
        template = checklist_versions.draft_of(team)
        if template is None:
            raise Http404("The team has no draft checklist.")
    response = HttpResponse(dump_checklist(template), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{template.slug}-v{template.version}.yaml"'
    return response


@login_required
@require_POST
def checklist_change(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """start, publish, discard: the draft as a whole."""
    team = team_or_404(request, slug)
    changes = {
        "start": (workflow.start_draft, "A draft is open: change it, compare it, then publish it."),
        "publish": (workflow.publish_draft, "Published: new releases start from this version."),
        "discard": (workflow.discard_draft, "The draft was discarded."),
    }
    if action not in changes:
        raise Http404("No such action.")
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    change, done = changes[action]
    try:
        change(team, actor=request.user)
    except WorkflowError as exc:
        return _refused(request, team, exc)
    messages.success(request, done)
    return redirect(_url(team))


@login_required
@require_POST
def checklist_item_add(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    form = ChecklistItemForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            workflow.save_draft_item(team, actor=request.user, data=_item_data(form))
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return _refused(request, team, exc)
        else:
            messages.success(request, f"Added {form.cleaned_data['key']} to the draft.")
            return redirect(_url(team, "draft"))
    return _page(request, team, status=400, add_form=form)


@login_required
@require_POST
def checklist_item_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Save, remove or move one item of the draft (`key` names it, `action` says what)."""
    team = team_or_404(request, slug)
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    key, action = request.POST.get("key", ""), request.POST.get("action", "save")
    try:
        if action == "remove":
            workflow.remove_draft_item(team, actor=request.user, key=key)
            done = f"Removed {key} from the draft."
        elif action in ("up", "down"):
            workflow.move_draft_item(team, actor=request.user, key=key, direction=action)
            done = f"Moved {key} {action}."
        elif action == "save":
            draft = checklist_versions.draft_of(team)
            item = draft.items.filter(key=key).first() if draft else None
            if item is None:
                raise Http404("The draft has no such item.")
            form = ChecklistItemForm(request.POST, prefix=f"item-{item.pk}")
            if not form.is_valid():
                return _page(request, team, status=400, editing={key: form})
            try:
                workflow.save_draft_item(team, actor=request.user, data=_item_data(form), key=key)
            except InvalidInput as exc:
                add_workflow_errors(form, exc)
                return _page(request, team, status=400, editing={key: form})
            done = f"Saved {form.cleaned_data['key']}."
        else:
            raise InvalidInput("Save, remove, up or down.", details={"action": ["Unknown action."]})
    except WorkflowError as exc:
        return _refused(request, team, exc)
    messages.success(request, done)
    return redirect(_url(team, "draft"))


@login_required
@require_POST
def checklist_import(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_or_404(request, slug)
    if refused := team_policy.manage_refusal(request.user, team):
        return refusal(request, refused)
    form = ChecklistImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_IMPORT_BYTES:
                raise InvalidInput("At most 1 MB.", details={"file": ["At most 1 MB."]})
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("Not UTF-8 text.", details={"file": ["Not UTF-8 text."]}) from None
            workflow.import_draft(team, actor=request.user, text=text)
        except InvalidInput as exc:
            add_workflow_errors(form, exc)
        except WorkflowError as exc:
            return _refused(request, team, exc)
        else:
            messages.success(request, "Imported into the draft: compare it, then publish it.")
            return redirect(_url(team, "draft"))
    return _page(request, team, status=400, import_form=form)
