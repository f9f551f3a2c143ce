"""Metrics: the plain functions in checklists/web/delivery_metrics.py and the managers-only page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists import workflow
from checklists.models import Release, ScanRun
from checklists.web import delivery_metrics as metrics

from .helpers.factories import TeamFactory, add_member, make_release


def _set_times(release, **times):
    Release.objects.filter(pk=release.pk).update(**times)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 11)]
    assert metrics.percentile(values, 0.5) == 5
    assert metrics.percentile(values, 0.9) == 9
    assert metrics.percentile([3.0], 0.9) == 3
    assert metrics.percentile([], 0.5) is None


def test_time_to_approval_median_and_p90(team, alice):
    base = timezone.now() - timedelta(days=30)
    for hours in [1, 2, 3, 4, 100]:
        release = make_release(team, alice)
        _set_times(release, submitted_at=base, approved_at=base + timedelta(hours=hours))
    make_release(team, alice)  # never submitted: not counted
    result = metrics.time_to_approval(Release.objects.all())
    assert result["count"] == 5
    assert result["median"] == timedelta(hours=3)
    assert result["p90"] == timedelta(hours=100)


def test_change_failure_rate_is_rolled_back_over_shipped(team, alice):
    assert metrics.change_failure_rate(Release.objects.all()) is None
    for status in ["deployed", "deployed", "deployed", "rolled_back", "draft", "cancelled"]:
        Release.objects.filter(pk=make_release(team, alice).pk).update(status=status)
    assert metrics.change_failure_rate(Release.objects.all()) == pytest.approx(0.25)


def test_hotfix_share_ignores_cancelled(team, alice):
    make_release(team, alice)
    make_release(team, alice, kind="hotfix")
    Release.objects.filter(pk=make_release(team, alice, kind="hotfix").pk).update(status="cancelled")
    assert metrics.hotfix_share(Release.objects.all()) == pytest.approx(0.5)
    assert metrics.hotfix_share(Release.objects.none()) is None


def test_releases_per_week_split_by_kind(team, alice):
    monday = timezone.now().replace(hour=12) - timedelta(days=timezone.now().weekday() + 7)
    for kind, when in [
        ("standard", monday),
        ("hotfix", monday + timedelta(days=2)),
        ("standard", monday + timedelta(days=7)),
    ]:
        Release.objects.filter(pk=make_release(team, alice, kind=kind).pk).update(created_at=when)
    weeks = metrics.releases_per_week(Release.objects.all())
    assert [(w["standard"], w["hotfix"]) for w in weeks] == [(1, 1), (1, 0)]
    assert weeks[0]["week"] == monday.date()


def test_most_waived_and_most_failed_items(team, alice):
    for _ in range(2):
        hotfix = make_release(team, alice, kind="hotfix")
        workflow.set_item_state(
            hotfix, "correctness.idempotency-tested", actor=alice, state="waived", reason="fire"
        )
    release = make_release(team, alice)
    for _ in range(2):
        run = workflow.request_scans(release, actor=alice, scanners=["secrets"], force=True)[0]
        workflow.claim_scan(run.pk)
        workflow.record_scan_result(run.pk, status=ScanRun.Status.FAILED, findings=[{"file": "a", "line": 1}])
    waived = metrics.most_waived_items(Release.objects.all())
    assert waived[0]["key"] == "correctness.idempotency-tested" and waived[0]["n"] == 2
    failed = metrics.most_failed_items(Release.objects.all())
    assert failed[0]["scanner"] == "secrets" and failed[0]["n"] == 2
    assert "secret" in failed[0]["title"].lower()


def test_metrics_page_is_for_managers_only(client, alice, bob, mallory, release):
    for user in (alice, bob, mallory):
        client.force_login(user)
        assert client.get(reverse("checklists:metrics")).status_code == 403


def test_manager_sees_metrics_per_team_and_overall_with_chart_data(client, carol, alice, release):
    other = TeamFactory(name="Ledger", slug="ledger")
    add_member(other, alice)
    make_release(other, alice, kind="hotfix")
    client.force_login(carol)
    response = client.get(reverse("checklists:metrics"))
    assert response.status_code == 200
    labels = [row.label for row in response.context["rows"]]
    assert labels == ["Ledger", "Payments", "All teams"]
    html = response.content.decode()
    assert '<script id="chart-data" type="application/json">' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    scoped = client.get(reverse("checklists:metrics"), {"team": "ledger"})
    assert scoped.context["summary"].releases == 1
    assert scoped.context["summary"].hotfix_share == 1.0
