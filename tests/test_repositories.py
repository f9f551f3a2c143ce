"""Registered repositories: what may be registered, by whom, on every path; what a fetch checks again.

The outside attack read the server's disk and probed its network through the free-text
repository field, and handed the server's git token to any host. Each of those is a test
here, of the refusal.
"""

from __future__ import annotations

import io
import socket
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from checklists import workflow
from checklists.errors import InvalidInput, NotAllowed
from checklists.git import locations, repo
from checklists.models import AuditEvent, Repository

from .helpers.api import API, assert_error, client_for
from .helpers.factories import TeamFactory, UserFactory, add_member

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


@pytest.fixture
def no_local(settings):
    settings.RELEASEGATE_ALLOW_LOCAL_REPOSITORIES = False


# --- which locations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("https://git.example.com/payments/api.git", "https://git.example.com/payments/api.git"),
        ("HTTPS://Git.Example.com/payments/api.git/", "https://git.example.com/payments/api.git"),
        ("https://git.example.com:8443/p/a", "https://git.example.com:8443/p/a"),
        ("ssh://git@git.example.com/payments/api.git", "ssh://git@git.example.com/payments/api.git"),
        ("ssh://git.example.com:2222/p/a.git", "ssh://git.example.com:2222/p/a.git"),
        ("git@git.example.com:payments/api.git", "git@git.example.com:payments/api.git"),
        ("https://code.example.org/a/b", "https://code.example.org/a/b"),
    ],
)
def test_https_and_ssh_locations_on_allowed_hosts_are_accepted(text, canonical, no_local):
    assert locations.parse(text).canonical == canonical


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("http://git.example.com/p/a.git", "Only https:// and ssh://"),
        ("git://git.example.com/p/a.git", "Only https:// and ssh://"),
        ("file:///srv/repos/a.git", "Only https:// and ssh://"),
        ("/srv/repos/a.git", "not repositories on this installation"),
        (".", "not repositories on this installation"),
        ("/proc/self/cwd", "not repositories on this installation"),
        ("https://github.com/o/r.git", "not an allowed git host"),
        ("https://example.org/o/r.git", "not an allowed git host"),  # *.example.org means subdomains
        ("https://git.example.com.evil.net/o/r.git", "not an allowed git host"),
        ("https://127.0.0.1/o/r.git", "loopback address"),
        ("https://10.0.0.5/o/r.git", "private or non-global address"),
        ("https://169.254.169.254/o/r.git", "metadata address"),
        ("https://[::1]/o/r.git", "not locations"),
        ("https://2130706433/o/r.git", "numeric address"),
        ("https://0x7f.1/o/r.git", "numeric address"),
        ("https://localhost/o/r.git", "local host name"),
        ("https://metadata.google.internal/o/r.git", "metadata"),
        ("https://testserver/o/r.git", "own host"),
        ("https://user:pw@git.example.com/o/r.git", "no credentials"),
        ("https://token@git.example.com/o/r.git", "no credentials"),
        ("https://git.example.com/o/r.git?x=1", "no query"),
        ("https://git.example.com/../etc/passwd", "'..'"),
        ("https://git.example.com/", "path"),
        ("https://[fe80/o", "cannot be read"),
        ("--upload-pack=touch /tmp/x", "spaces"),
        ("-uhttps://git.example.com/x", "Options"),
        ("ext::sh -c touch% /tmp/pwned", "spaces"),
        ("ext::sh", "transport helpers"),
        ("https://git.example.com/a\nb", "control characters"),
        ("git@git.example.com:-oProxyCommand", "start with '-'"),
        ("ssh://-oProxyCommand@git.example.com/o/r.git", "ssh user name"),
        ("ssh://--upload-pack@git.example.com/o/r.git", "ssh user name"),
        ("x" * 600, "At most 500"),
        ("", "Give the repository's location"),
    ],
)
def test_everything_else_is_refused_with_a_reason(text, says, no_local, settings):
    settings.ALLOWED_HOSTS = ["testserver", "git.example.com.local"]
    with pytest.raises(locations.InvalidLocation) as refused:
        locations.parse(text)
    assert says in str(refused.value)


