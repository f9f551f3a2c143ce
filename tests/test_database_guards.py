"""Rules the database enforces by itself, for code that goes around the workflow."""

import pytest
from django.db import IntegrityError, connection, transaction

from checklists.models import AuditEvent, ChecklistItem, Release, SignOff

from .helpers.factories import sha


def raw_signoff_insert(release, reviewer_id, author_id):
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO checklists_signoff (release_id, reviewer_id, author_id, decision, comment, "commit", '
            "checklist_digest, acknowledged_relation, stale, created_at) "
            "VALUES (%s, %s, %s, 'approve', '', %s, '', '', %s, %s)",
            [release.pk, reviewer_id, author_id, release.commit, False, release.created_at],
        )


def test_orm_cannot_create_a_self_review(in_review, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(release=in_review, reviewer=alice, decision="approve", commit=in_review.commit)
    assert not SignOff.objects.exists()


def test_orm_cannot_create_a_self_review_by_lying_about_the_author(in_review, alice, bob):
    # save() takes the author from the release, so a forged copy does not get through.
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(
            release=in_review, reviewer=alice, author=bob, decision="approve", commit=in_review.commit
        )


def test_bulk_create_cannot_create_a_self_review(in_review, alice, bob):
    forged = SignOff(
        release=in_review, reviewer=alice, author=bob, decision="approve", commit=in_review.commit
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.bulk_create([forged])
    assert not SignOff.objects.exists()


def test_raw_sql_cannot_create_a_self_review(in_review, alice, bob):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_signoff_insert(in_review, reviewer_id=alice.pk, author_id=bob.pk)
    assert not SignOff.objects.exists()


def test_raw_sql_cannot_turn_a_review_into_a_self_review(in_review, alice, bob):
    raw_signoff_insert(in_review, reviewer_id=bob.pk, author_id=alice.pk)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE checklists_signoff SET reviewer_id = %s", [alice.pk])
    assert SignOff.objects.get().reviewer == bob


def test_audit_events_cannot_be_updated_by_raw_sql(release):
    with pytest.raises(Exception) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE checklists_auditevent SET verb = 'forged'")
    assert "append-only" in str(exc.value)
    assert not AuditEvent.objects.filter(verb="forged").exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite blocks UPDATE only (see migration 0003)"
)
def test_audit_events_cannot_be_deleted_by_raw_sql_on_postgresql(release):
    with pytest.raises(Exception) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM checklists_auditevent")
    assert "append-only" in str(exc.value)
    assert AuditEvent.objects.filter(release=release).exists()


def test_a_release_commit_must_be_a_sha_in_the_database(release):
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.filter(pk=release.pk).update(commit="main")


def test_a_skipped_item_must_have_a_reason_in_the_database(release):
    with pytest.raises(IntegrityError), transaction.atomic():
        ChecklistItem.objects.filter(release=release, key="handoff.oncall-briefed").update(
            state="not_applicable", reason=""
        )


def test_one_current_signoff_per_reviewer_in_the_database(in_review, bob):
    SignOff.objects.create(release=in_review, reviewer=bob, decision="approve", commit=in_review.commit)
    with pytest.raises(IntegrityError), transaction.atomic():
        SignOff.objects.create(release=in_review, reviewer=bob, decision="approve", commit=sha())
