"""What each person wants email about, and the emails that could not be sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# Which events may email a person, each with the sentence the profile page shows.
# Which events may email a person, each with the sentence the profile page shows.
EMAIL_EVENTS = {
    "review_requested": "A release of my team waits for my review",
    "approved": "My release was approved",
    "rejected": "My release was rejected",
    "scan_failed": "A scan failed or ended in error on my release",
    "rolled_back": "A release I wrote or approved was rolled back",
}


def all_email_events() -> list[str]:
    return list(EMAIL_EVENTS)


class EmailPreference(models.Model):
    """The events a person wants email about; without a row, every one of them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    events = models.JSONField(default=all_email_events, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"email choices of {self.user}"


class EmailFailure(models.Model):
    """An email that could not be sent: logged as an error by the worker, listed for staff in the admin."""

    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=64, help_text="Which email: the task that tried to send it.")
    release = models.ForeignKey("Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipients = models.JSONField(default=list, blank=True)
    subject = models.TextField(blank=True)
    error = models.TextField()
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} for #{self.release_id}: {self.error[:80]}"
