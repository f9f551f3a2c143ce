"""The seed checklist as data, and loading templates from YAML."""

import pytest
from django.core.management import CommandError, call_command

from checklists.checklist_format.files import SEED_CHECKLIST, ChecklistFileError, parse_checklist
from checklists.models import ChecklistTemplate, Team

from .helpers.factories import make_release

NEVER_WAIVABLE = {
    "deployment.second-pair-of-eyes",
    "security.no-hardcoded-secrets",
    "security.auth-on-endpoints",
    "deployment.rollback-plan",
}


def test_the_default_template_holds_the_19_seed_items(db):
    template = ChecklistTemplate.default()
    assert template.items.count() == 19
    by_key = {item.key: item for item in template.items.all()}
    assert {k for k, i in by_key.items() if not i.waivable} == NEVER_WAIVABLE
    assert by_key["correctness.tests-pass"].satisfied_by == "scan:tests"
    assert by_key["security.auth-on-endpoints"].satisfied_by == "scan:auth_probe"
    assert by_key["security.no-hardcoded-secrets"].satisfied_by == "scan:secrets"
    assert by_key["security.credentials-from-env"].satisfied_by == "scan:env_credentials"
    assert by_key["security.no-mock-flag"].satisfied_by == "scan:mock_flag"
    assert by_key["operations.log-level"].satisfied_by == "scan:debug_off"
    assert by_key["deployment.second-pair-of-eyes"].satisfied_by == "signoff"
    fields = {i.satisfied_by for i in by_key.values() if i.satisfied_by.startswith("field:")}
    assert fields == {
        "field:rollback_plan",
        "field:deployment_steps",
        "field:versions",
        "field:known_limitations",
    }
    assert sum(i.satisfied_by == "manual" for i in by_key.values()) == 8


def test_every_seed_line_is_an_item():
    seed = SEED_CHECKLIST.parents[2].parent.parent / "shared" / "seed" / "pre-release-checklist.txt"
    spec = parse_checklist(SEED_CHECKLIST.read_text())
    if seed.exists():
        bullets = [line for line in seed.read_text().splitlines() if line.startswith("- ")]
        checklist = bullets[: len(bullets) - 4]  # the last four bullets are "Related" links
        assert len(checklist) == len(spec.items) == 19


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[unclosed", "not valid YAML"),
        ("slug: x\nname: X\nitems: []", "non-empty"),
        ("slug: x\nname: X\nitems:\n - {key: a, category: nope, title: T}", "category"),
        (
            "slug: x\nname: X\nitems:\n - {key: a, category: security, title: T, satisfied_by: 'scan:rm'}",
            "satisfied_by",
        ),
        (
            "slug: x\nname: X\nitems:\n - {key: a, category: security, title: T, satisfied_by: signoff, waivable: true}",
            "never",
        ),
        (
            "slug: x\nname: X\nitems:\n - {key: a, category: security, title: T}\n - {key: a, category: security, title: U}",
            "twice",
        ),
    ],
)
def test_bad_template_files_are_refused_with_the_problem(text, problem):
    with pytest.raises(ChecklistFileError, match=problem):
        parse_checklist(text)


def test_load_template_adds_a_version_and_releases_keep_their_copy(tmp_path, team, alice):
    release = make_release(team, alice)
    path = tmp_path / "payments.yaml"
    path.write_text(
        "slug: payments-checklist\nname: Payments checklist\nitems:\n"
        " - {key: security.pci, category: security, title: PCI scope reviewed}\n"
        " - {key: deployment.eyes, category: deployment, title: Second pair of eyes, satisfied_by: signoff}\n"
    )
    call_command("load_template", str(path), team="payments")
    call_command("load_template", str(path), team="payments")
    team.refresh_from_db()
    assert (team.template.slug, team.template.version) == ("payments-checklist", 2)
    assert list(make_release(team, alice).items.values_list("key", flat=True)) == [
        "security.pci",
        "deployment.eyes",
    ]
    assert release.items.count() == 19


def test_export_and_load_round_trip(tmp_path, db, capsys):
    call_command("export_template")
    exported = capsys.readouterr().out
    spec = parse_checklist(exported)
    assert spec == parse_checklist(SEED_CHECKLIST.read_text())


def test_load_template_reports_bad_input(tmp_path, db):
    path = tmp_path / "bad.yaml"
    path.write_text("slug: x\n")
    with pytest.raises(CommandError, match="name is missing"):
        call_command("load_template", str(path))
    with pytest.raises(CommandError, match="cannot read"):
        call_command("load_template", str(tmp_path / "missing.yaml"))
    path.write_text("slug: x\nname: X\nitems:\n - {key: a, category: security, title: T}\n")
    with pytest.raises(CommandError, match="unknown team"):
        call_command("load_template", str(path), team="nope")
    assert not Team.objects.exists()
