"""Registered repositories (through the workflow) and what ships from them (read-only)."""

from django import forms
from django.contrib import admin

from .. import workflow
from ..models import CommitRange, RangeOverride, Repository
from .common import ReadOnlyAdmin, WorkflowChangeFormMixin


class RepositoryForm(forms.ModelForm):
    """Register a location (checked by the workflow); credentials are written here, never shown."""

    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), max_length=1000)
    ssh_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}), max_length=20_000
    )

    class Meta:
        model = Repository
        fields = ["team", "location", "username", "token", "ssh_key", "archived"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A ModelForm starts from the stored values: a textarea would print the private key.
        for name in ("token", "ssh_key"):
            self.initial[name] = ""
            self.fields[name].help_text = "Stored, never shown again. Leave empty to keep it."


@admin.register(Repository)
class RepositoryAdmin(WorkflowChangeFormMixin, admin.ModelAdmin):
    """Repositories are registered and changed through the workflow (location checks, audit)."""

    form = RepositoryForm
    list_display = ["location", "team", "archived", "created_at"]
    list_filter = ["team", "archived"]
    search_fields = ["location"]

    def get_readonly_fields(self, request, obj=None):
        return ["team", "location", "created_by", "created_at"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        credentials = None
        if data.get("token") or data.get("ssh_key") or not change:
            credentials = workflow.Credentials(
                data.get("username", ""), data.get("token", ""), data.get("ssh_key", "")
            )
        if change:
            saved = workflow.update_repository(
                obj.pk, actor=request.user, credentials=credentials, archived=data.get("archived")
            )
        else:
            saved = workflow.register_repository(
                data["team"], actor=request.user, location=data["location"], credentials=credentials
            )
        obj.pk = saved.pk
        obj.location = saved.location


@admin.register(CommitRange)
class CommitRangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "repository", "base", "head", "status", "relation", "attempts", "read_at"]
    list_filter = ["status", "relation"]
    list_select_related = ["repository"]


@admin.register(RangeOverride)
class RangeOverrideAdmin(ReadOnlyAdmin):
    list_display = ["release", "commit_range", "reviewer", "reason", "created_at"]
