"""Deploy freeze windows: the gate answers 409 with the window; only a hotfix passes, with a reviewer's override."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import workflow
from checklists.errors import NotAllowed, TransitionError
from checklists.models import AuditEvent, FreezeWindow
from checklists.policy import gate as gate_rules

from .helpers.api import assert_error, client_for, release_url
from .helpers.release_steps import ready_for_review


@pytest.fixture
def frozen(team):
    now = timezone.now()
    return FreezeWindow.objects.create(
        team=team, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5), reason="Black Friday"
    )


@pytest.fixture
def approved_hotfix(hotfix, alice, bob):
    ready_for_review(hotfix, alice)
    workflow.sign_off(hotfix, actor=bob, decision="approve")
    hotfix.refresh_from_db()
    return hotfix


def test_gate_is_shut_during_a_freeze_and_deploy_refused(frozen, approved, alice):
    reasons = gate_rules.gate_status(approved, approved.commit).reasons
    assert reasons and "Black Friday" in reasons[0]
    with pytest.raises(TransitionError) as refused:
        workflow.deploy(approved, actor=alice)
    assert refused.value.code == "freeze" and refused.value.details["windows"][0]["reason"] == "Black Friday"
    with pytest.raises(TransitionError):
        workflow.override_freeze(approved, actor=alice, reason="standard releases never pass")


def test_a_past_or_future_window_does_not_block(team, approved):
    now = timezone.now()
    FreezeWindow.objects.create(
        team=team, starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1), reason="x"
    )
    FreezeWindow.objects.create(
        team=team, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2), reason="y"
    )
    assert gate_rules.gate_status(approved, approved.commit).reasons == []


def test_a_hotfix_passes_only_with_a_reviewers_override_which_is_audited(
    frozen, approved_hotfix, alice, bob, ci_user
):
    with pytest.raises(TransitionError):
        workflow.deploy(approved_hotfix, actor=alice)
    with pytest.raises(NotAllowed):
        workflow.override_freeze(approved_hotfix, actor=alice, reason="I wrote it")  # the author
    with pytest.raises(NotAllowed):
        workflow.override_freeze(approved_hotfix, actor=ci_user, reason="pipeline")  # not a reviewer
    workflow.override_freeze(approved_hotfix, actor=bob, reason="Refunds double-charge customers")
    event = AuditEvent.objects.get(verb="freeze.overridden")
    assert event.actor == bob and event.payload["windows"][0]["id"] == frozen.pk
    assert gate_rules.gate_status(approved_hotfix, approved_hotfix.commit).reasons == []
    workflow.deploy(approved_hotfix, actor=alice)


def test_api_gate_answers_409_with_the_window_and_override_opens_it(frozen, approved_hotfix, ci_user, bob):
    url = release_url(approved_hotfix, f"gate/?commit={approved_hotfix.commit}")
    response = client_for(ci_user).get(url)
    assert response.status_code == 409
    body = response.json()
    assert body["freeze"][0]["reason"] == "Black Friday" and body["error"]["details"]["freeze"]
    assert_error(
        client_for(bob).post(release_url(approved_hotfix, "freeze-override/"), {"reason": ""}, format="json"),
        400,
    )
    created = client_for(bob).post(
        release_url(approved_hotfix, "freeze-override/"),
        {"reason": "customers double-charged"},
        format="json",
    )
    assert created.status_code == 201 and created.json()[0]["id"] == frozen.pk
    assert client_for(ci_user).get(url).status_code == 200
    windows = client_for(ci_user).get("/api/v1/teams/payments/freezes/").json()
    assert windows[0]["active"] is True


def test_api_refuses_override_for_a_standard_release(frozen, approved, bob):
    assert_error(
        client_for(bob).post(release_url(approved, "freeze-override/"), {"reason": "please"}, format="json"),
        409,
        "freeze",
    )


def test_page_shows_the_window_and_the_override_form_to_a_reviewer(
    client, frozen, approved_hotfix, alice, bob
):
    client.force_login(alice)
    html = client.get(reverse("checklists:release", args=[approved_hotfix.pk])).content.decode()
    assert 'data-testid="freeze"' in html and "Black Friday" in html and "freeze-override-form" not in html
    client.force_login(bob)
    html = client.get(reverse("checklists:release", args=[approved_hotfix.pk])).content.decode()
    assert "freeze-override-form" in html
    response = client.post(
        reverse("checklists:freeze_override", args=[approved_hotfix.pk]), {"reason": "incident"}
    )
    assert response.status_code == 302
    assert 'data-testid="freeze"' not in client.get(response["Location"]).content.decode()
