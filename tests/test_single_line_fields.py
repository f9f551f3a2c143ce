"""One-line fields refuse line breaks and control characters with a 400, on every path.

A title with CR/LF was accepted and broke the review-request email in the worker
(BadHeaderError: reviewers were never told). One-line fields (title, repository, versions,
names) now refuse every control character and the Unicode line separators; multi-line
fields (description, plans, evidence, comments, reasons) keep tab and line breaks and
refuse the other control characters (terminal escapes, bell, C1).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from checklists import workflow
from checklists.checklist_format.files import SEED_CHECKLIST, ChecklistFileError, parse_checklist
from checklists.errors import InvalidInput
from checklists.models import AuditEvent, ChecklistTemplate, Release, Team
from tests.helpers.api import API, assert_error, client_for, release_url
from tests.helpers.factories import release_data

# CR/LF, a folded header, LF, CR, tab, vertical tab, form feed, ESC, DEL, NEL (C1), CSI (C1),
# the Unicode line and paragraph separators.
NOT_ONE_LINE = ["a\r\nBcc: x@evil.example", "a\r\n b", "a\nb", "a\rb", "a\tb", "a\x0bb", "a\x0cb", "a\x1b[2Jb",
                "a\x7fb", "a\x85b", "a\x9bb", "a\u2028b", "a\u2029b"]  # fmt: skip
ONE_LINE_FIELDS = ["title", "version_before", "version_after"]
MULTI_LINE_FIELDS = ["description", "rollback_plan", "deployment_steps", "known_limitations"]
CONTROL = ["a\x1b[31mb", "a\x07b", "a\x9bb", "a\x7fb", "a\x08b"]
LINE_BREAKS = ["line one\nline two", "line one\r\nline two", "a\tb", "a\u2028b"]


def state() -> tuple:
    return (
        Release.objects.count(),
        AuditEvent.objects.count(),
        sorted(Release.objects.values_list("title", flat=True)),
    )


@pytest.mark.parametrize("value", NOT_ONE_LINE, ids=repr)
@pytest.mark.parametrize("field", ONE_LINE_FIELDS)
def test_the_api_refuses_a_one_line_field_that_is_not_one_line(team, alice, field, value):
    before = state()
    body = {"team": "payments", **release_data(**{field: value})}
    error = assert_error(client_for(alice).post(f"{API}/releases/", body, format="json"), 400)
    assert field in error["details"], error
    assert "one line" in error["details"][field][0]
    assert state() == before


@pytest.mark.parametrize("value", CONTROL, ids=repr)
@pytest.mark.parametrize("field", MULTI_LINE_FIELDS)
def test_multi_line_fields_refuse_other_control_characters(team, alice, field, value):
    before = state()
    body = {"team": "payments", **release_data(**{field: value})}
    error = assert_error(client_for(alice).post(f"{API}/releases/", body, format="json"), 400)
    assert field in error["details"]
    assert state() == before


@pytest.mark.parametrize("value", LINE_BREAKS, ids=repr)
def test_multi_line_fields_keep_their_line_breaks_and_tabs(team, alice, value):
    body = {"team": "payments", **release_data(description=value, rollback_plan=value)}
    created = client_for(alice).post(f"{API}/releases/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["description"] == value


@pytest.mark.parametrize("value", ["done\x1b]8;;http://evil\x07", "ok\x9b1m"], ids=repr)
def test_evidence_and_comments_refuse_control_characters(in_review, release, alice, bob, value):
    item_key = release.items.filter(satisfied_by="manual").values_list("key", flat=True).first()
    patched = client_for(alice).patch(
        release_url(release, f"items/{item_key}/"), {"state": "done", "evidence": value}, format="json"
    )
    assert_error(patched, 400)
    signed = client_for(bob).post(
        release_url(in_review, "signoffs/"), {"decision": "reject", "comment": value}, format="json"
    )
    assert_error(signed, 400)
    assert not in_review.signoffs.exists()


def test_deploy_refuses_a_version_with_a_line_break(approved, alice):
    response = client_for(alice).post(
        release_url(approved, "deploy/"), {"version_after": "2.4.0\r\nX-Injected: 1"}, format="json"
    )
    assert_error(response, 400)
    approved.refresh_from_db()
    assert approved.status == Release.Status.APPROVED


# --- pages ----------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("value", ["Checkout\r\nBcc: x@evil.example", "Checkout\x1b[2J"], ids=repr)
def test_the_release_form_answers_400_and_creates_nothing(team, alice, value):
    before = state()
    data = {"team": team.pk, **release_data(title=value, repository=team.repositories.get().pk)}
    response = signed_in(alice).post(reverse("checklists:release_create"), data)
    assert response.status_code == 400
    assert "title" in response.context["form"].errors
    assert state() == before


def test_the_edit_form_answers_400_and_changes_nothing(release, alice):
    client = signed_in(alice)
    url = reverse("checklists:release_edit", args=[release.pk])
    data = {**client.get(url).context["form"].initial, "version_after": "2.5\n2.6"}
    response = client.post(url, data)
    assert response.status_code == 400
    release.refresh_from_db()
    assert release.version_after == "2.4.0"


def test_the_deploy_form_answers_400(approved, alice):
    url = reverse("checklists:release_deploy", args=[approved.pk])
    response = signed_in(alice).post(url, {"version_after": "2.4.0\nrm -rf /", "commit": ""})
    assert response.status_code == 400
    approved.refresh_from_db()
    assert approved.status == Release.Status.APPROVED


# --- admin and template files ---------------------------------------------------------


@pytest.fixture
def staff(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    client.force_login(alice)
    return client


def test_the_admin_refuses_a_team_name_with_a_line_break(staff, team):
    url = reverse("admin:checklists_team_change", args=[team.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"name": "Payments\r\nBcc: x@evil.example", "owner": team.owner_id, "production_config_globs": "[]",
                 "probe_endpoints": "[]", "probe_public_allowlist": "[]", "secrets_allowlist": "[]",
                 "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})  # fmt: skip
    response = staff.post(url, data)
    assert response.status_code == 200  # the form again, with its error
    assert "name" in response.context["adminform"].form.errors
    assert Team.objects.get(pk=team.pk).name == "Payments"


def test_the_admin_refuses_a_template_name_with_a_line_break(staff, team):
    response = staff.post(
        reverse("admin:checklists_checklisttemplate_add"),
        {
            "slug": "ops",
            "name": "Ops\nchecklist",
            "version": 1,
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors
    assert not ChecklistTemplate.objects.filter(slug="ops").exists()


def test_a_template_file_with_a_multi_line_item_title_is_refused():
    text = SEED_CHECKLIST.read_text().replace(
        "title: All tests pass (unit + integration)", 'title: "All tests\\npass"'
    )
    with pytest.raises(ChecklistFileError, match="one line"):
        parse_checklist(text)


def test_the_workflow_itself_refuses_it_whatever_the_caller(team, alice):
    with pytest.raises(InvalidInput) as caught:
        workflow.create_release(actor=alice, team=team, data=release_data(title="a\nb"))
    assert "title" in caught.value.details