def test_no_host_is_allowed_until_an_operator_says_so(settings):
    settings.RELEASEGATE_GIT_HOSTS = []
    with pytest.raises(locations.InvalidLocation) as refused:
        locations.parse("https://git.example.com/p/a.git")
    assert "RELEASEGATE_GIT_HOSTS" in str(refused.value)


def test_local_paths_only_when_allowed_and_only_absolute(settings):
    assert locations.parse("/srv/repos/a.git").kind == "local"
    with pytest.raises(locations.InvalidLocation):
        locations.parse("./repos/a.git")
    with pytest.raises(locations.InvalidLocation):
        locations.parse("/srv/../etc")


# --- who registers, on every path ---------------------------------------------------------


def test_the_owner_registers_through_the_api_and_credentials_are_never_shown(team, bob, alice):
    body = {"location": "https://git.example.com/payments/web.git", "username": "ci", "token": "tok-123"}
    response = client_for(bob).post(f"{API}/teams/payments/repositories/", body, format="json")  # bob owns it
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["location"] == body["location"] and created["has_credentials"] is True
    assert "tok-123" not in response.content.decode()
    listed = client_for(alice).get(f"{API}/teams/payments/repositories/")
    assert body["location"] in listed.content.decode() and "tok-123" not in listed.content.decode()
    event = AuditEvent.objects.get(verb="repository.registered", actor=bob)
    assert event.payload["credentials"] == ["username", "token"] and "tok-123" not in str(event.payload)
    stored = Repository.objects.get(pk=created["id"])
    assert (stored.username, stored.token) == ("ci", "tok-123")


def test_a_member_who_is_not_the_owner_may_not_register(team, alice, dave):
    for user in (alice, dave):
        response = client_for(user).post(
            f"{API}/teams/payments/repositories/", {"location": "https://git.example.com/x/y"}, format="json"
        )
        assert_error(response, 403)
    assert not Repository.objects.filter(location="https://git.example.com/x/y").exists()


def test_an_outsider_sees_no_team_and_staff_may_register_anywhere(team, mallory):
    assert_error(client_for(mallory).get(f"{API}/teams/payments/repositories/"), 404)
    staff = UserFactory(username="ops", is_staff=True)
    repository = workflow.register_repository(team, actor=staff, location="https://git.example.com/ops/tool")
    assert repository.created_by == staff


@pytest.mark.parametrize(
    "location",
    ["/etc", "http://127.0.0.1:8000/", "https://10.0.0.5/x", "file:///srv/r", "https://evil.example.net/x"],
)
def test_the_api_refuses_locations_the_installation_may_not_fetch(team, bob, location, no_local):
    response = client_for(bob).post(
        f"{API}/teams/payments/repositories/", {"location": location}, format="json"
    )
    assert "location" in assert_error(response, 400, "invalid_location")["details"]
    assert Repository.objects.filter(team=team).count() == 1


@pytest.mark.parametrize("location", ["/proc/self/cwd", "/srv/other-team/repo.git", "/"])
def test_even_where_local_paths_are_allowed_a_team_owner_may_not_register_one(team, bob, location):
    with pytest.raises(NotAllowed):
        workflow.register_repository(team, actor=bob, location=location)
    staff = UserFactory(username="ops", is_staff=True)
    assert (
        workflow.register_repository(team, actor=staff, location="/srv/demo/repo.git").location
        == "/srv/demo/repo.git"
    )


def test_the_same_location_twice_is_refused(team, bob):
    location = team.repositories.get().location
    with pytest.raises(InvalidInput) as refused:
        workflow.register_repository(team, actor=bob, location=location)
    assert refused.value.code == "already_registered"


