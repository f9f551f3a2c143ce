"""Release filters shared by the API list and the history page (django-filter)."""

import django_filters

from .models import Release


class ReleaseFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug", help_text="Team slug.")
    status = django_filters.ChoiceFilter(choices=Release.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Release.Kind.choices)
    author = django_filters.CharFilter(field_name="author__username", help_text="Author's username.")
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Created before (ISO 8601)."
    )

    class Meta:
        model = Release
        fields = ["team", "status", "kind", "author", "since", "until"]
