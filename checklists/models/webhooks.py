"""A team's outbound webhooks and their delivery log (checklists/effects/webhooks.py sends them)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .teams import Team

WEBHOOK_EVENTS = ("submitted", "approved", "rejected", "deployed", "rolled_back", "scan_failed")


def all_webhook_events() -> list[str]:
    return list(WEBHOOK_EVENTS)


class Webhook(models.Model):
    """A team's outbound URL. The secret signs each body (HMAC-SHA256); it is shown once, at creation."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, editable=False)
    events = models.JSONField(default=all_webhook_events)
    active = models.BooleanField(default=True)
    allow_private = models.BooleanField(
        default=False,
        help_text="Admins only: allow loopback, private, link-local and this app's own addresses.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team", "id"]

    def __str__(self) -> str:
        return f"{self.team.slug} -> {self.url}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32)
    release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(help_text="The exact JSON body that is signed and sent.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} to hook {self.webhook_id}: {self.status}"