@pytest.mark.parametrize(
    ("location", "credentials", "field"),
    [
        ("https://git.example.com/a/b", {"ssh_key": KEY}, "ssh_key"),
        ("ssh://git@git.example.com/a/b", {"token": "t"}, "token"),
        ("ssh://git@git.example.com/a/b", {"ssh_key": "not a key"}, "ssh_key"),
        ("https://git.example.com/a/b", {"username": "a b", "token": "t"}, "username"),
        ("https://git.example.com/a/b", {"token": "two\nlines"}, "token"),
    ],
)
def test_credentials_must_fit_the_location(team, bob, location, credentials, field):
    with pytest.raises(InvalidInput) as refused:
        workflow.register_repository(
            team, actor=bob, location=location, credentials=workflow.Credentials(**credentials)
        )
    assert field in refused.value.details


def test_add_repository_prints_the_id_and_reads_the_token_from_the_environment(team, monkeypatch):
    monkeypatch.setenv("PAYMENTS_TOKEN", "tok-env")
    out = io.StringIO()
    call_command(
        "add_repository", "payments", "https://git.example.com/payments/cli.git", "--token-env", "PAYMENTS_TOKEN",
        stdout=out,
    )  # fmt: skip
    repository = Repository.objects.get(pk=int(out.getvalue()))
    assert repository.location.endswith("/cli.git") and repository.token == "tok-env"
    with pytest.raises(CommandError, match="not an allowed git host"):
        call_command("add_repository", "payments", "https://github.com/a/b")
    with pytest.raises(CommandError, match="empty or unset"):
        call_command("add_repository", "payments", "https://git.example.com/a/b", "--token-env", "NOPE_UNSET")


def test_the_team_page_lists_repositories_and_lets_only_the_owner_register(client, team, alice, bob):
    url = reverse("checklists:team_repositories", args=[team.slug])
    client.force_login(alice)
    assert client.get(url)["Location"] == reverse("checklists:team", args=[team.slug]) + "#repositories"
    page = client.get(reverse("checklists:team", args=[team.slug])).content.decode()
    assert team.repositories.get().location in page and 'class="repository-form"' not in page
    assert client.post(url, {"location": "https://git.example.com/a/b"}).status_code == 403
    client.force_login(bob)
    refused = client.post(url, {"location": "http://git.example.com/a/b"})
    assert refused.status_code == 400 and "Only https:// and ssh://" in refused.content.decode()
    assert client.post(url, {"location": "https://git.example.com/a/b", "token": "s3cret"}).status_code == 302
    page = client.get(url, follow=True).content.decode()
    assert "https://git.example.com/a/b" in page and "s3cret" not in page


def test_the_admin_registers_through_the_workflow(client, team):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post(
        reverse("admin:checklists_repository_add"),
        {"team": team.pk, "location": "http://127.0.0.1/x", "username": "", "token": "", "ssh_key": ""},
    )
    assert not Repository.objects.filter(location__contains="127.0.0.1").exists()
    assert response.status_code in (200, 302)
    client.post(
        reverse("admin:checklists_repository_add"),
        {
            "team": team.pk,
            "location": "https://git.example.com/adm/x",
            "username": "",
            "token": "",
            "ssh_key": "",
        },
    )
    assert AuditEvent.objects.filter(verb="repository.registered", actor=admin).exists()


def test_archived_repositories_take_no_new_releases(team, alice, bob):
    repository = team.repositories.get()
    workflow.update_repository(repository, actor=bob, archived=True)
    with pytest.raises(InvalidInput) as refused:
        workflow.create_release(
            actor=alice, team=team, data={"title": "x", "repository": repository.pk, "commit": "a" * 40}
        )
    assert refused.value.code == "unknown_repository"
    with pytest.raises(NotAllowed):
        workflow.update_repository(repository, actor=alice, archived=False)


# --- before every fetch (worker) -----------------------------------------------------------


def fake_dns(monkeypatch, address: str):
    """The edge of the world we do not own: what a DNS server answers for any name."""

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "0.0.0.0"])  # noqa: S104
def test_a_name_that_resolves_to_a_forbidden_address_is_never_fetched(address, monkeypatch, tmp_path):
    fake_dns(monkeypatch, address)
    ran = []
    monkeypatch.setattr(repo, "_fetch", lambda *args: ran.append(args))
    with pytest.raises(repo.RepoError) as refused:
        repo.ensure_commit("https://git.example.com/p/a.git", "a" * 40, base=tmp_path)
    assert "refused" in refused.value.message and address in refused.value.message
    assert ran == []


