"""What people read: item titles in the activity feed and timeline, and waiver debt said once."""

import re

from django.urls import reverse

from checklists import workflow
from checklists.models import FollowUp

from .helpers.factories import make_release
from .helpers.release_steps import pass_scans_in_review, tick_manual_items

KEY = "correctness.idempotency-tested"


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_the_activity_feed_and_the_timeline_name_items_by_title(client, alice, release):
    workflow.set_item_state(release, KEY, actor=alice, state="done", evidence="ok")
    title = release.items.get(key=KEY).title
    client.force_login(alice)
    for url in (reverse("checklists:dashboard"), reverse("checklists:release", args=[release.pk])):
        shown = text_of(client.get(url).content.decode())
        assert f"set “{title}” to done" in shown, url
        assert KEY not in shown, url


def waive_on_a_hotfix(team, alice):
    hotfix = make_release(team, alice, kind="hotfix", title="Hotfix: refund rounding")
    tick_manual_items(hotfix, alice)
    workflow.set_item_state(hotfix, "handoff.oncall-briefed", actor=alice, state="waived", reason="incident")
    workflow.submit(hotfix, actor=alice)
    pass_scans_in_review(hotfix)
    return hotfix


def test_waiver_debt_on_a_blocked_release_is_one_sentence_and_a_list_to_close(client, team, alice):
    hotfix = waive_on_a_hotfix(team, alice)
    followup = FollowUp.objects.get()
    standard = make_release(team, alice)
    tick_manual_items(standard, alice)
    client.force_login(alice)
    response = client.post(reverse("checklists:release_submit", args=[standard.pk]))
    assert response.status_code == 409
    html = response.content.decode()
    section = html.split('data-testid="waiver-debt"')[1].split("</section>")[0]
    assert text_of(section).count(followup.item_title) == 1
    refusal = html.split('data-testid="action-error"')[1].split("</div>")[0]
    assert followup.item_title not in refusal  # not said again in the refusal
    assert "owner" in section and followup.due_date.isoformat() in section
    assert reverse("checklists:followup_close", args=[followup.pk]) in section
    assert "Close with evidence" in section
    assert 'href="#item-' not in section  # no link to an item of this release (they are done)
    assert f'href="/releases/{hotfix.pk}/"' in section
    closed = client.post(
        reverse("checklists:followup_close", args=[followup.pk]), {"evidence": "briefed", "back": standard.pk}
    )
    assert closed.url == reverse("checklists:release", args=[standard.pk])
    workflow.submit(standard, actor=alice)


def test_a_hotfix_lists_each_waiver_once_with_its_follow_up(client, team, alice):
    hotfix = waive_on_a_hotfix(team, alice)
    followup = FollowUp.objects.get()
    client.force_login(alice)
    html = client.get(reverse("checklists:release", args=[hotfix.pk])).content.decode()
    header = text_of(html.split('data-testid="hotfix-banner"')[1].split("</section>")[0])
    assert header.count(followup.item_title) == 1
    assert 'data-testid="release-followups"' in html and html.count('id="followups"') == 0
    assert "Close with evidence" in header
