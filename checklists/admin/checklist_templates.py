"""Checklist versions (templates) and their items; a team's owners edit theirs on the team pages."""

from django.contrib import admin

from ..models import ChecklistTemplate, TemplateItem
from .common import OneLineCharFields


class TemplateItemInline(OneLineCharFields, admin.TabularInline):
    model = TemplateItem
    extra = 0
    fields = ["order", "key", "category", "title", "required", "waivable", "satisfied_by"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(OneLineCharFields, admin.ModelAdmin):
    list_display = ["name", "slug", "version", "is_default", "created_at"]
    inlines = [TemplateItemInline]
