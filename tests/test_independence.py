"""Reviewer independence from the content (ticked items, commits in the range) and what ships."""

import os
import subprocess

import pytest
from django.urls import reverse

from checklists import commit_range, workflow
from checklists.errors import NotAllowed, SelfReviewError
from checklists.models import AuditEvent

from .api_helpers import assert_error, client_for, release_url
from .conftest import pass_scans_in_review, ready_for_review, tick_manual_items
from .factories import make_release
from .gitrepos import make_repo

MANUAL = "correctness.idempotency-tested"


def commit_as(path, name, *, committer=None, files=None, message="change"):
    committer = committer or name
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": f"{name}@example.com",
        "GIT_COMMITTER_NAME": committer,
        "GIT_COMMITTER_EMAIL": f"{committer}@example.com",
    }
    for file, content in (files or {f"{name}.txt": message}).items():
        (path / file).write_text(content)
    run = lambda *args: subprocess.run(["git", *args], cwd=path, env=env, check=True, capture_output=True)  # noqa: E731
    run("add", "-A")
    run("commit", "--quiet", "-m", message)
    return run("rev-parse", "HEAD").stdout.decode().strip()


def dave_ticks_one_item(release, alice, dave):
    tick_manual_items(release, alice)
    workflow.set_item_state(release, MANUAL, actor=dave, state="done", evidence="I tested it")
    workflow.submit(release, actor=alice)
    pass_scans_in_review(release)


@pytest.fixture
def repo(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.RELEASEGATE_READ_COMMIT_RANGES = True
    url, base = make_repo(tmp_path / "repo", {"README.md": "payments\n"})
    return {"url": url, "path": tmp_path / "repo", "base": base}


def deploy_release(team, alice, dave, *, repository, commit):
    release = make_release(team, alice, repository=repository, commit=commit)
    ready_for_review(release, alice)
    workflow.sign_off(release, actor=dave, decision="approve")
    return workflow.deploy(release, actor=alice)


@pytest.fixture
def shipped_by_bob(team, alice, dave, repo):
    """Team deployed the base; the new release ships a commit bob wrote and one alice wrote."""
    deploy_release(team, alice, dave, repository=repo["url"], commit=repo["base"])
    commit_as(repo["path"], "bob", files={"api.py": "refunds = True\n"}, message="Add refunds")
    head = commit_as(repo["path"], "alice", files={"docs.md": "refunds\n"}, message="Document refunds")
    release = make_release(team, alice, repository=repo["url"], commit=head)
    return ready_for_review(release, alice)


def test_what_ships_lists_commits_and_files_since_the_last_deployment(shipped_by_bob, repo):
    shipping = commit_range.shipping(shipped_by_bob)
    assert shipping.available and shipping.base == repo["base"]
    assert [c["subject"] for c in shipping.commits] == ["Document refunds", "Add refunds"]
    assert sorted(f["path"] for f in shipping.files) == ["api.py", "docs.md"]
    assert shipping.emails() == {"alice@example.com", "bob@example.com"}


def test_a_commit_author_in_the_range_may_not_approve(shipped_by_bob, bob, dave):
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(shipped_by_bob, actor=bob, decision="approve")
    assert refused.value.code == "commit_author"
    assert "authored or committed 1 commit" in refused.value.message
    workflow.sign_off(shipped_by_bob, actor=dave, decision="approve")  # dave wrote nothing in it


def test_a_committer_counts_like_an_author(team, alice, bob, dave, repo):
    deploy_release(team, alice, dave, repository=repo["url"], commit=repo["base"])
    head = commit_as(repo["path"], "alice", committer="bob", message="Applied by bob")
    release = ready_for_review(make_release(team, alice, repository=repo["url"], commit=head), alice)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=bob, decision="approve")
    assert refused.value.code == "commit_author"


def test_the_team_may_relax_the_commit_author_rule(shipped_by_bob, team, bob):
    team.allow_commit_authors_to_review = True
    team.save()
    result = workflow.sign_off(shipped_by_bob, actor=bob, decision="approve")
    assert result.release.status == "approved"


