"""Ordinary concurrent use on PostgreSQL never deadlocks (docs/reliability.md, "Lock order").

Every write transaction takes its locks in one order: the release row (FOR NO KEY UPDATE,
that row only), then rows that belong to that release, then the audit chain's advisory
lock, last. Creating a release takes no row lock before the advisory lock. Before this
order was fixed, creating releases in a team while others ticked items of the same team's
releases deadlocked within seconds (the release lock also locked the team row, which the
new release's foreign-key check waits for at commit while holding the advisory lock).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django.db.utils import OperationalError

from checklists import workflow
from checklists.errors import WorkflowError
from checklists.models import AuditEvent, Release

from .helpers.factories import make_release, release_data

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks and threads"),
]

SECONDS = 6


def hammer(calls_by_thread, seconds: float) -> dict:
    """Run each thread's callable in a loop for `seconds`; count outcomes by kind."""
    outcome = {"ok": 0, "refused": 0, "database": []}
    guard = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(call):
        n = 0
        try:
            while time.monotonic() < stop:
                n += 1
                try:
                    call(n)
                    kind = "ok"
                except WorkflowError as exc:
                    kind = "database" if exc.code == "write_conflict" else "refused"
                    detail = exc.code
                except OperationalError as exc:
                    kind, detail = "database", str(exc).splitlines()[0]
                with guard:
                    if kind == "database":
                        outcome["database"].append(detail)
                    else:
                        outcome[kind] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=loop, args=(call,)) for call in calls_by_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return outcome


def test_creating_releases_while_others_tick_items_of_the_same_team_never_deadlocks(team, alice, ci_user):
    targets = [make_release(team, alice, title=f"target {n}") for n in range(4)]
    keys = list(targets[0].items.filter(satisfied_by="manual").values_list("key", flat=True))

    def create(n):
        workflow.create_release(actor=ci_user, team=team, data=release_data(title=f"new {n}"))

    def tick(target):
        def call(n):
            state = "done" if n % 2 else "open"
            workflow.set_item_state(
                target.pk, keys[n % len(keys)], actor=alice, state=state, evidence=f"e{n}"
            )

        return call

    outcome = hammer([create, create, *[tick(t) for t in targets]], SECONDS)

    assert outcome["database"] == []
    assert outcome["ok"] > 50, outcome  # the mix really ran
    for release in Release.objects.filter(pk__in=[t.pk for t in targets]):
        assert release.events.count() == release.revision  # no lost update either
    assert AuditEvent.objects.filter(verb="release.created").count() == Release.objects.count()


def test_team_settings_owner_changes_and_releases_of_the_team_never_deadlock(
    team, alice, bob, dave, ci_user, caplog
):
    """Team writers lock the team row FOR NO KEY UPDATE; release writers never lock it: no cycle."""
    targets = [make_release(team, alice, title=f"target {n}") for n in range(3)]
    manual = list(targets[0].items.filter(satisfied_by="manual").values_list("key", flat=True))

    def settings_change(n):
        workflow.update_team_settings(team.slug, actor=bob, changes={"followup_due_working_days": 1 + n % 30})

    def member_change(n):
        workflow.change_member(team.slug, actor=bob, user=dave, role="member" if n % 2 else "reviewer")

    def create(n):
        make_release(team, ci_user, title=f"created {n}", commit=release_data()["commit"])

    def tick(n):
        release = targets[n % len(targets)]
        workflow.set_item_state(
            release.pk, manual[n % len(manual)], actor=alice, state="done", evidence=str(n)
        )

    with caplog.at_level("WARNING", logger="checklists.workflow.transactions"):
        outcome = hammer([settings_change, member_change, create, tick], SECONDS)
    assert outcome["database"] == [], outcome["database"][:5]
    # Not even one retried deadlock: a team lock that blocked the key-share checks would show here.
    assert [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage()] == []
    assert outcome["ok"] > 20
    for release in Release.objects.all():
        assert release.events.count() == release.revision
