"""The review page: the evidence of the decision first, the sign-off last, only usable buttons."""

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checklists import workflow
from checklists.models import ChecklistItem, ReviewerGroup, SignOff
from checklists.policy import gate as gate_rules
from checklists.web.textdiff import inline_diff

from .helpers.factories import make_release
from .helpers.release_steps import commit, read_range, ready_for_review

MANUAL = "correctness.idempotency-tested"


def review_url(release) -> str:
    return reverse("checklists:release_review", args=[release.pk])


def page(client, user, release, path=review_url) -> str:
    client.force_login(user)
    response = client.get(path(release))
    assert response.status_code == 200
    return response.content.decode()


def test_what_ships_comes_first_then_blockers_changes_evidence_and_the_sign_off_last(
    client, team, alice, bob
):
    release = make_release(team, alice)
    release = ready_for_review(release, alice)
    html = page(client, bob, release)
    order = [
        html.index('id="shipping"'),
        html.index('id="changes"'),
        html.index('id="evidence"'),
        html.index('id="approvers"'),
        html.index('id="signoff"'),
    ]
    assert order == sorted(order)
    assert html.index('id="shipping"') < html.index('name="decision" value="approve"')
    assert "app/refunds.py" in html and "+3" in html and "−1" in html  # files with their counts
    assert "work by alice" in html  # the commit shipped
    assert 'data-testid="relation"' in html


def test_each_reviewer_is_listed_with_their_answer(client, team, alice, bob, dave, in_review):
    workflow.set_item_state(in_review, MANUAL, actor=dave, state="done", evidence="dave checked")
    in_review = ready_for_review(in_review, alice) if in_review.status == "draft" else in_review
    html = page(client, bob, in_review)
    assert 'data-reviewer="bob" data-verdict="may_approve"' in html
    assert 'data-reviewer="dave" data-verdict="may_not"' in html
    assert "You ticked or skipped" in html  # independence's own words


@pytest.mark.parametrize("who", ["alice", "carol", "ci_user"])
def test_nobody_but_a_reviewer_who_may_sign_sees_a_sign_off_button(client, request, in_review, who):
    html = page(client, request.getfixturevalue(who), in_review)
    assert (
        'name="decision"' not in html
        and "<button" not in html.split('id="signoff"')[1].split("</section>")[0]
    )
    assert 'data-testid="signoff-refusal"' in html


def test_changes_since_the_last_approval_are_a_readable_diff(client, team, alice, bob, dave, in_review):
    workflow.set_item_state(in_review, MANUAL, actor=alice, state="done", evidence="refund-queue-v1 passed")
    read_range(in_review)
    team.required_approvals = 2
    team.save()
    workflow.sign_off(in_review, actor=bob, decision="approve", comment="ok")
    workflow.set_item_state(in_review, MANUAL, actor=alice, state="done", evidence="refund-queue-v2 passed")
    html = page(client, dave, in_review)
    changes = html.split('data-testid="changes"')[1].split("</section>")[0]
    assert "refund-queue-" in changes
    assert '<del class="diff-del">v1</del><ins class="diff-ins">v2</ins>' in changes
    assert ChecklistItem.objects.get(release=in_review, key=MANUAL).title in changes
    assert "since bob approved" in changes.lower().replace("\n", " ") or "Since bob approved" in changes


def test_an_approved_release_short_of_approvals_says_so_and_takes_another(
    client, team, alice, bob, dave, approved
):
    team.required_approvals = 2
    team.save()
    html = page(client, dave, approved)
    assert "approvals are no longer enough" in html
    assert "A reviewer of the team may add an approval" in html
    assert 'name="decision" value="approve"' in html
    response = client.post(
        reverse("checklists:release_signoff", args=[approved.pk]),
        {"decision": "approve", "comment": "second look", "next": "review"},
    )
    assert response.status_code == 302 and response.url == review_url(approved)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Approved: the release has all the approvals it needs."
    ]
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert gate_rules.gate_status(approved, approved.commit).reasons == []
    workflow.deploy(approved, actor=alice)  # the way out worked