def test_whoever_ticked_a_manual_item_may_not_approve(release, alice, dave, bob):
    dave_ticks_one_item(release, alice, dave)
    with pytest.raises(NotAllowed) as refused:
        workflow.sign_off(release, actor=dave, decision="approve")
    assert refused.value.code == "ticked_item" and MANUAL in refused.value.message
    assert refused.value.details["reasons"][0]["items"] == [MANUAL]
    workflow.sign_off(release, actor=bob, decision="approve")


def test_the_author_is_still_refused_first_as_self_review(in_review, alice):
    with pytest.raises(SelfReviewError):
        workflow.sign_off(in_review, actor=alice, decision="approve")


def test_an_unreadable_repository_allows_approval_with_a_recorded_warning(
    team, alice, bob, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    settings.RELEASEGATE_READ_COMMIT_RANGES = True
    release = ready_for_review(make_release(team, alice, repository=str(tmp_path / "missing")), alice)
    assert not commit_range.shipping(release).available
    workflow.sign_off(release, actor=bob, decision="approve")
    event = AuditEvent.objects.get(verb="signoff.approve")
    assert "could not be read" in event.payload["independence_unverified"]


def test_api_names_the_reason_and_shows_what_ships(shipped_by_bob, bob, dave):
    error = assert_error(
        client_for(bob).post(
            release_url(shipped_by_bob, "signoffs/"), {"decision": "approve"}, format="json"
        ),
        403,
        "commit_author",
    )
    assert error["details"]["reasons"][0]["code"] == "commit_author"
    answer = client_for(bob).get(release_url(shipped_by_bob, "independence/")).json()
    assert answer["may_sign"] is False and answer["code"] == "commit_author"
    assert client_for(dave).get(release_url(shipped_by_bob, "independence/")).json()["may_sign"] is True
    shipping = client_for(dave).get(release_url(shipped_by_bob, "shipping/")).json()
    assert (
        shipping["available"]
        and len(shipping["commits"]) == 2
        and shipping["commits"][1]["author_email"] == ("bob@example.com")
    )


def test_api_ticked_item_code(release, alice, dave):
    dave_ticks_one_item(release, alice, dave)
    response = client_for(dave).post(
        release_url(release, "signoffs/"), {"decision": "approve"}, format="json"
    )
    assert_error(response, 403, "ticked_item")


def test_page_says_which_reason_applies_and_shows_what_ships(client, shipped_by_bob, bob, dave):
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[shipped_by_bob.pk])).content.decode()
    assert "authored or committed 1 commit" in html and 'class="signoff-form"' not in html
    assert "Add refunds" in html and "api.py" in html
    client.force_login(dave)
    html = client.get(reverse("checklists:release", args=[shipped_by_bob.pk])).content.decode()
    assert 'class="signoff-form"' in html
    response = client.post(
        reverse("checklists:release_signoff", args=[shipped_by_bob.pk]),
        {"decision": "approve", "comment": ""},
    )
    assert response.status_code == 302


def test_page_says_plainly_when_what_ships_is_unavailable(client, in_review, alice):
    client.force_login(alice)
    html = client.get(reverse("checklists:release", args=[in_review.pk])).content.decode()
    assert 'data-testid="shipping-unavailable"' in html and "turned off" in html


def test_range_is_capped(team, alice, dave, repo, monkeypatch):
    monkeypatch.setattr(commit_range, "MAX_COMMITS", 2)
    for n in range(3):
        head = commit_as(repo["path"], "carol", message=f"c{n}", files={f"f{n}.txt": str(n)})
    release = make_release(team, alice, repository=repo["url"], commit=head)
    shipping = commit_range.shipping(release)
    assert shipping.truncated and len(shipping.commits) == 2


def test_an_unreadable_repository_is_not_fetched_again_on_every_view(
    team, alice, settings, tmp_path, monkeypatch
):
    settings.DATA_DIR = tmp_path / "data"
    settings.RELEASEGATE_READ_COMMIT_RANGES = True
    release = ready_for_review(make_release(team, alice, repository=str(tmp_path / "missing")), alice)
    reads = []
    real_read_range = commit_range.read_range
    monkeypatch.setattr(commit_range, "read_range", lambda *a: reads.append(a) or real_read_range(*a))
    first, second = commit_range.shipping(release), commit_range.shipping(release)
    assert len(reads) == 1
    assert second.error == first.error and "could not be read" in first.error
