"""Creates and item changes in one team, at once, through gunicorn on PostgreSQL: no 5xx at all.

Two threads create releases in team `payments` while four threads PATCH items of other
`payments` releases, for RELIABILITY_MIX_SECONDS (30 s in CI). Before the lock order was
fixed (docs/reliability.md, "Lock order") this mix deadlocked and a third of the requests
answered 503. Afterwards every release's revision equals its number of audit events.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from rest_framework.authtoken.models import Token

from checklists.models import Release
from tests.helpers.factories import make_release, release_data

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
SECONDS = float(os.environ.get("RELIABILITY_MIX_SECONDS", "30"))


def call(base: str, token: str, method: str, path: str, body: dict) -> int:
    req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        base + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_creating_while_patching_in_one_team_answers_no_5xx(team, alice, ci_user, start_gunicorn):
    targets = [make_release(team, alice, title=f"patched {n}") for n in range(4)]
    keys = list(targets[0].items.filter(satisfied_by="manual").values_list("key", flat=True))
    tokens = {u.username: Token.objects.get_or_create(user=u)[0].key for u in (alice, ci_user)}
    server = start_gunicorn(workers=6)
    statuses: Counter = Counter()
    guard = threading.Lock()
    stop = time.monotonic() + SECONDS

    def creator(n):
        i = 0
        while time.monotonic() < stop:
            i += 1
            body = {"team": team.slug, **release_data(title=f"created {n}-{i}")}
            status = call(server.url, tokens["ci"], "POST", "/api/v1/releases/", body)
            with guard:
                statuses[("create", status)] += 1

    def patcher(target):
        i = 0
        while time.monotonic() < stop:
            i += 1
            body = {"state": "done" if i % 2 else "open", "evidence": f"run {i}"}
            path = f"/api/v1/releases/{target.pk}/items/{keys[i % len(keys)]}/"
            status = call(server.url, tokens["alice"], "PATCH", path, body)
            with guard:
                statuses[("patch", status)] += 1

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=patcher, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)

    assert {status for (_, status) in statuses} <= {200, 201}, dict(statuses)
    assert statuses[("create", 201)] >= 10 and statuses[("patch", 200)] >= 40, dict(statuses)
    for release in Release.objects.filter(team=team):
        assert release.events.count() == release.revision, f"lost update on #{release.pk}"
