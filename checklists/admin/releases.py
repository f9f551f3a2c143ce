"""Releases, their items, sign-offs and follow-ups: every change goes through checklists/workflow/,
so its rules hold here too."""

from django import forms
from django.contrib import admin

from .. import workflow
from ..models import ChecklistItem, FollowUp, Release, SignOff
from ..policy import abilities
from .common import WorkflowChangeFormMixin, workflow_action


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = ["key", "satisfied_by", "state", "evidence", "reason", "set_by", "set_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class SignOffInline(admin.TabularInline):
    model = SignOff
    fields = ["reviewer", "decision", "comment", "commit", "stale", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    """Releases are read here and moved by actions; their fields change in the app or the API."""

    list_display = ["id", "title", "team", "kind", "status", "author", "created_at"]
    list_filter = ["status", "kind", "team"]
    search_fields = ["title", "commit"]
    list_select_related = ["team", "author"]
    inlines = [ChecklistItemInline, SignOffInline]
    actions = [
        workflow_action("Submit for review", lambda r, user: workflow.submit(r, actor=user)),
        workflow_action(
            "Approve",
            lambda r, user: workflow.sign_off(
                r, actor=user, decision="approve", comment="Approved in admin."
            ),
        ),
        workflow_action("Record deployment", lambda r, user: workflow.deploy(r, actor=user)),
        workflow_action(
            "Cancel", lambda r, user: workflow.cancel(r, actor=user, reason="Cancelled in admin.")
        ),
        workflow_action("Re-run scans", lambda r, user: workflow.request_scans(r, actor=user, force=True)),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Release._meta.fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Show what the signed-in admin may do: the same answers as the page and the API."""
        release = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if release is not None:
            extra_context["abilities"] = abilities.abilities_for(request.user, release).answers
        return super().change_view(request, object_id, form_url, extra_context)


class ChecklistItemForm(forms.ModelForm):
    class Meta:
        model = ChecklistItem
        fields = ["state", "evidence", "reason"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(WorkflowChangeFormMixin, admin.ModelAdmin):
    form = ChecklistItemForm
    list_display = ["key", "release", "state", "set_by", "set_at"]
    list_filter = ["state", "category"]
    list_select_related = ["release", "set_by"]
    readonly_fields = ["release", "key", "title", "satisfied_by", "set_by", "set_at", "scan"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = workflow.set_item_state(
            obj.release_id,
            obj.key,
            actor=request.user,
            state=form.cleaned_data["state"],
            evidence=form.cleaned_data["evidence"],
            reason=form.cleaned_data["reason"],
        )
        obj.set_by, obj.set_at = saved.set_by, saved.set_at


class SignOffForm(forms.ModelForm):
    class Meta:
        model = SignOff
        fields = ["release", "decision", "comment"]


@admin.register(SignOff)
class SignOffAdmin(WorkflowChangeFormMixin, admin.ModelAdmin):
    """Sign-offs are added as the signed-in user, through the workflow; never edited."""

    form = SignOffForm
    list_display = ["release", "reviewer", "decision", "stale", "created_at"]
    list_filter = ["decision", "stale"]
    list_select_related = ["release", "reviewer"]
    raw_id_fields = ["release"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        result = workflow.sign_off(
            form.cleaned_data["release"],
            actor=request.user,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
        )
        obj.pk = result.signoff.pk
        obj.reviewer = result.signoff.reviewer


class FollowUpCloseForm(forms.ModelForm):
    class Meta:
        model = FollowUp
        fields = ["evidence"]


@admin.register(FollowUp)
class FollowUpAdmin(WorkflowChangeFormMixin, admin.ModelAdmin):
    """Follow-ups open by themselves (hotfix waivers); here they are closed, with evidence, by the workflow."""

    form = FollowUpCloseForm
    list_display = ["item_key", "release", "team", "owner", "due_date", "closed_at"]
    list_filter = ["team", ("closed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["release", "team", "owner"]
    readonly_fields = ["release", "team", "item_key", "item_title", "waiver_reason", "owner", "due_date",
                       "closed_at", "closed_by"]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        closed = workflow.close_followup(obj.pk, actor=request.user, evidence=form.cleaned_data["evidence"])
        obj.closed_at, obj.closed_by = closed.closed_at, closed.closed_by
