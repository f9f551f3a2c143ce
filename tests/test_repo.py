"""Reading a repository at a commit through git plumbing: caps, symlinks, bad input."""

import os
import shlex
import subprocess

import pytest

from checklists.git import netguard, repo

from .helpers.git import Symlink, commit_files, git, make_repo


@pytest.fixture
def mirrors(tmp_path):
    return tmp_path / "mirrors"


def test_snapshot_lists_files_and_reads_them_at_the_commit(tmp_path, mirrors):
    url, first = make_repo(tmp_path / "r", {"a.txt": "one\n", "dir/b.py": "print(2)\n"})
    commit_files(tmp_path / "r", {"a.txt": "changed later\n"})
    snap = repo.snapshot(url, first, base=mirrors)
    assert sorted(snap.paths()) == ["a.txt", "dir/b.py"]
    contents = {f.path: data for f, data in snap.read()}
    assert contents == {"a.txt": b"one\n", "dir/b.py": b"print(2)\n"}


def test_second_snapshot_of_same_commit_does_not_fetch_again(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"a.txt": "x"})
    repo.snapshot(url, sha, base=mirrors)
    git_dir = repo.mirror_path(url, mirrors)
    before = (git_dir / "objects").stat().st_mtime_ns
    repo.snapshot(url, sha, base=mirrors)
    assert (git_dir / "objects").stat().st_mtime_ns == before


def test_mirror_is_bare_and_no_working_tree_is_checked_out(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"a.txt": "x"})
    repo.snapshot(url, sha, base=mirrors)
    git_dir = repo.mirror_path(url, mirrors)
    assert (git_dir / "HEAD").exists()
    assert not (git_dir / "a.txt").exists()


def test_symlink_is_listed_as_skipped_and_never_followed(tmp_path, mirrors):
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("should never be read")
    url, sha = make_repo(tmp_path / "r", {"a.txt": "x", "config/prod.yml": Symlink(str(outside))})
    snap = repo.snapshot(url, sha, base=mirrors)
    assert "config/prod.yml" not in snap.paths()
    assert repo.Skipped("config/prod.yml", "symlink") in snap.skipped
    assert all(b"never be read" not in data for _, data in snap.read())


def test_binary_files_are_skipped_and_listed(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"logo.png": b"\x89PNG\x00\x00" + os.urandom(500), "a.txt": "x"})
    snap = repo.snapshot(url, sha, base=mirrors)
    read = [f.path for f, _ in snap.read()]
    assert read == ["a.txt"]
    assert snap.skipped_summary()["binary"] == {"count": 1, "paths": ["logo.png"]}


def test_non_utf8_text_is_read_as_bytes(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"latin1.txt": "caf\xe9 cr\xe8me\n".encode("latin-1")})
    snap = repo.snapshot(url, sha, base=mirrors)
    assert [data for _, data in snap.read()] == ["caf\xe9 cr\xe8me\n".encode("latin-1")]


def test_thirty_megabyte_file_is_skipped_as_too_large(tmp_path, mirrors):
    big = (b"0123456789abcdef" * 64 + b"\n") * (30 * 1024 * 1024 // 1025)
    url, sha = make_repo(tmp_path / "r", {"big.log": big, "a.txt": "x"})
    snap = repo.snapshot(url, sha, base=mirrors, max_file_bytes=5 * 1024 * 1024)
    assert snap.paths() == ["a.txt"]
    assert repo.Skipped("big.log", "too_large") in snap.skipped


def test_total_bytes_cap_refuses_with_a_plain_message(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {f"f{i}.txt": "x" * 1000 for i in range(5)})
    with pytest.raises(repo.RepoError, match="limit is"):
        repo.snapshot(url, sha, base=mirrors, max_total_bytes=3000)


def test_missing_repository_is_a_plain_error(tmp_path, mirrors):
    with pytest.raises(repo.RepoError, match="Could not fetch"):
        repo.snapshot(str(tmp_path / "nope"), "a" * 40, base=mirrors)


def test_unknown_commit_is_a_plain_error(tmp_path, mirrors):
    url, _ = make_repo(tmp_path / "r", {"a.txt": "x"})
    with pytest.raises(repo.RepoError, match="is not in the repository"):
        repo.snapshot(url, "0" * 40, base=mirrors)


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "-uhelp", "gopher://example.com/x", "http://a b"]
)
def test_dangerous_urls_are_refused_before_git_runs(url, mirrors):
    with pytest.raises(repo.RepoError):
        repo.snapshot(url, "a" * 40, base=mirrors)
    assert not mirrors.exists() or not any(mirrors.iterdir())


def test_short_sha_is_refused(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"a.txt": "x"})
    with pytest.raises(repo.RepoError, match="40-character"):
        repo.snapshot(url, sha[:12], base=mirrors)


def test_hooks_in_the_source_repository_never_run(tmp_path, mirrors):
    url, sha = make_repo(tmp_path / "r", {"a.txt": "x"})
    marker = tmp_path / "hook-ran"
    hook = tmp_path / "r" / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    list(repo.snapshot(url, sha, base=mirrors).read())
    assert not marker.exists()


