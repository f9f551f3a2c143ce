"""The integrations' outbound side: GitLab statuses, retries and the delivery log, enqueueing
on commit, and secrets that never reach a log, a delivery row or the audit trail."""

import logging

import pytest

from checklists import tasks, workflow
from checklists.effects import outbox
from checklists.integrations import deliveries
from checklists.models import AuditEvent
from checklists.models.integrations import GitLabProject, IntegrationDelivery, SlackChannel

from .helpers import broker
from .helpers.release_steps import drain, ready_for_review


@pytest.fixture
def gitlab_project(team, providers):
    repository = team.repositories.get()
    return GitLabProject.objects.create(repository=repository, token=providers.gitlab_token)


def test_gitlab_statuses_follow_the_release(providers, gitlab_project, release, alice, bob):
    ready_for_review(release, alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    drain()
    sent = providers.sent(r"^/api/v4/")
    # The project is the location's path, URL-encoded as GitLab documents for :id.
    assert {s.path for s in sent} == {f"/api/v4/projects/payments%2Fapi/statuses/{release.commit}"}
    assert all(s.headers["PRIVATE-TOKEN"] == providers.gitlab_token for s in sent)
    assert sent[-1].json == {
        "state": "success",
        "name": "releasegate/checklist",
        "target_url": f"http://localhost:8000/releases/{release.pk}/",
        "description": "Approved: the gate is open for this commit.",
    }
    workflow.deploy(release, actor=alice)
    workflow.rollback(release, actor=alice, reason="errors doubled")
    drain()
    assert providers.sent(r"^/api/v4/")[-1].json["state"] == "failed"


def test_a_configured_project_id_is_used(providers, gitlab_project, release):
    gitlab_project.project = "1234"
    gitlab_project.save()
    workflow.update_release(release, actor=release.author, data={"title": "renamed"})
    drain()
    assert providers.sent(r"^/api/v4/")[-1].path.startswith("/api/v4/projects/1234/statuses/")


def test_a_rejection_is_a_failed_status_and_cancel_a_canceled_one(
    providers, gitlab_project, release, alice, bob
):
    ready_for_review(release, alice)
    workflow.sign_off(release, actor=bob, decision="reject", comment="no rollback plan")
    drain()
    last = providers.sent(r"^/api/v4/")[-1].json
    assert last["state"] == "failed" and "Rejected by bob: no rollback plan" in last["description"]
    workflow.cancel(release, actor=alice)
    drain()
    assert providers.sent(r"^/api/v4/")[-1].json["state"] == "canceled"


def test_failures_are_retried_with_backoff_and_then_delivered(providers, gitlab_project, release):
    providers.fail_next = [502, 503]
    [row] = IntegrationDelivery.objects.filter(kind="gitlab_status")
    first = deliveries.deliver(row.pk)
    assert first.status == "pending" and first.retry_in > 0
    row.refresh_from_db()
    assert (row.attempts, row.response_status, row.error[:8]) == (1, None, "GitLab c")
    assert deliveries.deliver(row.pk).status == "pending"
    assert deliveries.deliver(row.pk).status == "delivered"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == ("delivered", 3, 201)
    assert deliveries.deliver(row.pk).status == "delivered"  # a duplicate task sends nothing
    assert len(providers.sent(r"^/api/v4/")) == 3


def test_a_refusal_is_final_and_attempts_are_capped(settings, providers, gitlab_project, release):
    gitlab_project.token = "wrong"
    gitlab_project.save()
    [row] = IntegrationDelivery.objects.filter(kind="gitlab_status")
    assert deliveries.deliver(row.pk).status == "failed"
    row.refresh_from_db()
    assert row.response_status is None and "HTTP 401" in row.error
    settings.RELEASEGATE_WEBHOOK_MAX_ATTEMPTS = 2
    workflow.update_release(release, actor=release.author, data={"title": "again"})
    providers.fail_next = [500, 500, 500]
    row = IntegrationDelivery.objects.filter(kind="gitlab_status", status="pending").get()
    gitlab_project.token = providers.gitlab_token
    gitlab_project.save()
    assert deliveries.deliver(row.pk).status == "pending"
    assert deliveries.deliver(row.pk).status == "failed"


def test_deliveries_are_enqueued_only_when_the_change_commits(
    monkeypatch, providers, gitlab_project, release, alice, django_capture_on_commit_callbacks
):
    sent = broker.record_ids(monkeypatch, outbox.DELIVER_INTEGRATION)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.update_release(release, actor=alice, data={"title": "one"})
    assert sent == [IntegrationDelivery.objects.filter(kind="gitlab_status").latest("id").pk]
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="changed"):
        from django.db import transaction

        with transaction.atomic():
            workflow.update_release(release, actor=alice, data={"title": "two"})
            raise RuntimeError("changed my mind")
    assert sent == []


