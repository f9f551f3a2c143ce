"""Teams and their members, reviewer groups and deploy freezes."""

from django.contrib import admin, messages

from ..models import FreezeOverride, FreezeWindow, Membership, ReviewerGroup, Team
from ..policy import approvals
from .common import OneLineCharFields, ReadOnlyAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(OneLineCharFields, admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "required_approvals", "approval_valid_days", "template"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["owner"]
    inlines = [MembershipInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # roles change here too
        warn_unfillable_groups(self, request, form.instance.pk)


def warn_unfillable_groups(modeladmin, request, team_id: int) -> None:
    """Warn, where groups and roles are configured, about a required group nobody can fill."""
    names = approvals.groups_nobody_can_fill(team_id)
    if names:
        modeladmin.message_user(
            request,
            f"Required reviewer group(s) {', '.join(names)} have no member with the reviewer role on "
            "the team: no release of the team can be approved until one is added (or the group is "
            "made optional).",
            messages.WARNING,
        )


@admin.register(ReviewerGroup)
class ReviewerGroupAdmin(OneLineCharFields, admin.ModelAdmin):
    list_display = ["name", "team", "required", "who_can_fill"]
    list_filter = ["team", "required"]
    filter_horizontal = ["members"]

    @admin.display(description="who can fill it")
    def who_can_fill(self, group: ReviewerGroup) -> str:
        reviewers = set(
            Membership.objects.filter(team_id=group.team_id, role=Membership.Role.REVIEWER).values_list(
                "user_id", flat=True
            )
        )
        names = sorted(m.get_username() for m in group.members.all() if m.pk in reviewers)
        if names:
            return ", ".join(names)
        return "NOBODY: no member is a reviewer of the team" if group.required else "nobody"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("members")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # the members are saved here
        warn_unfillable_groups(self, request, form.instance.team_id)


@admin.register(FreezeWindow)
class FreezeWindowAdmin(OneLineCharFields, admin.ModelAdmin):
    list_display = ["team", "starts_at", "ends_at", "reason", "created_by"]
    list_filter = ["team"]
    exclude = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(FreezeOverride)
class FreezeOverrideAdmin(ReadOnlyAdmin):
    list_display = ["release", "window", "reviewer", "reason", "created_at"]
