"""The audit log is append-only and hash-chained; verify_audit finds the first broken link."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from checklists import workflow
from checklists.models import AuditEvent, audit

from .helpers.factories import make_release
from .helpers.release_steps import tick_manual_items

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger and advisory lock are PostgreSQL's"
)


def verify() -> str:
    from io import StringIO

    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def without_guard(sql: str, params=()) -> None:
    """Run one statement with the append-only trigger lifted (inside the test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser's replica role skips ordinary triggers: what an attacker with
            # database superuser rights could do, and what the hash chain still catches.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute("DROP TRIGGER checklists_auditevent_no_update")
            cursor.execute(sql, params)


def test_every_workflow_event_links_to_the_one_before(release, alice):
    tick_manual_items(release, alice)
    events = list(AuditEvent.objects.order_by("id"))
    assert len(events) > 3
    assert events[0].prev_hash == audit.GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(event.hash == audit.hash_of(event) for event in events)
    assert f"audit chain intact: {len(events)} event(s), head {events[-1].hash}" in verify()


def test_hash_covers_the_stored_time_and_payload(release, alice):
    event = AuditEvent.objects.get(verb="release.created")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.created_at == event.created_at
    assert audit.hash_of(stored) == event.hash


def test_verify_audit_names_an_event_whose_payload_was_changed(release, alice):
    tick_manual_items(release, alice)
    target = AuditEvent.objects.filter(verb="item.updated").order_by("id")[1]
    without_guard("UPDATE checklists_auditevent SET verb = %s WHERE id = %s", ["item.forged", target.pk])
    with pytest.raises(CommandError, match=rf"broken at event #{target.pk} .*changed after it was written"):
        verify()


def test_verify_audit_notices_a_removed_event(release, alice):
    tick_manual_items(release, alice)
    events = list(AuditEvent.objects.order_by("id"))
    without_guard("DELETE FROM checklists_auditevent WHERE id = %s", [events[2].pk])
    with pytest.raises(
        CommandError, match=rf"broken at event #{events[3].pk} .*removed, inserted or reordered"
    ):
        verify()


def test_verify_audit_notices_a_forged_event_inserted_by_raw_sql(release, alice):
    head = AuditEvent.objects.order_by("-id").first()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO checklists_auditevent (verb, payload, correlation_id, created_at, prev_hash, hash)"
            " VALUES ('release.approved', '{}', '', %s, %s, %s)",
            [head.created_at, head.hash, "f" * 64],
        )
    with pytest.raises(CommandError, match="changed after it was written"):
        verify()


@on_postgres
def test_raw_sql_cannot_update_or_delete_an_audit_event(release):
    event = AuditEvent.objects.first()
    for sql in (
        "UPDATE checklists_auditevent SET verb = 'x' WHERE id = %s",
        "DELETE FROM checklists_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).verb == event.verb


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(team, alice):
    releases = [make_release(team, alice, title=f"Release {n}") for n in range(4)]
    keys = list(releases[0].items.filter(satisfied_by="manual").values_list("key", flat=True))
    errors = []
    start = threading.Barrier(len(releases))

    def tick_all(release):
        try:
            start.wait()
            for key in keys:
                workflow.set_item_state(release, key, actor=alice, state="done", evidence="ci")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick_all, args=(r,)) for r in releases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEvent.objects.filter(verb="item.updated").count() == len(releases) * len(keys)
    report = audit.verify_chain()
    assert report.broken is None
    assert report.checked == AuditEvent.objects.count()


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_for_the_first_to_commit_before_reading_the_head():
    first_appended = threading.Event()
    events = {}

    def first():
        try:
            with transaction.atomic():
                events["first"] = audit.append(
                    release=None, actor=None, verb="test.first", payload={}, correlation_id=""
                )
                first_appended.set()
                # Without the chain lock the second writer would read the old head meanwhile.
                threading.Event().wait(0.5)
        finally:
            connections.close_all()

    def second():
        try:
            first_appended.wait(5)
            events["second"] = audit.append(
                release=None, actor=None, verb="test.second", payload={}, correlation_id=""
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert events["second"].prev_hash == events["first"].hash
    assert audit.verify_chain().broken is None
