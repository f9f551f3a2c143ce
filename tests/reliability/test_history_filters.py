"""The history's date filters are ranges on created_at (index-friendly) with whole-day edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from checklists.models import Release
from tests.factories import make_release

pytestmark = pytest.mark.reliability


def at(release, moment: datetime) -> None:
    Release.objects.filter(pk=release.pk).update(created_at=moment)


def shown(client, **params) -> set[str]:
    page = client.get("/history/", params).context["page"]
    return {r.title for r in page.object_list}


def test_from_and_until_include_whole_days(team, alice):
    at(
        make_release(team, alice, title="last second of the 1st"),
        datetime(2026, 3, 1, 23, 59, 59, 999999, UTC),
    )
    at(make_release(team, alice, title="midnight of the 2nd"), datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    at(make_release(team, alice, title="end of the 2nd"), datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC))
    client = Client()
    client.force_login(alice)
    assert shown(client, until="2026-03-01") == {"last second of the 1st"}
    assert shown(client, since="2026-03-02") == {"midnight of the 2nd", "end of the 2nd"}
    assert shown(client, since="2026-03-02", until="2026-03-02") == {"midnight of the 2nd", "end of the 2nd"}
    assert shown(client, since="2026-03-03") == set()


def test_date_filters_compare_created_at_itself(team, alice):
    from checklists.filters import HistoryFilter

    sql = str(
        HistoryFilter({"since": "2026-03-02", "until": "2026-03-05"}, queryset=Release.objects.all()).qs.query
    )
    assert "created_at" in sql
    assert "::date" not in sql and "cast_date" not in sql  # no cast around the indexed column
