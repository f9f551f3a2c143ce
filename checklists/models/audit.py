"""The audit log: append-only events (never updated or deleted), in a hash chain where each
event carries the hash of the one before it.

hash = sha256(prev_hash + canonical JSON of actor, release, verb, payload,
correlation id and time). The chain is global and ordered by id, so appends are
serialised: on PostgreSQL by a transaction-scoped advisory lock taken before the
last event is read (it is held until the workflow's transaction commits); on SQLite
by its IMMEDIATE transactions, which let one writer in at a time.
`manage.py verify_audit` walks the chain and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditEvent.Immutable("Audit events are append-only.")

    def delete(self):
        raise AuditEvent.Immutable("Audit events are append-only.")


class AuditEvent(models.Model):
    class Immutable(Exception):
        pass

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    verb = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Hash chain: each event carries the hash of the one before it (manage.py verify_audit).
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.verb} #{self.release_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise self.Immutable("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise self.Immutable("Audit events are append-only.")


GENESIS = "0" * 64
# Any fixed 64-bit number; it names "the audit chain" among PostgreSQL advisory locks.
ADVISORY_LOCK_KEY = 0x7267_6175_6469_7401


def canonical(
    *,
    actor_id: int | None,
    release_id: int | None,
    verb: str,
    payload: dict,
    correlation_id: str,
    created_at: datetime,
) -> str:
    """The event's content as one JSON string that survives a database round trip."""
    return json.dumps(
        {
            "actor": actor_id,
            "release": release_id,
            "verb": verb,
            "payload": payload,
            "correlation_id": correlation_id,
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def event_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """Recompute what an event's hash must be from its stored fields."""
    return event_hash(
        event.prev_hash,
        canonical(
            actor_id=event.actor_id,
            release_id=event.release_id,
            verb=event.verb,
            payload=event.payload,
            correlation_id=event.correlation_id,
            created_at=event.created_at,
        ),
    )


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


def append(*, release, actor, verb: str, payload: dict, correlation_id: str) -> AuditEvent:
    """Write one audit event at the end of the chain (inside the caller's transaction)."""
    # Round-trip the payload so the hash is over exactly what the JSON column gives back.
    payload = json.loads(json.dumps(payload))
    with transaction.atomic():
        _lock_chain()
        prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        event = AuditEvent(
            release=release,
            actor=actor,
            verb=verb,
            payload=payload,
            correlation_id=correlation_id,
            created_at=timezone.now(),
            prev_hash=prev_hash,
        )
        event.hash = hash_of(event)
        # raw=True keeps the created_at that was hashed (auto_now_add would replace it).
        event.save_base(raw=True, force_insert=True)
    return event


@dataclass(frozen=True)
class BrokenLink:
    event_id: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    head: str
    broken: BrokenLink | None


def verify_chain(events: Iterator[AuditEvent] | None = None) -> ChainReport:
    """Walk the chain in id order; stop at the first event that does not fit."""
    if events is None:
        events = AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    expected_prev = GENESIS
    checked = 0
    for event in events:
        if event.prev_hash != expected_prev:
            problem = (
                f"prev_hash {event.prev_hash[:16] or '(empty)'}... does not match the hash of the event "
                f"before it ({expected_prev[:16]}...): an event was removed, inserted or reordered"
            )
            return ChainReport(checked, expected_prev, BrokenLink(event.pk, problem))
        if event.hash != hash_of(event):
            problem = "its content does not match its hash: the event was changed after it was written"
            return ChainReport(checked, expected_prev, BrokenLink(event.pk, problem))
        expected_prev = event.hash
        checked += 1
    return ChainReport(checked, expected_prev, None)
