"""The history's date filters are ranges on created_at (index-friendly) with whole-day edges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from checklists.models import Release
from tests.helpers.factories import make_release

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
    from checklists.web.filters import HistoryFilter

    sql = str(
        HistoryFilter({"since": "2026-03-02", "until": "2026-03-05"}, queryset=Release.objects.all()).qs.query
    )
    assert "created_at" in sql
    assert "::date" not in sql and "cast_date" not in sql  # no cast around the indexed column


# Valid dates and datetimes at the edges of the calendar: the day after 9999-12-31, or a
# moment whose UTC time is outside years 1-9999, used to raise OverflowError (a 500).
EDGE_DATES = [
    {"until": "9999-12-31"},
    {"since": "9999-12-31"},
    {"since": "0001-01-01"},
    {"until": "0001-01-01"},
    {"since": "0001-01-01", "until": "9999-12-31"},
]


@pytest.mark.parametrize("params", EDGE_DATES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("path", ["/history/", "/history/export.csv"])
def test_history_and_its_export_take_the_first_and_last_day_of_the_calendar(team, alice, path, params):
    at(make_release(team, alice, title="in 2026"), datetime(2026, 3, 1, tzinfo=UTC))
    client = Client()
    client.force_login(alice)
    response = client.get(path, params)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    expected = params.get("since", "0001-01-01") <= "2026-03-01" <= params.get("until", "9999-12-31")
    assert (b"in 2026" in body) == expected, params


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"until": "9999-12-31T23:59:59-10:00"}, True),
        ({"until": "9999-12-31T23:59:59.999999-23:59"}, True),
        ({"since": "0001-01-01T00:00:00+10:00"}, True),
        ({"since": "9999-12-31T23:00:00-05:00"}, False),
        ({"until": "0001-01-01T00:30:00+01:00"}, False),
    ],
)
def test_the_api_list_takes_datetimes_whose_utc_time_is_off_the_calendar(team, alice, params, found):
    from tests.helpers.api import API, client_for

    make_release(team, alice, title="now")
    response = client_for(alice).get(f"{API}/releases/", params)
    assert response.status_code == 200, response.content
    assert (response.json()["count"] == 1) == found


def test_in_utc_holds_edge_moments_to_the_calendar():
    from checklists.web.filters import EARLIEST, LATEST, in_utc

    assert in_utc(datetime.fromisoformat("9999-12-31T23:00:00-05:00")) == LATEST
    assert in_utc(datetime.fromisoformat("0001-01-01T00:00:00+10:00")) == EARLIEST
    ordinary = datetime.fromisoformat("2026-03-01T12:00:00+02:00")
    assert in_utc(ordinary) == ordinary and in_utc(ordinary).tzinfo == UTC
