"""A team's webhooks (created through the workflow; the secret is shown once) and their delivery log."""

from django import forms
from django.contrib import admin, messages
from django.db import models

from .. import workflow
from ..models import WEBHOOK_EVENTS, Webhook, WebhookDelivery
from .common import ReadOnlyAdmin, WorkflowChangeFormMixin


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
