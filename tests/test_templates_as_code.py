"""Templates as code: a team's template round-trips through export_template / load_template,
and the API exposes templates read-only."""

import yaml
from django.core.management import call_command

from checklists.checklist_format.files import parse_checklist
from checklists.models import ChecklistTemplate

from .helpers.api import API, assert_error, client_for
from .helpers.factories import make_release


def export(capsys, **kwargs) -> str:
    capsys.readouterr()  # drop what earlier commands printed
    call_command("export_template", **kwargs)
    return capsys.readouterr().out


def test_a_teams_template_round_trips_as_yaml(tmp_path, team, alice, capsys):
    data = yaml.safe_load(export(capsys, team="payments"))
    data["slug"], data["name"] = "payments-checklist", "Payments checklist"
    data["items"].insert(
        0,
        {"key": "security.pci-scope", "category": "security", "title": "PCI scope reviewed", "help": "Ask QSA.",
         "required": True, "waivable": False, "satisfied_by": "manual"},
    )  # fmt: skip
    data["items"][1]["title"] = "All tests pass (JUnit uploaded)"
    path = tmp_path / "payments.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    call_command("load_template", str(path), team="payments")

    exported = export(capsys, team="payments")
    assert parse_checklist(exported) == parse_checklist(path.read_text())
    again = tmp_path / "again.yaml"
    again.write_text(exported)
    call_command("load_template", str(again), team="payments")
    team.refresh_from_db()
    assert (team.template.slug, team.template.version) == ("payments-checklist", 2)
    assert export(capsys, team="payments") == exported  # a fixed point
    keys = list(make_release(team, alice).items.values_list("key", flat=True))
    assert keys[0] == "security.pci-scope" and len(keys) == 20


def test_api_exposes_templates_read_only(team, alice, capsys, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(export(capsys, team="payments").replace("slug: pre-release", "slug: payments-checklist"))
    call_command("load_template", str(path), team="payments")
    client = client_for(alice)
    listed = client.get(f"{API}/templates/").json()["results"]
    assert {row["slug"] for row in listed} >= {"payments-checklist"}
    template = ChecklistTemplate.objects.get(slug="payments-checklist")
    detail = client.get(f"{API}/templates/{template.pk}/").json()
    assert [i["key"] for i in detail["items"]] == list(template.items.values_list("key", flat=True))
    assert_error(client.post(f"{API}/templates/", {"slug": "x"}, format="json"), 405)
    assert_error(client.patch(f"{API}/templates/{template.pk}/", {"name": "x"}, format="json"), 405)
    assert_error(client.delete(f"{API}/templates/{template.pk}/"), 405)
