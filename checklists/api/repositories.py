"""A team's registered repositories: listed for its members, registered by its owner or staff."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound
from ..models import REPOSITORY_MAX, Repository, Team
from ..policy.permissions import readable_teams
from .base import ApiView, error_responses, valid


class RepositorySerializer(serializers.ModelSerializer):
    """A registered repository; its credentials are never shown, only whether it has some."""

    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = Repository
        fields = ["id", "team", "location", "has_credentials", "archived", "created_at"]
        read_only_fields = fields


class RepositoryCreateSerializer(serializers.Serializer):
    location = serializers.CharField(
        max_length=REPOSITORY_MAX,
        help_text="https://host/path or ssh://[user@]host/path (or user@host:path) on an allowed git host.",
    )
    username = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="https only."
    )
    token = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1000,
        write_only=True,
        help_text="https only; never shown again.",
    )
    ssh_key = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20_000,
        trim_whitespace=False,
        write_only=True,
        help_text="ssh only: a private deploy key; never shown again.",
    )


def _team(user, slug: str) -> Team:
    teams = Team.objects.all() if user.is_staff else readable_teams(user)  # staff register anywhere
    team = teams.filter(slug=slug).first()
    if team is None:
        raise NotFound("No such team.")
    return team


class TeamRepositoryListView(ApiView):
    queryset = Team.objects.none()
    lookup_field = "slug"

    @extend_schema(
        summary="A team's registered repositories",
        description="The locations a release of this team may name (as `repository`, or by id).",
        responses={200: RepositorySerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        team = _team(request.user, slug)
        repositories = Repository.objects.filter(team=team).select_related("team")
        return Response(RepositorySerializer(repositories, many=True).data)

    @extend_schema(
        summary="Register a repository for a team",
        description="The team's owner or staff. The location must be https:// or ssh:// on a host of "
        "RELEASEGATE_GIT_HOSTS, never a loopback, private, link-local or metadata address (400 "
        "`invalid_location`); credentials are stored server-side and never shown again.",
        request=RepositoryCreateSerializer,
        responses={201: RepositorySerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = valid(RepositoryCreateSerializer, request)
        team = _team(request.user, slug)
        repository = workflow.register_repository(
            team,
            actor=request.user,
            location=data["location"],
            credentials=workflow.Credentials(
                data.get("username", ""), data.get("token", ""), data.get("ssh_key", "")
            ),
        )
        return Response(RepositorySerializer(repository).data, status=status.HTTP_201_CREATED)
