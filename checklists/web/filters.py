"""Release filters shared by the API list and the history page (django-filter)."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters
import django_filters.constants
from django import forms
from django.db.models import Q
from django.utils import timezone

from ..models import Release

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def in_utc(moment: datetime) -> datetime:
    """The moment in UTC, held to what a datetime can hold.

    The database compares in UTC; a valid date at the edge of the calendar
    (`9999-12-31T23:00-05:00`, the day after 9999-12-31) has no UTC datetime and
    used to raise OverflowError (a 500). Beyond the edge means "no bound".
    """
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return LATEST if moment.year == datetime.max.year else EARLIEST


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 bound that never overflows when converted to UTC."""

    def filter(self, qs, value):
        return super().filter(qs, in_utc(value) if value else value)


class ReleaseFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="Team slug.")
    status = django_filters.ChoiceFilter(choices=Release.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Release.Kind.choices)
    author = django_filters.CharFilter(field_name="author__username", help_text="Author's username.")
    since = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    until = UtcIsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )

    class Meta:
        model = Release
        fields = ["team", "status", "kind", "author", "since", "until"]


DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def start_of_day(day: date) -> datetime:
    """Midnight of a day in the current time zone (what `created_at__date` compares in), in UTC."""
    return in_utc(datetime.combine(day, time.min))


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorting whose ties are broken by id, in the same direction, so that numbered pages
    neither repeat nor skip rows that share a title, status or date."""

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        if not any(o.lstrip("-") == "id" for o in ordering):
            ordering.append("-id" if ordering[-1].startswith("-") else "id")
        return qs.order_by(*ordering)


class HistoryFilter(ReleaseFilter):
    """The history page's filters: the API's, with dates from a date picker, text search and sorting."""

    team = django_filters.ChoiceFilter(field_name="team__slug", label="Team", empty_label="All teams")
    status = django_filters.ChoiceFilter(choices=Release.Status.choices, empty_label="Any status")
    kind = django_filters.ChoiceFilter(choices=Release.Kind.choices, empty_label="Any kind")
    author = django_filters.CharFilter(field_name="author__username", label="Author (username)")
    # Whole days, as a range on created_at itself so its index serves the filter
    # (`created_at__date` would wrap the column in a cast that no index matches).
    since = django_filters.DateFilter(method="created_from", label="Created from", widget=DATE_INPUT)
    until = django_filters.DateFilter(method="created_until", label="Created until", widget=DATE_INPUT)
    q = django_filters.CharFilter(method="search", label="Text")
    o = StableOrderingFilter(
        fields=(
            ("id", "id"),
            ("title", "title"),
            ("team__name", "team"),
            ("kind", "kind"),
            ("status", "status"),
            ("author__username", "author"),
            ("created_at", "created"),
            ("approved_at", "approved"),
            ("deployed_at", "deployed"),
        ),
        label="Sort by",
    )

    class Meta(ReleaseFilter.Meta):
        fields = [*ReleaseFilter.Meta.fields, "q"]

    def __init__(self, *args, teams=(), **kwargs):
        """`teams`: (slug, name) pairs, the teams the reader may filter by."""
        super().__init__(*args, **kwargs)
        self.filters["team"].extra["choices"] = list(teams)

    def created_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=start_of_day(value)) if value else queryset

    def created_until(self, queryset, name, value):
        if not value or value == date.max:  # the last day of the calendar has no day after it
            return queryset
        return queryset.filter(created_at__lt=start_of_day(value + timedelta(days=1)))

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(repository__location__icontains=value)
            | Q(commit__startswith=value.lower())
            | Q(version_after__icontains=value)
        )