def test_submodules_are_listed_not_fetched(tmp_path, mirrors):
    sub_url, _ = make_repo(tmp_path / "sub", {"s.txt": "sub"})
    path = tmp_path / "r"
    make_repo(path, {"a.txt": "x"})
    git(path, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", sub_url, "vendor/sub")
    git(path, "commit", "--quiet", "-m", "sub")
    sha = git(path, "rev-parse", "HEAD").strip()
    snap = repo.snapshot(str(path), sha, base=mirrors)
    assert repo.Skipped("vendor/sub", "submodule") in snap.skipped
    assert "vendor/sub/s.txt" not in snap.paths()


def test_credentials_in_url_never_appear_in_messages():
    url = "https://bob:hunter2@git.example.com/x.git"  # releasegate: allow (test data)
    assert repo.redact_url(url) == "https://***@git.example.com/x.git"


def askpass(prompt: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(repo.ASKPASS), prompt], env={"PATH": os.environ["PATH"], **env}, capture_output=True
    )


def test_askpass_helper_answers_only_for_the_repositorys_own_host():
    env = {
        "RELEASEGATE_GIT_HOST": "git.example.com",
        "RELEASEGATE_GIT_USERNAME": "ci",
        "RELEASEGATE_GIT_TOKEN": "tok-from-env",  # releasegate: allow (test data)
    }
    assert askpass("Username for 'https://git.example.com': ", **env).stdout == b"ci\n"
    assert askpass("Password for 'https://ci@git.example.com': ", **env).stdout == b"tok-from-env\n"
    for prompt in (
        "Username for 'https://evil.example.net': ",
        "Password for 'https://ci@evil.example.net': ",
        "Password for 'https://ci@git.example.com.evil.net': ",
        "Password for 'https://other@git.example.com': ",
        "Password for 'http://ci@git.example.com': ",
        "Enter passphrase for key '/tmp/k': ",
    ):
        answer = askpass(prompt, **env)
        assert answer.stdout == b"" and answer.returncode != 0, prompt


def test_git_environment_ignores_user_and_system_config_and_carries_no_credentials(monkeypatch):
    monkeypatch.setenv("RELEASEGATE_GIT_TOKEN", "t0ken")  # the old global token is not read any more
    env = repo.git_env()
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GIT_ASKPASS" not in env and "t0ken" not in str(env)
    assert "core.hooksPath=/dev/null" in repo.SAFE_CONFIG
    assert "protocol.allow=never" in repo.SAFE_CONFIG and "http.followRedirects=false" in repo.SAFE_CONFIG


def test_many_files_stream_through_one_cat_file_without_deadlock(tmp_path, mirrors):
    files = {f"d{i % 10}/f{i}.txt": f"line {i}\n" * 200 for i in range(600)}
    url, sha = make_repo(tmp_path / "r", files)
    snap = repo.snapshot(url, sha, base=mirrors)
    seen = {f.path: data for f, data in snap.read()}
    assert len(seen) == 600
    assert seen["d3/f13.txt"] == b"line 13\n" * 200


def test_stopping_early_does_not_leave_git_running(tmp_path, mirrors, monkeypatch):
    url, sha = make_repo(tmp_path / "r", {f"f{i}.txt": "x" * 5000 for i in range(50)})
    snap = repo.snapshot(url, sha, base=mirrors)
    started, popen = [], subprocess.Popen

    def recording(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", recording)
    reader = snap.read()
    next(reader)
    (cat_file,) = started
    assert cat_file.poll() is None  # still streaming: more than a pipe's worth is left to read
    reader.close()  # the generator's finally kills and reaps cat-file
    assert cat_file.returncode is not None


def effective_ssh_config(monkeypatch, source: repo.GitSource) -> str:
    """What ssh would use for this fetch (`ssh -G`): the command git gets, as the worker runs it."""
    monkeypatch.setattr(netguard, "resolve_checked", lambda *args, **kwargs: "203.0.113.7")
    location = source.checked_location()
    with repo._access(location, source) as (env, _config, _url):
        command = shlex.split(env["GIT_SSH_COMMAND"])
        done = subprocess.run([*command, "-G", location.host], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_ssh_fetch_offers_none_of_the_workers_own_keys(monkeypatch):
    # HOME=/nonexistent does not stop ssh: it finds ~/.ssh through the password database, so a
    # team owner's ssh location on an allowed host would be offered the worker's own keys.
    config = effective_ssh_config(monkeypatch, repo.GitSource("git@git.example.com:team/service.git"))
    assert "identityfile ~/" not in config
    assert "identitiesonly yes" in config and "identityagent none" in config


def test_an_ssh_fetch_with_a_key_offers_only_that_key(monkeypatch):
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----"
    config = effective_ssh_config(
        monkeypatch, repo.GitSource("ssh://git@git.example.com/team/service.git", ssh_key=key)
    )
    files = [line for line in config.splitlines() if line.startswith("identityfile ")]
    assert len(files) == 1 and files[0].endswith("/key") and "identitiesonly yes" in config
