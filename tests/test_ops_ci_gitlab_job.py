"""The GitLab job docs/ci.md documents really waits at the gate: run its script with bash and
curl against releasegate itself, served on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer
from rest_framework.authtoken.models import Token

from checklists import workflow

from .helpers.release_steps import ready_for_review

DOC = Path(__file__).resolve().parents[1] / "docs" / "ci.md"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not all(Path(p).exists() for p in ("/usr/bin/curl", "/usr/bin/jq")), reason="needs curl and jq"
    ),
]


def documented_script() -> str:
    text = DOC.read_text()
    job = text[text.index("wait-for-releasegate:\n") :]
    block = re.search(r"  script:\n    - \|\n(.*?)\n\n", job, re.S)[1]
    return textwrap.dedent(block)


@pytest.fixture
def server():
    for port in range(8156, 8160):
        try:
            live = LiveServer(f"127.0.0.1:{port}")
            break
        except OSError:
            continue
    yield live
    live.stop()


def run_job(server, release, token, **extra):
    env = {
        "PATH": os.environ["PATH"],
        "API": f"{server.url}/api/v1",
        "RELEASE_ID": str(release.pk),
        "CI_COMMIT_SHA": release.commit,
        "AUTH": f"Authorization: Token {token}",
        "RELEASEGATE_POLL_SECONDS": "0.3",
        **extra,
    }
    return subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", documented_script()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd="/tmp",
    )


def test_the_documented_job_waits_until_bob_approves(server, release, alice, bob, ci_user):
    ready_for_review(release, alice)
    token = Token.objects.create(user=ci_user).key
    job = run_job(server, release, token)
    first = job.stdout.readline()  # the job asked the gate and was told to wait
    assert first == "waiting: The release is in review, not approved.\n"
    time.sleep(1)
    assert job.poll() is None  # still waiting
    workflow.sign_off(release, actor=bob, decision="approve")
    output, _ = job.communicate(timeout=30)
    assert job.returncode == 0, first + output
    assert output.rstrip().endswith("releasegate: the gate is open")


def test_the_documented_job_stops_at_once_on_a_wrong_token_and_after_its_deadline(
    server, release, alice, ci_user
):
    job = run_job(server, release, "wrong")
    output, _ = job.communicate(timeout=30)
    assert job.returncode == 1 and "unexpected answer 401" in output
    token = Token.objects.create(user=ci_user).key
    job = run_job(server, release, token, RELEASEGATE_WAIT_SECONDS="1")
    output, _ = job.communicate(timeout=30)
    assert job.returncode == 1 and "the gate stayed shut" in output
