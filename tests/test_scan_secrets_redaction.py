"""No excerpt carries a secret-looking value, the finding's own or a neighbour's (issue 12, item 1).

Several secrets of different rules share each line; every stored row, API answer, page and
log line is searched for each of them (and for long fragments of them).
"""

import json
import logging

import pytest
from django.apps import apps

from checklists import tasks, workflow
from checklists.scans.secretscan import engine, rules

from .helpers.api import client_for, release_url
from .helpers.factories import make_release
from .helpers.git import make_repo
from .helpers.secret_corpus import ALNUM, Gen


@pytest.fixture
def planted():
    g = Gen(1212)
    return {
        "password": "p@ss!" + g.s(ALNUM, 4) + "#" + g.s("0123456789", 2),  # the issue's shape
        "github": "ghp_" + g.s(ALNUM, 36),
        "aws": "AKIA" + g.s("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "url_password": g.s(ALNUM, 10),
        "stripe": "sk_live_" + g.s(ALNUM, 30),
        "jwt": g.jwt(),
        "unnamed": g.password() + g.s(ALNUM, 4),  # no rule knows it: a plain neighbour
        "slack": "xoxb-" + g.s("0123456789", 12) + "-" + g.s(ALNUM, 24),
    }


def lines(p: dict) -> str:
    return (
        f'password = "{p["password"]}"; confirm_password = "{p["password"]}"\n'
        f'gh = "{p["github"]}"; aws_id = "{p["aws"]}"; db = "postgres://app:{p["url_password"]}@db/app"\n'
        f'stripe_key = "{p["stripe"]}"  # note: {p["unnamed"]} and {p["slack"]}\n'
        f"Authorization: Bearer {p['jwt']} fallback={p['unnamed']} token={p['github']}\n"
    )


def fragments(secret: str) -> list[str]:
    """The secret and every 8-character piece of it past a public prefix of at most 8."""
    body = secret[8:] if len(secret) > 16 else secret
    return [secret] + [body[i : i + 8] for i in range(0, max(1, len(body) - 7), 4)]


def assert_absent(planted: dict, text: str, where: str):
    for name, secret in planted.items():
        for piece in fragments(secret):
            assert piece not in text, f"{name} ({piece!r}) leaked into {where}"


def test_every_finding_on_a_line_masks_every_secret_on_it(planted):
    result = engine.scan_blob("app/config.py", lines(planted).encode(), rules.load_rules())
    assert {f.line for f in result.findings} == {1, 2, 3, 4}
    assert len(result.findings) >= 8
    for finding in result.findings:
        assert_absent(planted, finding.excerpt, f"the excerpt of {finding.rule}")


def test_the_issue_example_shows_neither_password():
    secret = "p@ss!w0rd" + "#42"  # releasegate: allow (the issue's own example, not a secret)
    line = f'password = "{secret}"; confirm_password = "{secret}"\n'.encode()
    findings = engine.scan_blob("a.py", line, rules.load_rules()).findings
    assert findings and all("w0rd" not in f.excerpt and "#42" not in f.excerpt for f in findings)


def test_no_secret_reaches_any_row_answer_page_or_log(
    team, alice, tmp_path, settings, caplog, planted, client
):
    settings.DATA_DIR = tmp_path / "data"
    caplog.set_level(logging.DEBUG)
    url, sha = make_repo(tmp_path / "r", {"app/config.py": lines(planted), "README.md": "# app\n"})
    release = make_release(team, alice, repository=url, commit=sha)
    [run] = workflow.request_scans(release, actor=alice, scanners=["secrets"])
    assert tasks.run_scan(run.pk) == "failed"
    rows = json.dumps(
        [list(model.objects.values()) for model in apps.get_app_config("checklists").get_models()],
        default=str,
    )
    api = client_for(alice).get(release_url(release)).content.decode()
    client.force_login(alice)
    response = client.get(f"/releases/{release.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "app/config.py" in api and "app/config.py" in page
    for where, text in (
        ("the database", rows),
        ("the API", api),
        ("the page", page),
        ("the logs", caplog.text),
    ):
        assert_absent(planted, text, where)
