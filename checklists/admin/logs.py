"""What staff read and nobody edits: the audit trail, emails that were not sent, idempotent answers."""

from django.contrib import admin

from ..models import AuditEvent, EmailFailure, IdempotencyRecord
from .common import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "verb", "release", "actor", "correlation_id"]
    list_filter = ["verb"]
    list_select_related = ["release", "actor"]
    search_fields = ["verb", "correlation_id"]


@admin.register(EmailFailure)
class EmailFailureAdmin(ReadOnlyAdmin):
    """Emails the worker could not send (also logged as errors); nobody was told of these."""

    list_display = ["created_at", "kind", "release", "recipients", "error", "correlation_id"]
    list_filter = ["kind"]
    list_select_related = ["release"]
    search_fields = ["error", "correlation_id", "subject"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["user", "scope", "key", "response_status", "created_at"]
