"""The secrets scanner on real temporary repositories: planted secrets found, none shown."""

import json

import pytest

from checklists.git import repo
from checklists.scans import secrets
from checklists.scans.base import ScanTarget

from .helpers.git import Symlink, make_repo, planted_secrets, private_key_block


def scan(tmp_path, files, **target):
    url, sha = make_repo(tmp_path / "r", files)
    snap = repo.snapshot(url, sha, base=tmp_path / "mirrors")
    return secrets.run(ScanTarget(url, sha, snap, **target))


@pytest.fixture
def planted():
    return planted_secrets()


def planted_files(s):
    return {
        "deploy/aws.py": f'ACCESS_KEY_ID = "{s["aws-access-key-id"]}"\n'
        f'aws_secret_access_key = "{s["aws-secret-access-key"]}"\n',
        "ci/github.yml": f"env:\n  GH: {s['github-token']}\n",
        "ci/gitlab.sh": f"curl -H 'PRIVATE-TOKEN: {s['gitlab-token']}' https://gitlab.invalid\n",
        "notify/slack.js": f"const client = new WebClient('{s['slack-token']}');\n",
        "billing/stripe.rb": f"Stripe.api_key = '{s['stripe-key']}'\n",
        "web/maps.html": f'<script src="https://maps.googleapis.com/maps/api/js?key={s["google-api-key"]}"></script>\n',
        "keys/deploy_key": private_key_block(s["private-key-body"]),
        "tests/fixtures/session.txt": f"Authorization: Bearer {s['jwt']}\n",
        "config/.env": f"DB_PASSWORD={s['password']}\n",
        "README.md": "# Payments\nNothing secret here.\n",
    }


def test_planted_secrets_of_every_kind_are_found_with_file_line_and_rule(tmp_path, planted):
    result = scan(tmp_path, planted_files(planted))
    assert result.status == "failed"
    found = {(f.file, f.rule) for f in result.findings}
    assert found >= {
        ("deploy/aws.py", "aws-access-key-id"),
        ("deploy/aws.py", "aws-secret-access-key"),
        ("ci/github.yml", "github-token"),
        ("ci/gitlab.sh", "gitlab-token"),
        ("notify/slack.js", "slack-token"),
        ("billing/stripe.rb", "stripe-key"),
        ("web/maps.html", "google-api-key"),
        ("keys/deploy_key", "private-key"),
        ("tests/fixtures/session.txt", "jwt"),
        ("config/.env", "config-secret-value"),
    }
    assert not any(f.file == "README.md" for f in result.findings)
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["aws-secret-access-key"].line == 2
    header = "-----BEGIN RSA PRIVATE KEY-----"  # releasegate: allow (a header is not a secret)
    assert by_rule["private-key"].excerpt == header


def test_no_secret_reaches_findings_or_summary(tmp_path, planted):
    result = scan(tmp_path, planted_files(planted))
    answer = json.dumps({"findings": [f.as_dict() for f in result.findings], "summary": result.summary})
    for value in planted.values():
        assert value not in answer
        assert value[4:20] not in answer  # not even a long fragment


def test_clean_repository_passes(tmp_path):
    files = {
        "app.py": "import os\nPASSWORD = os.environ['DB_PASSWORD']\ntoken = get_token()\n",
        "config/.env.example": "DB_PASSWORD=changeme\nAPI_TOKEN=${API_TOKEN}\n",
        "docs/setup.md": "Set `STRIPE_KEY` to your key, e.g. sk_live_xxx.\n",
        "settings.py": 'PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]\n'
        'AUTH_PASSWORD_VALIDATORS = []\nsecret_name = "payment_api_key"\n',
        "aws.md": "The documented sample key is AKIAIOSFODNN7EXAMPLE.\n",
    }
    result = scan(tmp_path, files)
    assert result.status == "passed", result.findings
    assert result.summary["files_scanned"] == 5


def test_inline_pragma_allows_one_line(tmp_path, planted):
    files = {
        "a.py": f'KEY = "{planted["github-token"]}"  # releasegate: allow (revoked test token)\n'
        f'OTHER = "{planted["stripe-key"]}"\n'
    }
    result = scan(tmp_path, files)
    assert [(f.line, f.rule) for f in result.findings] == [(2, "stripe-key")]


def test_team_allowlist_by_path_glob_and_by_finding_key(tmp_path, planted):
    files = {
        "fixtures/keys.txt": planted["github-token"] + "\n",
        "app/b.py": f'x = "{planted["stripe-key"]}"\n',
        "app/c.py": f'y = "{planted["google-api-key"]}"\n',
    }
    result = scan(tmp_path, files, secrets_allowlist=["fixtures/**", "app/b.py:stripe-key:1"])
    assert [(f.file, f.rule) for f in result.findings] == [("app/c.py", "google-api-key")]


def test_secrets_in_non_utf8_files_are_found(tmp_path, planted):
    data = "caf\xe9 = 1\n".encode("latin-1") + f"key = '{planted['aws-access-key-id']}'\n".encode()
    result = scan(tmp_path, {"legacy.cfg": data})
    assert [(f.file, f.line, f.rule) for f in result.findings] == [("legacy.cfg", 2, "aws-access-key-id")]


def test_binary_and_symlinked_files_are_listed_not_scanned(tmp_path, planted):
    files = {
        "blob.bin": b"\x00\x01" + planted["github-token"].encode(),
        "link": Symlink("/etc/passwd"),
        "a.txt": "fine\n",
    }
    result = scan(tmp_path, files)
    assert result.status == "passed"
    assert result.summary["skipped"]["binary"]["paths"] == ["blob.bin"]
    assert result.summary["skipped"]["symlink"]["paths"] == ["link"]


def test_low_entropy_values_are_not_reported(tmp_path):
    result = scan(tmp_path, {"a.py": 'password = "aaaaaaaaaaaa"\napi_key = "abababababab"\n'})
    assert result.status == "passed"


def test_rules_file_is_well_formed():
    rules = secrets.load_rules()
    assert len({r.id for r in rules.rules}) >= 60
    assert all(k == k.lower() for r in rules.rules for k in r.keywords)
    assert all(r.keywords for r in rules.rules), "every rule needs a keyword prefilter"
    assert all(r.doc for r in rules.rules), "every rule cites where its format comes from"


def test_redaction_keeps_only_public_prefixes():
    assert secrets.redact(b"ghp_" + b"a1" * 18, 4) == "ghp_********"
    assert secrets.redact(b"short", 4) == "********"
    assert secrets.redact(b"hunter2hunter2", 0) == "********"


def test_detect_secrets_second_opinion_adds_its_findings(tmp_path):
    # A hex string with no vendor format: only detect-secrets' entropy plugin has a view on it.
    files = {"a.py": 'checksum_seed = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"\n'}
    off = scan(tmp_path, files)
    on = secrets.run(ScanTarget(snapshot=_resnap(tmp_path), options={"second_opinion": True}))
    assert off.status == "passed"
    assert on.status == "failed"
    assert on.findings[0].rule.startswith("detect-secrets:")
    assert "9f86d081" not in json.dumps([f.as_dict() for f in on.findings])


def _resnap(tmp_path):
    from .helpers.git import git

    sha = git(tmp_path / "r", "rev-parse", "HEAD").strip()
    return repo.snapshot(str(tmp_path / "r"), sha, base=tmp_path / "mirrors")