def test_a_private_git_server_is_allowed_only_when_named_and_never_loopback(monkeypatch, tmp_path, settings):
    settings.RELEASEGATE_GIT_PRIVATE_HOSTS = ["git.example.com"]
    fake_dns(monkeypatch, "10.1.2.3")
    seen = []
    monkeypatch.setattr(repo, "_fetch", lambda git_dir, url, refspecs, env, config: seen.append(config))
    with pytest.raises(repo.RepoError, match="is not in the repository"):
        repo.ensure_commit("https://git.example.com/p/a.git", "a" * 40, base=tmp_path)
    assert "http.curloptResolve=git.example.com:443:10.1.2.3" in seen[0]  # git connects to that address only
    fake_dns(monkeypatch, "127.0.0.1")
    with pytest.raises(repo.RepoError, match="loopback"):
        repo.ensure_commit("https://git.example.com/p/b.git", "a" * 40, base=tmp_path)


def test_a_location_registered_before_the_rules_changed_is_checked_again(settings, tmp_path):
    settings.RELEASEGATE_GIT_HOSTS = []
    with pytest.raises(repo.RepoError, match="refused"):
        repo.ensure_commit("https://git.example.com/p/a.git", "a" * 40, base=tmp_path)
    settings.RELEASEGATE_ALLOW_LOCAL_REPOSITORIES = False
    with pytest.raises(repo.RepoError, match="refused"):
        repo.ensure_commit(str(tmp_path), "a" * 40, base=tmp_path)


def test_credentials_go_to_their_own_host_only(monkeypatch, tmp_path):
    fake_dns(monkeypatch, "93.184.216.34")
    seen = []
    monkeypatch.setattr(repo, "_fetch", lambda git_dir, url, refspecs, env, config: seen.append((url, env)))
    source = repo.GitSource(
        "https://git.example.com/p/a.git", username="ci", token="tok-1"
    )  # releasegate: allow
    with pytest.raises(repo.RepoError):
        repo.ensure_commit(source, "a" * 40, base=tmp_path)
    url, env = seen[0]
    assert url == "https://git.example.com/p/a.git" and env["RELEASEGATE_GIT_HOST"] == "git.example.com"
    prompt = subprocess.run(
        [env["GIT_ASKPASS"], "Password for 'https://ci@evil.example.net': "], env=env, capture_output=True
    )
    assert prompt.stdout == b""
    assert "tok-1" not in repr(source)


def test_a_web_process_refuses_to_run_git(monkeypatch, tmp_path):
    monkeypatch.setattr(repo, "_git_forbidden", True)
    with pytest.raises(RuntimeError, match="web process"):
        repo.ensure_commit(str(tmp_path), "a" * 40, base=tmp_path)


def test_another_team_never_reads_this_teams_repository(team, alice):
    other = TeamFactory(slug="ledger", owner=alice)
    add_member(other, alice)
    repository = team.repositories.get()
    for value in (repository.location, repository.pk):
        with pytest.raises(InvalidInput) as refused:
            workflow.create_release(
                actor=alice, team=other, data={"title": "x", "repository": value, "commit": "a" * 40}
            )
        assert refused.value.code == "unknown_repository"


def test_a_mirror_filled_with_one_registrations_credentials_never_answers_another(tmp_path, settings):
    """Two teams register the same location, one with a token: they never share a mirror."""
    from .helpers.git import make_repo

    url, sha = make_repo(tmp_path / "private", {"secret.txt": "internal\n"})
    with_token = repo.GitSource(url, username="ci", token="t0k")  # releasegate: allow (test data)
    without = repo.GitSource(url)
    first = repo.ensure_commit(with_token, sha, base=tmp_path / "mirrors")
    second = repo.ensure_commit(without, sha, base=tmp_path / "mirrors")
    assert first != second
    assert repo.mirror_path(url, tmp_path / "mirrors", access=with_token.access_digest()) == first


