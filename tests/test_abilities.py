"""One answer to "may this person do this, and why not?": the page, the API and the workflow agree.

For a matrix of release states and people, each action is checked three ways:
- the release page offers a usable button (a form posting to the action) or not;
- the API's `abilities[action].allowed` in the release's JSON;
- the workflow itself, called for real in a transaction that is then rolled back.
All three must give the same answer, for every cell.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from checklists import workflow
from checklists.errors import WorkflowError
from checklists.models import Release

from .helpers.api import client_for, release_url
from .helpers.release_states import STATES

PEOPLE = ("alice", "bob", "dave", "ci_user", "carol")


class Rollback(Exception):
    pass


def workflow_allows(action: str, release: Release, user, acknowledge: str = "") -> bool:
    """Try the action for real; undo it. True if the workflow accepted it."""
    calls = {
        "edit": lambda: workflow.update_release(release.pk, actor=user, data={"title": release.title + "!"}),
        "submit": lambda: workflow.submit(release.pk, actor=user),
        "approve": lambda: workflow.sign_off(
            release.pk, actor=user, decision="approve", acknowledge_relation=acknowledge
        ),
        "reject": lambda: workflow.sign_off(release.pk, actor=user, decision="reject", comment="not yet"),
        "deploy": lambda: workflow.deploy(
            release.pk, actor=user, version_after=release.version_after or "9.9.9"
        ),
        "rollback": lambda: workflow.rollback(release.pk, actor=user, reason="error rate"),
        "cancel": lambda: workflow.cancel(release.pk, actor=user, reason="superseded"),
        "read_range_again": lambda: workflow.request_range_read(release.pk, actor=user),
        "override_range": lambda: workflow.override_range(release.pk, actor=user, reason="incident"),
    }
    try:
        with transaction.atomic():
            calls[action]()
            raise Rollback
    except Rollback:
        return True
    except WorkflowError:
        return False


PAGE_MARKERS = {
    "edit": lambda pk: f'href="{reverse("checklists:release_edit", args=[pk])}"',
    "submit": lambda pk: f'action="{reverse("checklists:release_submit", args=[pk])}"',
    "approve": lambda pk: 'name="decision" value="approve"',
    "reject": lambda pk: 'name="decision" value="reject"',
    "deploy": lambda pk: f'action="{reverse("checklists:release_deploy", args=[pk])}"',
    "rollback": lambda pk: f'action="{reverse("checklists:release_rollback", args=[pk])}"',
    "cancel": lambda pk: f'action="{reverse("checklists:release_cancel", args=[pk])}"',
    "read_range_again": lambda pk: f'action="{reverse("checklists:range_read", args=[pk])}"',
    "override_range": lambda pk: f'action="{reverse("checklists:range_override", args=[pk])}"',
}


# The review page offers the decision only: sign-off and the overrides a reviewer may give.
REVIEW_ACTIONS = {"approve", "reject", "override_range", "read_range_again"}


def page_offers(html: str, action: str, pk: int) -> bool:
    """A form or link that performs the action (a disabled button with its reason posts nowhere)."""
    return PAGE_MARKERS[action](pk) in html


# --- the states ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES, ids=lambda f: f.__name__)
def test_page_api_and_workflow_give_the_same_answer(state, request, team, alice, bob, dave, ci_user, carol):
    people = {"alice": alice, "bob": bob, "dave": dave, "ci_user": ci_user, "carol": carol}
    release = state(team=team, alice=alice, bob=bob, dave=dave)
    release = Release.objects.get(pk=release.pk)
    disagreements = []
    for name in PEOPLE:
        user = people[name]
        page = Client()
        page.force_login(user)
        html = page.get(reverse("checklists:release", args=[release.pk])).content.decode()
        review = page.get(reverse("checklists:release_review", args=[release.pk])).content.decode()
        answers = client_for(user).get(release_url(release)).json()["abilities"]
        acknowledge = answers["acknowledge_relation"] or ""
        for action in PAGE_MARKERS:
            on_page = page_offers(html, action, release.pk)
            in_api = answers[action]["allowed"]
            done = workflow_allows(action, Release.objects.get(pk=release.pk), user, acknowledge)
            if not on_page == in_api == done:
                disagreements.append(f"{name} {action}: page={on_page} api={in_api} workflow={done}")
            if action in REVIEW_ACTIONS and page_offers(review, action, release.pk) != in_api:
                disagreements.append(f"{name} {action} on the review page: {not in_api} but api={in_api}")
            if action not in REVIEW_ACTIONS and page_offers(review, action, release.pk):
                disagreements.append(f"{name} {action}: the review page offers an action it should not")
            if not in_api:
                assert answers[action]["code"] and answers[action]["message"], (name, action)
    assert disagreements == []


def test_a_refused_answer_says_why_in_the_same_words_as_the_workflow(in_review, alice):
    answers = client_for(alice).get(release_url(in_review)).json()["abilities"]
    assert answers["approve"]["code"] == "self_review"
    response = client_for(alice).post(
        release_url(in_review, "signoffs/"), {"decision": "approve"}, format="json"
    )
    assert response.json()["error"]["message"] == answers["approve"]["message"]


def test_the_admin_shows_the_same_answers(client, in_review):
    from .helpers.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    html = client.get(reverse("admin:checklists_release_change", args=[in_review.pk])).content.decode()
    assert 'data-testid="admin-abilities"' in html
    assert "not_a_reviewer" in html  # a superuser is no reviewer of the team: the same refusal as elsewhere
