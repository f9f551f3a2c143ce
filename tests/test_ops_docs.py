"""The operations documents exist and keep up with the code."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Files that read environment variables; settings.py through env_str/env_bool/env_list.
SOURCES = ["releasegate/settings.py", "gunicorn.conf.py", "checklists/git/repo.py"]
ENV_READ = re.compile(
    r"""(?:env_str|env_bool|env_list|environ\.get|environ\[|getenv)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE", "PATH", "HOME"}


def variables_read_by_the_code() -> set[str]:
    found = set()
    for source in SOURCES:
        found |= set(ENV_READ.findall((ROOT / source).read_text()))
    return found - NOT_CONFIGURATION


def test_every_environment_variable_the_code_reads_is_documented():
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (DOCS / "configuration.md").read_text()))
    read = variables_read_by_the_code()
    assert {"SECRET_KEY", "DATABASE_URL", "RELEASEGATE_ENV", "LOG_LEVEL"} <= read  # the scan works
    assert read - documented == set()


@pytest.mark.parametrize(
    ("name", "must_mention"),
    [
        ("architecture.md", ["gunicorn", "celery", "redis", "postgres", "healthz"]),
        ("runbook.md", ["deploy", "rollback", "backup", "restore", "rotate", "scale", "alert"]),
        ("known-limitations.md", ["pip-audit"]),
        ("self-check.md", ["50-self-check.sh", "scan_self"]),
    ],
)
def test_operations_documents_cover_their_subjects(name, must_mention):
    text = (DOCS / name).read_text().lower()
    for word in must_mention:
        assert word in text, f"{name} should cover {word}"


def test_self_check_answers_every_seed_item_with_evidence_that_exists():
    items = yaml.safe_load((ROOT / "checklists/checklist_format/pre_release.yaml").read_text())["items"]
    text = (DOCS / "self-check.md").read_text()
    assert len(items) == 19
    for item in items:
        assert f"`{item['key']}`" in text, f"self-check.md does not answer {item['key']}"
    # Every path named as evidence is real (a renamed test must update the page).
    for path in set(re.findall(r"`((?:tests|checklists|releasegate|docs|\.ci)/[\w./-]+)`", text)):
        assert (ROOT / path.split("::")[0]).exists(), f"self-check.md names a missing file: {path}"


def test_runbook_explains_every_metric_that_metrics_exposes(db):
    from checklists.views.monitoring import render_metrics

    names = set(re.findall(r"^# TYPE (\w+) ", render_metrics(), re.MULTILINE))
    runbook = (DOCS / "runbook.md").read_text()
    assert names
    for name in names:
        assert re.search(rf"`{name}[`{{]", runbook), f"runbook.md does not explain {name}"
