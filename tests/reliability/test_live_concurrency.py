"""200 concurrent mutations from several processes against gunicorn on PostgreSQL.

Four processes of five threads each send ticks with new evidence, approvals (and a
self-approval), rejections, submits and cancels through the API, all at once, on ten
releases. Afterwards: no 5xx; one audit event per accepted change (and each release's
revision equals its number of events: no increment was lost); every approved release
meets the approval rules; nobody signed off their own release.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework.authtoken.models import Token

from checklists import workflow
from checklists.models import AuditEvent, Release
from checklists.policy import approvals
from tests.helpers.factories import make_release
from tests.helpers.release_steps import pass_scans_in_review, read_range, tick_manual_items

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
PROCESSES, THREADS = 4, 5


def send(base: str, request: dict) -> int:
    body = json.dumps(request["body"]).encode() if "body" in request else None
    req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        base + request["path"],
        data=body,
        method=request["method"],
        headers={"Authorization": f"Token {request['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def fire(args) -> list[tuple[dict, int]]:
    """One process: its share of requests through a few threads."""
    base, requests = args
    with ThreadPoolExecutor(THREADS) as pool:
        return list(zip(requests, pool.map(lambda r: send(base, r), requests), strict=True))


def plan(releases, tokens, keys) -> list[dict]:
    rng = random.Random(7)
    requests = []
    for release in releases:
        url = f"/api/v1/releases/{release.pk}/"
        for n in range(12):
            requests.append({"method": "PATCH", "path": url + f"items/{rng.choice(keys)}/", "token": tokens["alice"],
                             "body": {"state": "done", "evidence": f"run {release.pk}-{n}"}})  # fmt: skip
        for who in ("bob", "dave", "alice", "bob"):
            requests.append({"method": "POST", "path": url + "signoffs/", "token": tokens[who],
                             "body": {"decision": "approve", "comment": ""}})  # fmt: skip
        requests.append({"method": "POST", "path": url + "signoffs/", "token": tokens["dave"],
                         "body": {"decision": "reject", "comment": "not yet"}})  # fmt: skip
        requests.append({"method": "POST", "path": url + "submit/", "token": tokens["alice"], "body": {}})
        requests.append({"method": "POST", "path": url + "submit/", "token": tokens["ci"], "body": {}})
        requests.append(
            {"method": "GET", "path": url + "gate/?commit=" + release.commit, "token": tokens["ci"]}
        )
        requests.append({"method": "PATCH", "path": url + f"items/{keys[0]}/", "token": tokens["mallory"],
                         "body": {"state": "done"}})  # fmt: skip
        requests.append({"method": "POST", "path": url + "cancel/", "token": tokens["ci"],
                         "body": {"reason": "race"}} if release.pk % 5 == 0 else
                        {"method": "GET", "path": url, "token": tokens["bob"]})  # fmt: skip
    rng.shuffle(requests)
    return requests


def test_two_hundred_concurrent_mutations_lose_nothing(
    team, alice, bob, dave, ci_user, mallory, start_gunicorn
):
    releases = []
    for n in range(10):
        release = make_release(team, alice, title=f"Race {n}")
        tick_manual_items(release, alice)
        if n % 2 == 0:  # half in review with passed scans, half drafts
            workflow.submit(release, actor=alice)
            pass_scans_in_review(release)
            read_range(release)
        releases.append(release)
    keys = list(releases[0].items.filter(satisfied_by="manual").values_list("key", flat=True))
    tokens = {
        u.username: Token.objects.get_or_create(user=u)[0].key for u in (alice, bob, dave, ci_user, mallory)
    }
    requests = plan(releases, tokens, keys)
    mutations = [r for r in requests if r["method"] != "GET"]
    assert len(mutations) >= 200
    server = start_gunicorn()
    events_before = AuditEvent.objects.count()

    shares = [(server.url, requests[i::PROCESSES]) for i in range(PROCESSES)]
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = [pair for share in pool.map(fire, shares) for pair in share]

    statuses = [status for _, status in results]
    assert not [s for s in statuses if s >= 500], sorted(statuses)
    assert set(statuses) <= {200, 201, 202, 400, 403, 404, 409}, sorted(set(statuses))
    accepted = [r for r, status in results if r["method"] != "GET" and 200 <= status < 300]
    assert AuditEvent.objects.count() - events_before == len(accepted)
    assert len(accepted) >= 100, len(accepted)  # the race was real: most changes went through
    assert any("signoffs" in r["path"] for r in accepted) and any("submit" in r["path"] for r in accepted)
    assert all(
        status == 403 for r, status in results if r["token"] == tokens["alice"] and "signoffs" in r["path"]
    )
    assert all(status == 404 for r, status in results if r["token"] == tokens["mallory"])
    for release in Release.objects.filter(pk__in=[r.pk for r in releases]).select_related("team"):
        assert release.events.count() == release.revision, f"lost update on #{release.pk}"
        assert not release.signoffs.filter(reviewer_id=release.author_id).exists()
        if release.status == Release.Status.APPROVED:
            assert approvals.shortfall(release) == []
            assert workflow.blocking_items(release, for_submit=False) == []
