"""What every admin page shares: one-line text fields, read-only logs, workflow refusals as messages."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect

from .. import text
from ..errors import WorkflowError


def refuse_line_breaks(value: str) -> None:
    if refused := text.problem(value, single_line=True):
        raise ValidationError(refused)


class OneLineCharFields:
    """Every one-line text field (a model CharField) of the form refuses line breaks and control
    characters, as the workflow does: a team name ends up in email subjects."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.CharField) and isinstance(field, forms.CharField):
            field.validators.append(refuse_line_breaks)
        return field


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WorkflowChangeFormMixin:
    """Show a workflow refusal as an admin message instead of an error page; nothing is saved."""

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except WorkflowError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


def workflow_action(description: str, change: Callable) -> Callable:
    """An admin action that applies a workflow function to each selected release."""

    def action(modeladmin, request, queryset):
        done = 0
        for release in queryset:
            try:
                change(release, request.user)
                done += 1
            except WorkflowError as exc:
                modeladmin.message_user(request, f"Release #{release.pk}: {exc.message}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{description}: {done} release(s).", messages.SUCCESS)

    action.__name__ = description.lower().replace(" ", "_")
    return admin.action(description=description)(action)
