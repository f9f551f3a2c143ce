"""A statement compiled once gives the same objects as the ORM, for every reader."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from checklists.errors import NotFound
from checklists.models import FreezeWindow, Release, ReviewerGroup
from checklists.policy.permissions import get_release_for_user

from .helpers.factories import make_release

FACTS = [
    "fact_production_id", "fact_production_commit", "fact_has_groups", "fact_freeze_now", "fact_counting",
    "fact_oldest_approval", "fact_newest_approval", "fact_scans_pending", "fact_team_debt",
    "fact_viewer_role", "fact_viewer_is_manager",
]  # fmt: skip


def snapshot(release: Release) -> dict:
    data = {f.attname: getattr(release, f.attname) for f in Release._meta.concrete_fields}
    for name in ("team", "author", "repository", "commit_range"):
        related = getattr(release, name)
        data[name] = (
            {f.attname: getattr(related, f.attname) for f in related._meta.concrete_fields}
            if related
            else None
        )
    data.update({name: getattr(release, name) for name in FACTS})
    return data


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "root"])
def test_the_compiled_statement_reads_what_the_orm_reads(request, team, alice, bob, approved, who):
    if who == "root":
        User.objects.create_superuser("root", "root@example.com", "x")
        reader = User.objects.get(username="root")
    else:
        reader = request.getfixturevalue(who)
    ReviewerGroup.objects.create(team=team, name="ops", required=False)
    now = timezone.now()
    FreezeWindow.objects.create(
        team=team, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), reason="x"
    )
    other = make_release(team, alice)
    for release in (approved, other):
        fast = get_release_for_user(reader, release.pk, page_rows=True)
        slow = get_release_for_user(
            reader, release.pk, queryset=Release.objects.with_related().select_related("commit_range")
        )
        assert snapshot(fast) == snapshot(slow)
        assert fast.fact_freeze_now is True and fast.team.slug == "payments"


def test_an_outsider_and_a_missing_release_read_nothing(mallory, approved, alice):
    for user, pk in ((mallory, approved.pk), (alice, approved.pk + 1000), (alice, 2**70)):
        with pytest.raises(NotFound):
            get_release_for_user(user, pk, page_rows=True)


def test_the_statements_every_request_runs_are_planned_once_per_connection(alice, approved):
    """On PostgreSQL the release read and the gate's statement are prepared on the server
    (planning cost more than running them), and Django still records them for query counts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checklists.policy import gate

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            assert get_release_for_user(alice, approved.pk, page_rows=True).pk == approved.pk
            gate.open_gate(alice, approved.pk, approved.commit)
    assert any("production_commit" in q["sql"] for q in queries.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("production_commit" in s for s in statements)  # the gate
    assert any("fact_viewer_role" in s for s in statements)  # the release read with its facts
