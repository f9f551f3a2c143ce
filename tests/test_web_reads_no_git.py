"""Only workers read repositories (DESIGN rule 8): the whole journey works with git gone from the web.

Every request of the journey (pages and API) runs with subprocesses and name resolution
made impossible in this process, as a web node without git, credentials or a route to
the git host would be. Between the requests the worker's part runs for real: the commit
range is read with git and every scan runs on the repository.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from checklists.models import Release, ScanRun
from checklists.worker import ranges, scans

from .helpers.api import client_for, release_url
from .helpers.factories import UserFactory
from .helpers.git import make_repo
from .helpers.processes import ProtectedEndpoint

JUNIT = b'<testsuite name="s" tests="2" failures="0" errors="0"><testcase name="a"/><testcase name="b"/></testsuite>'
LOOPBACK = {"127.0.0.1", "::1", "localhost"}  # the broker and the database may live here


class NoGitOrNetwork(AssertionError):
    pass


@contextlib.contextmanager
def web_without_git():
    """No subprocess at all, and no name resolved but the loopback (broker, database)."""
    real_getaddrinfo = socket.getaddrinfo

    def no_subprocess(*args, **kwargs):
        raise NoGitOrNetwork(f"a web request started a process: {args[:1]}")

    def loopback_only(host, *args, **kwargs):
        if host not in LOOPBACK:
            raise NoGitOrNetwork(f"a web request resolved {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    # Every Popen (subprocess.run included) starts its child through _fork_exec.
    with (
        mock.patch.object(subprocess, "_fork_exec", no_subprocess),
        mock.patch.object(socket, "getaddrinfo", loopback_only),
    ):
        yield


class WebClient:
    """A test client whose every request runs inside web_without_git()."""

    def __init__(self, client):
        self.client = client

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def guarded(*args, **kwargs):
            with web_without_git():
                response = call(*args, **kwargs)
            assert response.status_code < 500, response.content[:500]
            return response

        return guarded


def worker_runs_everything_queued(release: Release) -> None:
    """The worker's turn: read what ships, run the queued scans (real git, real scanners)."""
    release.refresh_from_db()
    ranges.read_pending_now(release)
    for run in ScanRun.objects.filter(release=release, status=ScanRun.Status.QUEUED):
        scans.run_now(run.pk)


@pytest.fixture
def endpoint():
    server = ProtectedEndpoint(8119)
    yield server
    server.close()


def test_the_guard_really_blocks_git_and_lookups():
    with web_without_git(), pytest.raises(NoGitOrNetwork):
        subprocess.run(["git", "--version"], check=False)
    with web_without_git(), pytest.raises(NoGitOrNetwork):
        socket.getaddrinfo("git.example.com", 443)


@pytest.mark.django_db(transaction=True)
def test_create_scan_submit_approve_gate_deploy_with_no_git_in_the_web(
    tmp_path, settings, team, alice, bob, ci_user, endpoint
):
    settings.DATA_DIR = tmp_path / "data"
    url, commit = make_repo(tmp_path / "repo", {"app/main.py": "print('hello')\n", "README.md": "service\n"})
    team.probe_endpoints = endpoint.urls(1)
    team.save()
    ci, pipeline = WebClient(client_for(ci_user)), client_for(ci_user)
    # Staff register the (local, demo-style) repository; the pipeline names it.
    ops = UserFactory(username="ops", is_staff=True)
    response = WebClient(client_for(ops)).post(
        "/api/v1/teams/payments/repositories/", {"location": url}, format="json"
    )
    assert response.status_code == 201
    created = ci.post(
        "/api/v1/releases/",
        {"team": "payments", "title": "Service 1.0", "repository": url, "commit": commit,
         "version_before": "0.9", "version_after": "1.0", "rollback_plan": "redeploy 0.9",
         "deployment_steps": "run the job", "known_limitations": "none"},
        format="json",
    ).json()  # fmt: skip
    release = Release.objects.get(pk=created["id"])
    assert created["shipping"]["state"] == "pending"

    ci.post(release_url(release, "test-reports/"), JUNIT, content_type="application/xml")
    alice_page = Client()
    alice_page.force_login(alice)
    alice_web = WebClient(alice_page)
    detail = ci.get(release_url(release)).json()
    for item in detail["items"]:
        if item["satisfied_by"] == "manual":
            ci.patch(
                release_url(release, f"items/{item['key']}/"),
                {"state": "done", "evidence": "run 7"},
                format="json",
            )
    assert alice_web.post(reverse("checklists:release_submit", args=[release.pk])).status_code == 302

    worker_runs_everything_queued(release)  # git, scanners and the auth probe: the worker's job

    assert alice_web.get(reverse("checklists:release", args=[release.pk])).status_code == 200
    bob_page = Client()
    bob_page.force_login(bob)
    bob_web = WebClient(bob_page)
    page = bob_web.get(reverse("checklists:release", args=[release.pk])).content.decode()
    assert "app/main.py" in page and 'name="decision" value="approve"' in page
    assert (
        bob_web.post(
            reverse("checklists:release_signoff", args=[release.pk]), {"decision": "approve"}
        ).status_code
        == 302
    )
    gate = ci.get(release_url(release, f"gate/?commit={commit}"))
    assert gate.status_code == 200 and gate.json()["open"] is True, gate.content
    assert ci.post(release_url(release, "deploy/"), {"commit": commit}, format="json").status_code == 200
    release.refresh_from_db()
    assert release.status == "deployed"
    assert release.commit_range.status == "ready" and release.commit_range.relation == "new"
    assert pipeline.get(release_url(release, "shipping/")).json()["files"]
