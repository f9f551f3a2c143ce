"""A team's checklist, versioned on pages: the owner edits a draft, compares it, publishes it;
releases keep the copy they started with; YAML export and import stay."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from checklists import workflow
from checklists.checklist_format.files import parse_checklist
from checklists.errors import InvalidInput, NotAllowed, TransitionError
from checklists.models import AuditEvent, ChecklistTemplate
from checklists.workflow import checklist_versions

from .helpers.factories import TeamFactory, make_release

NEW_ITEM = {
    "key": "security.pen-test",
    "category": "security",
    "title": "Pen test signed off",
    "help": "Link the report.",
    "satisfied_by": "manual",
    "required": True,
    "waivable": False,
}


def test_a_draft_copies_the_shared_default_under_the_teams_own_name(team, bob):
    default = ChecklistTemplate.default()
    draft = workflow.start_draft(team, actor=bob)
    assert draft.status == "draft" and draft.team == team and draft.based_on == default
    assert draft.slug == "payments-checklist" and draft.slug != default.slug
    assert [i.key for i in draft.items.order_by("order")] == [i.key for i in default.items.order_by("order")]
    assert workflow.start_draft(team, actor=bob) == draft  # one draft per team
    assert AuditEvent.objects.filter(verb="team.checklist_draft_started").count() == 1


def test_publishing_changes_new_releases_only(team, alice, bob):
    before = make_release(team, alice)
    workflow.save_draft_item(team, actor=bob, data=NEW_ITEM)
    workflow.remove_draft_item(team, actor=bob, key="handoff.known-limitations")
    published = workflow.publish_draft(team, actor=bob)
    team.refresh_from_db()
    assert team.template == published and published.status == "published" and published.published_by == bob
    after = make_release(team, alice)
    assert after.items.filter(key="security.pen-test").exists()
    assert not before.items.filter(key="security.pen-test").exists()
    assert before.items.filter(key="handoff.known-limitations").exists()
    event = AuditEvent.objects.get(verb="team.checklist_published")
    assert event.payload["before"]["slug"] == ChecklistTemplate.default().slug
    assert event.payload["after"] == {
        "slug": "payments-checklist",
        "version": 1,
        "name": "Payments checklist",
    }
    changes = {(c["change"], c["key"]) for c in event.payload["changes"]}
    assert {("added", "security.pen-test"), ("removed", "handoff.known-limitations")} <= changes


def test_another_team_on_the_default_keeps_it(team, bob, alice):
    other = TeamFactory(slug="identity", name="Identity")
    workflow.save_draft_item(team, actor=bob, data=NEW_ITEM)
    workflow.publish_draft(team, actor=bob)
    assert checklist_versions.in_use(other) == ChecklistTemplate.default()
    assert not ChecklistTemplate.default().items.filter(key="security.pen-test").exists()


def test_the_next_draft_is_the_next_version_of_the_teams_own_checklist(team, bob):
    workflow.save_draft_item(team, actor=bob, data=NEW_ITEM)
    first = workflow.publish_draft(team, actor=bob)
    second = workflow.start_draft(team, actor=bob)
    assert (second.slug, second.version, second.based_on) == (first.slug, first.version + 1, first)


def test_each_edit_is_audited_with_before_and_after_and_the_diff_follows(team, bob):
    workflow.save_draft_item(team, actor=bob, data=NEW_ITEM)
    workflow.save_draft_item(
        team,
        actor=bob,
        data={**NEW_ITEM, "title": "External pen test", "waivable": True},
        key=NEW_ITEM["key"],
    )
    workflow.move_draft_item(team, actor=bob, key=NEW_ITEM["key"], direction="up")
    saved, changed, moved = AuditEvent.objects.filter(verb__startswith="team.checklist_item").order_by("id")
    assert saved.payload["before"] is None and saved.payload["after"]["title"] == "Pen test signed off"
    assert changed.payload["before"]["title"] == "Pen test signed off"
    assert changed.payload["after"]["waivable"] is True
    assert moved.payload["after"]["position"] == moved.payload["before"]["position"] - 1
    draft = checklist_versions.draft_of(team)
    from checklists.checklist_format.diff import diff_items

    diff = diff_items(ChecklistTemplate.default().items.all(), draft.items.order_by("order"))
    assert [c["change"] for c in diff] == ["added"]  # an insertion moves nothing else


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**NEW_ITEM, "key": "has space"}, "key"),
        ({**NEW_ITEM, "key": "security.no-hardcoded-secrets"}, "key"),
        ({**NEW_ITEM, "category": "vibes"}, "category"),
        ({**NEW_ITEM, "title": ""}, "title"),
        ({**NEW_ITEM, "satisfied_by": "scan:magic"}, "satisfied_by"),
        ({**NEW_ITEM, "satisfied_by": "scan:secrets"}, "satisfied_by"),
        ({**NEW_ITEM, "satisfied_by": "signoff", "waivable": True}, "waivable"),
    ],
)
def test_an_invalid_item_is_refused_naming_its_field(team, bob, data, field):
    workflow.start_draft(team, actor=bob)
    count = checklist_versions.draft_of(team).items.count()
    with pytest.raises(InvalidInput) as refused:
        workflow.save_draft_item(team, actor=bob, data=data)
    assert field in refused.value.details
    assert checklist_versions.draft_of(team).items.count() == count


def test_an_empty_draft_cannot_be_published_and_members_cannot_edit(team, bob, alice):
    with pytest.raises(TransitionError):
        workflow.publish_draft(team, actor=bob)  # no draft yet
    draft = workflow.start_draft(team, actor=bob)
    for item in list(draft.items.all()):
        workflow.remove_draft_item(team, actor=bob, key=item.key)
    with pytest.raises(InvalidInput):
        workflow.publish_draft(team, actor=bob)
    with pytest.raises(NotAllowed):
        workflow.save_draft_item(team, actor=alice, data=NEW_ITEM)
    workflow.discard_draft(team, actor=bob)
    assert checklist_versions.draft_of(team) is None


def test_yaml_export_and_import_round_trip_through_the_draft(client, team, bob):
    client.force_login(bob)
    exported = client.get(reverse("checklists:team_checklist_export", args=[team.slug]))
    spec = yaml.safe_load(exported.content)
    spec["items"] = spec["items"][:3] + [NEW_ITEM]
    spec["name"] = "Payments checklist"
    upload = SimpleUploadedFile("c.yaml", yaml.safe_dump(spec).encode(), content_type="application/yaml")
    assert (
        client.post(
            reverse("checklists:team_checklist_import", args=[team.slug]), {"file": upload}
        ).status_code
        == 302
    )
    draft = checklist_versions.draft_of(team)
    assert [i.key for i in draft.items.order_by("order")][
        -1
    ] == "security.pen-test" and draft.name == "Payments checklist"
    again = client.get(reverse("checklists:team_checklist_export", args=[team.slug]) + "?version=draft")
    assert len(parse_checklist(again.content.decode()).items) == 4
    broken = SimpleUploadedFile("c.yaml", b"items: [", content_type="application/yaml")
    answer = client.post(reverse("checklists:team_checklist_import", args=[team.slug]), {"file": broken})
    assert answer.status_code == 400 and draft.items.count() == 4


def test_the_checklist_page_shows_the_diff_and_publishes(client, team, bob, alice):
    client.force_login(bob)
    url = reverse("checklists:team_checklist", args=[team.slug])
    assert (
        client.post(reverse("checklists:team_checklist_change", args=[team.slug, "start"])).status_code == 302
    )
    added = client.post(
        reverse("checklists:team_checklist_item_add", args=[team.slug]),
        {f"new-{k}": ("on" if v is True else v) for k, v in NEW_ITEM.items() if v is not False},
    )
    assert added.status_code == 302
    page = client.get(url).content.decode()
    assert 'data-change="added" data-key="security.pen-test"' in page
    moved = client.post(
        reverse("checklists:team_checklist_item", args=[team.slug]),
        {"key": "correctness.tests-pass", "action": "down"},
    )
    assert moved.status_code == 302
    assert 'data-change="moved"' in client.get(url).content.decode()
    assert (
        client.post(reverse("checklists:team_checklist_change", args=[team.slug, "publish"])).status_code
        == 302
    )
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "Pen test signed off" in page and "Edit: open a draft" not in page
    assert (
        client.post(reverse("checklists:team_checklist_change", args=[team.slug, "start"])).status_code == 403
    )


def test_the_api_lists_published_versions_only(team, bob, alice):
    from .helpers.api import client_for

    draft = workflow.start_draft(team, actor=bob)
    listed = client_for(alice).get("/api/v1/templates/").json()
    ids = {t["id"] for t in listed["results"]}
    assert draft.pk not in ids and ChecklistTemplate.default().pk in ids
    assert client_for(alice).get(f"/api/v1/templates/{draft.pk}/").status_code == 404
