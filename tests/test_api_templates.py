"""Checklist templates are read by the teams that use them, by managers and by staff; nobody else."""

from __future__ import annotations

import pytest

from checklists.checklist_format.files import SEED_CHECKLIST, parse_checklist, store_checklist
from checklists.models import ChecklistTemplate, TemplateItem
from tests.helpers.api import API, assert_error, client_for
from tests.helpers.factories import TeamFactory, UserFactory, add_member, make_release


def own_template(slug: str) -> ChecklistTemplate:
    spec = parse_checklist(SEED_CHECKLIST.read_text().replace("slug: pre-release", f"slug: {slug}"))
    return store_checklist(spec, ChecklistTemplate, TemplateItem)


@pytest.fixture
def security_team(dave):
    """A team with its own template; payments (alice's team) uses the default."""
    team = TeamFactory(
        name="Security", slug="security", owner=dave, template=own_template("security-checklist")
    )
    add_member(team, dave)
    return team


def listed(user) -> set[str]:
    return {row["slug"] for row in client_for(user).get(f"{API}/templates/").json()["results"]}


def test_a_user_in_no_team_reads_no_template(mallory, team, security_team):
    assert listed(mallory) == set()
    for template in ChecklistTemplate.objects.all():
        assert_error(client_for(mallory).get(f"{API}/templates/{template.pk}/"), 404, "not_found")


def test_a_member_reads_the_template_their_team_uses_and_not_another_teams(alice, team, security_team):
    assert listed(alice) == {"pre-release"}  # payments has no template of its own: the default
    other = security_team.template
    assert_error(client_for(alice).get(f"{API}/templates/{other.pk}/"), 404, "not_found")
    default = ChecklistTemplate.default()
    assert client_for(alice).get(f"{API}/templates/{default.pk}/").status_code == 200


def test_a_team_with_its_own_template_does_not_read_the_default(dave, security_team, team):
    # dave is also a reviewer of payments (conftest); a user of security only:
    only_security = UserFactory(username="sec-only")
    add_member(security_team, only_security)
    assert listed(only_security) == {"security-checklist"}


def test_a_template_a_team_made_releases_from_stays_readable_after_a_switch(alice, team):
    old = own_template("payments-v1")
    team.template = old
    team.save()
    make_release(team, alice)
    team.template = own_template("payments-v2")
    team.save()
    assert listed(alice) == {"payments-v1", "payments-v2"}


def test_managers_and_staff_read_every_template(carol, team, security_team):
    staff = UserFactory(username="operator", is_staff=True)
    everything = set(ChecklistTemplate.objects.values_list("slug", flat=True))
    assert everything == {"pre-release", "security-checklist"}
    assert listed(carol) == everything
    assert listed(staff) == everything
    template = security_team.template
    assert client_for(carol).get(f"{API}/templates/{template.pk}/").status_code == 200


def test_anonymous_gets_401(db):
    assert_error(client_for().get(f"{API}/templates/"), 401)
