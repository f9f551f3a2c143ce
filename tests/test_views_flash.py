"""Every page action says what happened in exactly one flash message."""

import re

from django.urls import reverse

from .helpers.factories import make_release, release_data
from .helpers.release_steps import pass_scans_in_review, read_range, tick_manual_items


def flashes(response) -> list[str]:
    html = response.content.decode()
    if 'class="messages"' not in html:
        return []
    block = html.split('class="messages"')[1].split("</div>\n  </div>")[0]
    return re.findall(r'class="alert alert-\w+ alert-dismissible', block)


def post(client, user, name, pk=None, data=None):
    client.force_login(user)
    args = [pk] if pk is not None else []
    return client.post(reverse(name, args=args), data or {}, follow=True)


def test_each_action_flashes_once(client, team, alice, bob, dave):
    release = make_release(team, alice)
    team.required_approvals = 2
    team.save()
    data = dict(release_data(title="Flash"))
    data["team"] = team.pk
    data["repository"] = release.repository_id
    responses = {"create": post(client, alice, "checklists:release_create", data=data)}
    responses["edit"] = post(
        client, alice, "checklists:release_edit", release.pk, {**data, "title": "Flash 2"}
    )
    tick_manual_items(release, alice)
    responses["submit"] = post(client, alice, "checklists:release_submit", release.pk)
    pass_scans_in_review(release)
    read_range(release)
    responses["first approval"] = post(
        client, bob, "checklists:release_signoff", release.pk, {"decision": "approve", "comment": "ok"}
    )
    responses["last approval"] = post(
        client, dave, "checklists:release_signoff", release.pk, {"decision": "approve", "comment": "ok"}
    )
    responses["deploy"] = post(
        client, alice, "checklists:release_deploy", release.pk, {"version_after": "2.4.0"}
    )
    responses["rollback"] = post(
        client, alice, "checklists:release_rollback", release.pk, {"reason": "errors"}
    )
    other = make_release(team, alice)
    responses["scans"] = post(client, alice, "checklists:request_scans", other.pk)
    responses["cancel"] = post(client, alice, "checklists:release_cancel", other.pk, {"reason": "dropped"})
    responses["token"] = post(client, alice, "checklists:rotate_token")
    for action, response in responses.items():
        assert response.status_code == 200, action
        assert len(flashes(response)) == 1, (action, flashes(response))
