"""Versions of a checklist (a ChecklistTemplate) and their items; releases copy them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from . import satisfied_by
from .limits import SLUG_VALIDATOR
from .teams import Team


class ChecklistTemplate(models.Model):
    """One version of a checklist. A draft is edited by a team's owner; releases only ever start
    from published versions, and keep their own copy of its items."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(max_length=50, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PUBLISHED)
    # The team whose owners edit this checklist on its pages; empty for shared ones (the default).
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="checklist_versions"
    )
    # What a draft started from: its diff is shown against it.
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["slug", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug", "version"], name="%(app_label)s_%(class)s_unique_version"
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="%(app_label)s_%(class)s_one_default",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(status="draft"),
                name="%(app_label)s_%(class)s_one_draft_per_team",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(status="published"),
                name="%(app_label)s_%(class)s_default_is_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @classmethod
    def default(cls) -> ChecklistTemplate:
        return cls.objects.get(is_default=True)


class TemplateItem(models.Model):
    class Category(models.TextChoices):
        CORRECTNESS = "correctness", "Correctness"
        SECURITY = "security", "Security"
        OPERATIONS = "operations", "Operations"
        DEPLOYMENT = "deployment", "Deployment"
        HANDOFF = "handoff", "Handoff"

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=100)
    category = models.CharField(max_length=32, choices=Category.choices)
    title = models.CharField(max_length=200)
    help = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)
    waivable = models.BooleanField(default=False)
    satisfied_by = models.CharField(max_length=40, default=satisfied_by.MANUAL)

    class Meta:
        ordering = ["order"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="%(app_label)s_%(class)s_unique_key"),
        ]

    def __str__(self) -> str:
        return self.key
