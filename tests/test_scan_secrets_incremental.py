"""Incremental secrets scans: findings kept per (blob id, rules version) (issue 13, item 5)."""

import json

import pytest

from checklists import tasks, workflow
from checklists.git import repo
from checklists.models import ScanRun, SecretBlobFindings
from checklists.scans import secrets
from checklists.scans.base import ScanTarget
from checklists.scans.secretscan import rules as rules_mod
from checklists.scans.secretscan.cache import MemoryBlobCache
from checklists.worker.secret_cache import DatabaseBlobCache

from .helpers.factories import make_release
from .helpers.git import commit_files, make_repo, planted_secrets


def tree(n: int, planted: dict) -> dict:
    files = {f"pkg/module_{i}.py": f"def f{i}():\n    return {i}\n" for i in range(n)}
    files["pkg/client.py"] = f'GITHUB_TOKEN = "{planted["github-token"]}"\n'
    files["logo.bin"] = b"\x00\x01binary"
    return files


def scan(url, sha, base, cache, **options):
    snap = repo.snapshot(url, sha, base=base)
    return secrets.run(ScanTarget(url, sha, snap, secrets_cache=cache, options=options))


@pytest.fixture
def read_oids(monkeypatch):
    """The blob ids the scanner asked git for."""
    asked = []
    real = repo.cat_file_batch

    def counting(git_dir, files):
        asked.extend(f.oid for f in files)
        yield from real(git_dir, files)

    monkeypatch.setattr(repo, "cat_file_batch", counting)
    return asked


def test_a_new_commit_reads_and_scans_only_blobs_not_seen_before(tmp_path, read_oids):
    planted = planted_secrets()
    url, first = make_repo(tmp_path / "r", tree(30, planted))
    cache = MemoryBlobCache()
    before = scan(url, first, tmp_path / "m", cache)
    assert before.summary["files_scanned"] == 31  # 30 modules + client; the binary is sniffed once
    read_oids.clear()
    second = commit_files(
        tmp_path / "r", {"pkg/module_3.py": "def f3():\n    return 33\n", "pkg/new.py": "x = 1\n"}
    )
    after = scan(url, second, tmp_path / "m", cache)
    changed = {
        f.oid
        for f in repo.snapshot(url, second, base=tmp_path / "m").files
        if f.path in {"pkg/module_3.py", "pkg/new.py"}
    }
    assert set(read_oids) == changed
    assert after.summary["files_scanned"] == 2
    assert after.summary["files_from_cache"] == 31
    assert [(f.file, f.line, f.rule) for f in after.findings] == [("pkg/client.py", 1, "github-token")]
    assert after.summary["skipped"]["binary"]["paths"] == ["logo.bin"]  # still listed, not read


def test_a_rule_change_invalidates_every_blob_by_version(tmp_path, monkeypatch):
    url, sha = make_repo(tmp_path / "r", tree(5, planted_secrets()))
    cache = MemoryBlobCache()
    assert scan(url, sha, tmp_path / "m", cache).summary["files_scanned"] == 6
    assert scan(url, sha, tmp_path / "m", cache).summary["files_scanned"] == 0
    changed = tmp_path / "rules.toml"
    changed.write_text(
        rules_mod.RULES_FILE.read_text().replace('id = "npm-token"', 'id = "npm-access-token"')
    )
    monkeypatch.setattr(secrets, "load_rules", lambda: rules_mod.load_rules(changed))
    again = scan(url, sha, tmp_path / "m", cache)
    assert again.summary["rules_version"] != rules_mod.load_rules().version
    assert again.summary["files_scanned"] == 6


def test_the_team_allowlist_applies_to_cached_findings(tmp_path):
    url, sha = make_repo(tmp_path / "r", tree(2, planted_secrets()))
    cache = MemoryBlobCache()
    assert scan(url, sha, tmp_path / "m", cache).status == "failed"
    snap = repo.snapshot(url, sha, base=tmp_path / "m")
    target = ScanTarget(
        url, sha, snap, secrets_cache=cache, secrets_allowlist=["pkg/client.py:github-token:1"]
    )
    result = secrets.run(target)
    assert result.status == "passed" and result.summary["files_scanned"] == 0


def test_workers_share_findings_through_the_database_and_store_no_secret(team, alice, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    planted = planted_secrets()
    url, first = make_repo(tmp_path / "r", tree(10, planted))
    release = make_release(team, alice, repository=url, commit=first)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert tasks.run_scan(run.pk) == "failed"
    assert SecretBlobFindings.objects.count() == 12  # 10 modules, the client, the binary
    second = commit_files(tmp_path / "r", {"pkg/module_1.py": "def f1():\n    return -1\n"})
    run2 = ScanRun.objects.create(release=release, scanner="secrets", commit=second)
    assert tasks.run_scan(run2.pk) == "failed"
    run2.refresh_from_db()
    assert run2.summary["files_scanned"] == 1
    assert run2.summary["files_from_cache"] == 11
    stored = json.dumps(list(SecretBlobFindings.objects.values()), default=str)
    assert planted["github-token"] not in stored and planted["github-token"][4:20] not in stored


def test_two_workers_writing_the_same_blob_is_not_an_error(db):
    from checklists.scans.secretscan.cache import BlobEntry

    cache = DatabaseBlobCache()
    entry = BlobEntry([(1, "github-token", "x = ghp_********")], 1)
    cache.put_many({("a" * 40, ""): entry}, "v1")
    cache.put_many({("a" * 40, ""): entry, ("b" * 40, ""): BlobEntry([], 0)}, "v1")
    assert cache.get_many([("a" * 40, ""), ("b" * 40, ""), ("c" * 40, "")], "v1").keys() == {
        ("a" * 40, ""),
        ("b" * 40, ""),
    }
    assert cache.get_many([("a" * 40, "")], "v2") == {}