def test_a_repository_that_never_answers_costs_a_worker_a_timeout_and_the_web_nothing(
    team, alice, bob, monkeypatch, settings, client
):
    """It accepted connections and never answered: the page hung and a PATCH got a 503. Now
    only the worker waits (RELEASEGATE_GIT_TIMEOUT), and the range ends unreadable."""
    import threading
    import time

    from checklists.git import netguard
    from checklists.worker import ranges

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held = []
    threading.Thread(target=lambda: [held.append(listener.accept()) for _ in range(8)], daemon=True).start()
    port = listener.getsockname()[1]
    settings.RELEASEGATE_GIT_TIMEOUT = 2
    # The edge we do not own: DNS answers with the silent server's address (pinned by git).
    monkeypatch.setattr(netguard, "resolve_checked", lambda *args, **kwargs: "127.0.0.1")
    repository = workflow.register_repository(
        team, actor=bob, location=f"https://git.example.com:{port}/slow.git"
    )
    release = workflow.create_release(
        actor=alice, team=team, data={"title": "slow", "repository": repository.pk, "commit": "c" * 40}
    )
    client.force_login(bob)
    started = time.monotonic()
    assert client.get(reverse("checklists:release", args=[release.pk])).status_code == 200
    assert time.monotonic() - started < 2  # the page never waits for the repository
    release.refresh_from_db()
    started = time.monotonic()
    rng = ranges.read_now(release.commit_range_id)
    assert rng.status == "unreadable" and "longer than" in rng.error
    assert time.monotonic() - started < 30
    listener.close()


@pytest.mark.parametrize(
    "spelling",
    [
        "https://git.example.com/payments/api",
        "https://git.example.com/Payments/API.git",
        "https://git.example.com:443/payments/api.git",
        "https://git.example.com/payments//api.git",
        "https://git.example.com/payments/%61pi.git",
        "https://git.example.com/payments/x/%2e%2e/api.git",
        "ssh://git@git.example.com/payments/api.git",
        "ssh://git.example.com:22/payments/api",
        "git@git.example.com:payments/api.git",
    ],
)
def test_another_spelling_of_a_registered_repository_is_refused(team, bob, spelling):
    # Production is the last deployed commit of a registration: a second spelling of the same
    # repository would have none, so an older commit would read as "new" and need no acknowledgement.
    with pytest.raises(InvalidInput) as refused:
        workflow.register_repository(team, actor=bob, location=spelling)
    assert refused.value.code == "already_registered"
    assert "https://git.example.com/payments/api.git" in refused.value.message


def test_another_repository_on_the_same_host_is_not_a_spelling(team, bob):
    workflow.register_repository(team, actor=bob, location="https://git.example.com/payments/api-v2.git")


def test_the_admin_never_shows_stored_credentials_again(client, team):
    repository = workflow.register_repository(
        team,
        actor=None,
        location="ssh://git@git.example.com/payments/deploy.git",
        credentials=workflow.Credentials(ssh_key=KEY),
    )
    https = workflow.register_repository(
        team,
        actor=None,
        location="https://git.example.com/payments/web.git",
        credentials=workflow.Credentials("ci", "tok-secret-123", ""),
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for registered in (repository, https):
        page = client.get(reverse("admin:checklists_repository_change", args=[registered.pk]))
        assert page.status_code == 200
        body = page.content.decode()
        assert KEY.splitlines()[1] not in body and "tok-secret-123" not in body


def test_saving_the_admin_form_without_new_credentials_keeps_the_stored_ones(client, team):
    repository = workflow.register_repository(
        team,
        actor=None,
        location="ssh://git@git.example.com/payments/deploy.git",
        credentials=workflow.Credentials(ssh_key=KEY),
    )
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:checklists_repository_change", args=[repository.pk])
    client.post(url, {"username": "", "token": "", "ssh_key": "", "archived": "on"})
    repository.refresh_from_db()
    assert repository.archived and repository.ssh_key == KEY