def test_the_release_page_states_the_way_out_of_an_approved_release_short_of_approvals(
    client, team, bob, approved
):
    team.required_approvals = 2
    team.save()
    html = page(client, bob, approved, lambda r: reverse("checklists:release", args=[r.pk]))
    assert 'data-testid="situation"' in html and "no longer enough" in html
    assert "data-refused" not in html  # no disabled button: the sentence says what to do


def test_a_required_group_nobody_can_fill_is_shown_on_the_release(
    client, team, alice, bob, mallory, in_review
):
    group = ReviewerGroup.objects.create(team=team, name="security", required=True)
    group.members.set([alice, mallory])  # the author, and someone who is no reviewer of the team
    for path in (review_url, lambda r: reverse("checklists:release", args=[r.pk])):
        html = page(client, bob, in_review, path)
        assert 'data-testid="unfillable-group"' in html, path
    group.members.add(bob)
    assert 'data-testid="unfillable-group"' not in page(client, bob, in_review)


def test_the_admin_warns_where_a_required_group_nobody_can_fill_is_configured(client, team, alice, mallory):
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    response = client.post(
        reverse("admin:checklists_reviewergroup_add"),
        {"team": team.pk, "name": "security", "required": "on", "members": [alice.pk, mallory.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "no member with the reviewer role" in response.content.decode()
    listing = client.get(reverse("admin:checklists_reviewergroup_changelist")).content.decode()
    assert "NOBODY" in listing


def test_a_refused_sign_off_from_the_review_page_comes_back_to_it_with_the_reason(
    client, team, bob, in_review
):
    client.force_login(bob)
    response = client.post(
        reverse("checklists:release_signoff", args=[in_review.pk]), {"decision": "reject", "next": "review"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="action-error"' in html and 'id="evidence"' in html
    assert not SignOff.objects.filter(release=in_review).exists()


def test_the_review_page_runs_a_constant_number_of_queries(
    client, team, alice, bob, dave, in_review, django_assert_max_num_queries
):
    from .helpers.release_steps import grow

    client.force_login(bob)
    with CaptureQueriesContext(connection) as small:
        assert client.get(review_url(in_review)).status_code == 200
    grow(in_review, [bob, dave], 40)
    read_range(in_review, commits=[commit("carol") for _ in range(30)])
    ReviewerGroup.objects.create(team=team, name="ops", required=True).members.set([bob, dave])
    with django_assert_max_num_queries(len(small.captured_queries) + 2):  # + the groups, when there are
        response = client.get(review_url(in_review))
    assert len(response.context["evidence"]) > 50


def test_inline_diff_keeps_context_and_names_only_what_changed():
    segments = inline_diff("refund-queue-v1", "refund-queue-v2")
    assert [(s.op, s.text) for s in segments] == [("same", "refund-queue-"), ("del", "v1"), ("ins", "v2")]
    long_before = " ".join(f"w{n}" for n in range(200)) + " tail"
    long_after = " ".join(f"w{n}" for n in range(200)) + " end"
    segments = inline_diff(long_before, long_after)
    assert segments[0].op == "gap" and ("del", "tail") in [(s.op, s.text) for s in segments]
    assert sum(len(s.text) for s in segments) < 100
    assert [(s.op, s.text) for s in inline_diff("", "new")] == [("ins", "new")]
    assert [(s.op, s.text) for s in inline_diff("old", None)] == [("del", "old")]


def test_waiting_for_my_review_links_to_the_review_page(client, bob, in_review):
    client.force_login(bob)
    html = client.get(reverse("checklists:dashboard")).content.decode()
    section = html.split('data-testid="awaiting-review"')[1].split("</section>")[0]
    assert f'href="{review_url(in_review)}"' in section
