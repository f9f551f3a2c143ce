"""People as the company's identity provider knows them (docs/identity.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """A person as the company's identity provider knows them: issuer and subject, never a password."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="The groups of the last sign-in.")
    # The manager role came from a group (so a sign-in without that group takes it away again).
    manager_from_groups = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "external identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="%(app_label)s_%(class)s_unique_subject"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"