def test_a_lost_task_is_sent_again_by_the_sweep(monkeypatch, settings, providers, gitlab_project, release):
    sent = broker.record_ids(monkeypatch, outbox.DELIVER_INTEGRATION)
    settings.RELEASEGATE_SCAN_RESEND_SECONDS = 0
    [row] = IntegrationDelivery.objects.filter(kind="gitlab_status")
    assert row.pk in tasks.sweep_integrations()["resent"] and sent == [row.pk]


def test_secrets_never_reach_logs_delivery_rows_or_the_audit(
    caplog, providers, gitlab_project, team, release, alice, bob, client, settings
):
    SlackChannel.objects.create(team=team, bot_token=providers.bot_token, channel="C0RELEASES")
    caplog.set_level(logging.DEBUG)
    providers.fail_next = [500]
    ready_for_review(release, alice)
    workflow.sign_off(release, actor=bob, decision="approve")
    drain()
    secrets_ = [
        providers.gitlab_token,
        providers.bot_token,
        *providers.issued_tokens,
        settings.SLACK_SIGNING_SECRET,
    ]
    assert providers.sent(r"chat.postMessage") and providers.sent(r"^/api/v4/")
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    rows = "".join(str(v) for v in IntegrationDelivery.objects.values_list("target", "body", "error"))
    audit = "".join(str(p) for p in AuditEvent.objects.values_list("payload", flat=True))
    for secret in secrets_:
        assert secret not in logged and secret not in rows and secret not in audit
    # The admin never renders a stored secret back.
    admin = bob.__class__.objects.create_superuser(
        "root", "root@example.com", "pw-" + settings.SECRET_KEY[:8]
    )
    client.force_login(admin)
    page = client.get(f"/admin/checklists/gitlabproject/{gitlab_project.pk}/change/").content.decode()
    assert providers.gitlab_token not in page


def test_an_unexpected_error_is_recorded_and_retried_not_left_claimed(
    monkeypatch, providers, gitlab_project, release
):
    def broken(row):
        raise KeyError("surprise")

    monkeypatch.setitem(deliveries.SENDERS, "gitlab_status", broken)
    [row] = IntegrationDelivery.objects.filter(kind="gitlab_status")
    outcome = deliveries.deliver(row.pk)
    row.refresh_from_db()
    assert (outcome.status, row.status, row.claimed_at) == ("pending", "pending", None)
    assert row.error == "Unexpected error; the worker log has details."


def test_admin_keeps_stored_secrets_when_left_blank_and_checks_the_webhook_host(settings, providers, team):
    from checklists.admin.integrations import SlackChannelForm

    form = SlackChannelForm(
        data={"team": team.pk, "webhook_url": "https://evil.example.net/services/x", "active": True}
    )
    assert not form.is_valid() and "webhook_url" in form.errors
    good = f"{providers.url}/hooks/services/T0/B0/abc"
    form = SlackChannelForm(data={"team": team.pk, "webhook_url": good, "active": True})
    assert form.is_valid(), form.errors
    channel = form.save()
    edit = SlackChannelForm(
        data={"team": team.pk, "webhook_url": "", "channel": "", "active": False}, instance=channel
    )
    assert edit.is_valid(), edit.errors
    edit.save()
    channel.refresh_from_db()
    assert (channel.webhook_url, channel.active) == (good, False)
    assert good not in str(SlackChannelForm(instance=channel)["webhook_url"])
