"""Django admin. Teams, members and templates are edited here directly; everything that
changes a release goes through checklists/workflow/, so its rules hold here too."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect

from . import text, workflow
from .errors import WorkflowError
from .models import (
    WEBHOOK_EVENTS,
    AuditEvent,
    ChecklistItem,
    ChecklistTemplate,
    CommitRange,
    EmailFailure,
    FollowUp,
    FreezeOverride,
    FreezeWindow,
    IdempotencyRecord,
    Membership,
    RangeOverride,
    Release,
    Repository,
    ReviewerGroup,
    ScanRun,
    SignOff,
    Team,
    TemplateItem,
    TestReport,
    Webhook,
    WebhookDelivery,
)
from .policy import abilities, approvals


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


class TemplateItemInline(OneLineCharFields, admin.TabularInline):
    model = TemplateItem
    extra = 0
    fields = ["order", "key", "category", "title", "required", "waivable", "satisfied_by"]


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(OneLineCharFields, admin.ModelAdmin):
    list_display = ["name", "slug", "version", "is_default", "created_at"]
    inlines = [TemplateItemInline]


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


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "scanner", "commit", "status", "attempts", "current", "queued_at"]
    list_filter = ["status", "scanner", "current"]
    list_select_related = ["release"]


@admin.register(TestReport)
class TestReportAdmin(ReadOnlyAdmin):
    list_display = ["id", "release", "commit", "size", "uploaded_by", "created_at"]
    exclude = ["content"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["user", "scope", "key", "response_status", "created_at"]


@admin.register(EmailFailure)
class EmailFailureAdmin(ReadOnlyAdmin):
    """Emails the worker could not send (also logged as errors); nobody was told of these."""

    list_display = ["created_at", "kind", "release", "recipients", "error", "correlation_id"]
    list_filter = ["kind"]
    list_select_related = ["release"]
    search_fields = ["error", "correlation_id", "subject"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "verb", "release", "actor", "correlation_id"]
    list_filter = ["verb"]
    list_select_related = ["release", "actor"]
    search_fields = ["verb", "correlation_id"]


# --- rules beyond the gate (docs/rules.md) ------------------------------------------------


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


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in WEBHOOK_EVENTS],
        initial=list(WEBHOOK_EVENTS),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Webhook
        fields = ["team", "url", "events", "active", "allow_private"]

        @staticmethod
        def formfield_callback(field, **kwargs):
            if isinstance(field, models.URLField):
                kwargs["assume_scheme"] = "https"
            return field.formfield(**kwargs)


@admin.register(Webhook)
class WebhookAdmin(WorkflowChangeFormMixin, admin.ModelAdmin):
    """Hooks are created through the workflow (URL checks, audit); the secret is shown once, then never."""

    form = WebhookForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "team", "active", "allow_private", "created_at"]
    list_filter = ["team", "active"]

    def get_readonly_fields(self, request, obj=None):
        return ["team", "url", "allow_private", "created_by", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = workflow.create_webhook(
            form.cleaned_data["team"],
            actor=request.user,
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            allow_private=form.cleaned_data["allow_private"],
        )
        obj.pk = created.webhook.pk
        self.message_user(
            request,
            f"Signing secret (shown once, store it now): {created.secret}",
            messages.WARNING,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "webhook", "event", "status", "attempts", "response_status", "created_at"]
    list_filter = ["status", "event"]
    list_select_related = ["webhook"]


# --- registered repositories and what ships (docs/workflow.md) -------------------------------


class RepositoryForm(forms.ModelForm):
    """Register a location (checked by the workflow); credentials are written here, never shown."""

    token = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False), max_length=1000)
    ssh_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}), max_length=20_000
    )

    class Meta:
        model = Repository
        fields = ["team", "location", "username", "token", "ssh_key", "archived"]


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


from .integrations import admin as integrations_admin  # noqa: E402, F401 - registers its models
