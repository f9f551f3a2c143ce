"""`manage.py seed_demo` gives a newcomer a team to click through."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from checklists.models import AuditEvent, Membership, Release, Team
from checklists.policy.permissions import is_manager

pytestmark = pytest.mark.django_db


def signs_in(username: str, password: str) -> bool:
    return User.objects.get(username=username).check_password(password)


@pytest.fixture
def demo_mode(settings, tmp_path):
    settings.RELEASEGATE_DEMO = True
    settings.PRODUCTION = False
    settings.DATA_DIR = tmp_path


def test_seed_demo_creates_the_team_people_and_releases_in_every_status(demo_mode, capsys):
    call_command("seed_demo", password="demo-password-1")  # releasegate: allow - a test password
    team = Team.objects.get(slug="payments")
    assert team.required_approvals == 1
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles == {"alice": "member", "bob": "reviewer", "dave": "reviewer", "ci": "member"}
    owners = set(Membership.objects.filter(team=team, owner=True).values_list("user__username", flat=True))
    assert owners == {"bob"} and team.owner.username == "bob"
    assert set(Release.objects.values_list("status", flat=True)) == set(Release.Status.values)
    assert signs_in("carol", "demo-password-1")
    assert is_manager(User.objects.get(username="carol"))
    assert User.objects.get(username="alice").email == "alice@example.com"
    assert AuditEvent.objects.filter(verb="release.deployed").exists()
    deployed = Release.objects.get(status="deployed")
    scans = dict(deployed.scans.values_list("scanner", "status"))
    assert scans == dict.fromkeys(
        ["secrets", "mock_flag", "env_credentials", "debug_off", "tests", "auth_probe"], "passed"
    )
    planted = Release.objects.get(title="Gateway client rewrite")
    failed = set(planted.items.filter(state="failed").values_list("key", flat=True))
    assert failed == {
        "security.no-hardcoded-secrets",
        "security.no-mock-flag",
        "security.credentials-from-env",
        "operations.log-level",
    }
    assert "demo-password-1" not in capsys.readouterr().out


def test_seed_demo_prints_a_generated_password_once(demo_mode, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("Demo password (shown once): ")[1].strip()
    assert signs_in("bob", password)


def test_seed_demo_twice_does_not_duplicate(demo_mode):
    call_command("seed_demo", password="demo-password-1")  # releasegate: allow - a test password
    count = Release.objects.count()
    call_command("seed_demo", password="demo-password-2")  # releasegate: allow - a test password
    assert Release.objects.count() == count
    assert signs_in("alice", "demo-password-2")


def test_seed_demo_is_refused_outside_demo_mode(settings):
    settings.RELEASEGATE_DEMO = False
    with pytest.raises(CommandError, match="RELEASEGATE_DEMO"):
        call_command("seed_demo", password="x")
    assert not Team.objects.exists()


def test_seed_demo_is_refused_in_production(settings):
    settings.RELEASEGATE_DEMO = True
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("seed_demo", password="x")
    assert not Team.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_seed_demo_on_a_new_database_reuses_the_demo_repository_left_in_var(demo_mode, settings):
    """The repository of an earlier demo ends on the planted-problems commit; a new seed starts clean."""
    from checklists.models import Repository
    from tests.helpers.factories import ensure_default_template

    ensure_default_template()  # an earlier transactional test may have flushed the data migration's rows
    call_command("seed_demo", password="demo-password-1")  # releasegate: allow - a test password
    # A new database, the same var/: what `rm db.sqlite3; make run` does.
    from django.core.management import call_command as run

    run("flush", interactive=False, verbosity=0)
    ensure_default_template()
    call_command("seed_demo", password="demo-password-1")  # releasegate: allow - a test password
    approved = Release.objects.get(title="Settlement batch v3")
    assert approved.status == "approved"
    assert approved.commit_range.status == "ready" and approved.commit_range.relation == "ahead"
    assert Repository.objects.get(team__slug="payments").location.endswith("demo/payments-api")
    deployed = Release.objects.get(status="deployed")
    assert set(deployed.scans.values_list("status", flat=True)) == {"passed"}


def test_the_demo_registers_its_own_repository_and_reads_what_ships(demo_mode):
    from checklists.models import Repository

    call_command("seed_demo", password="demo-password-1")  # releasegate: allow - a test password
    repository = Repository.objects.get(team__slug="payments")
    assert AuditEvent.objects.filter(verb="repository.registered").exists()
    for release in Release.objects.filter(repository=repository):
        assert release.commit_range.status == "ready", (release.title, release.commit_range.error)
