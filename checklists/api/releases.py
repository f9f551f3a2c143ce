"""/api/v1/releases/: list, open, read, and the transitions (submit, deploy, roll back, cancel).

Each view checks shape, calls checklists/workflow/, renders. Who may do what is decided in
checklists/policy/: a release the user may not read is a 404, a change they may not make is a 403.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..models import LONG_TEXT_MAX, REPOSITORY_MAX, TITLE_MAX, VERSION_MAX, Release
from ..policy.permissions import get_release_for_user, readable_releases
from ..web.filters import ReleaseFilter
from .base import SHA_PATTERN, ApiView, error_responses, text_field, valid
from .idempotency import IDEMPOTENCY_PARAM, fingerprint, idempotent
from .release_json import ReleaseSerializer, ReleaseSummarySerializer, render_release


class ReleaseCreateSerializer(serializers.Serializer):
    team = serializers.CharField(max_length=50, help_text="Slug of a team you are a member of.")
    title = serializers.CharField(max_length=TITLE_MAX)
    kind = serializers.ChoiceField(choices=Release.Kind.choices, default=Release.Kind.STANDARD)
    repository = serializers.CharField(
        max_length=REPOSITORY_MAX,
        help_text="A location registered for the team (GET /api/v1/teams/{slug}/repositories/) or its id; "
        "anything else is 400 unknown_repository.",
    )
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, help_text="Full 40-character SHA of the commit to release."
    )
    version_before = text_field(VERSION_MAX)
    version_after = text_field(VERSION_MAX)
    description = text_field(LONG_TEXT_MAX)
    rollback_plan = text_field(LONG_TEXT_MAX)
    deployment_steps = text_field(LONG_TEXT_MAX)
    known_limitations = text_field(LONG_TEXT_MAX)


class DeploySerializer(serializers.Serializer):
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, required=False, help_text="Must be the approved commit if given."
    )
    version_after = text_field(VERSION_MAX, help_text="Needed if the release has no version after yet.")


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=LONG_TEXT_MAX, help_text="Why it was rolled back.")


class CancelSerializer(serializers.Serializer):
    reason = text_field(LONG_TEXT_MAX)


class ReleaseListView(mixins.ListModelMixin, ApiView):
    serializer_class = ReleaseSummarySerializer
    filterset_class = ReleaseFilter

    def get_queryset(self):
        return readable_releases(self.request.user).with_related()

    @extend_schema(
        summary="List releases",
        description="Newest first; only releases of your teams (managers: all). Paginated.",
        responses={200: ReleaseSummarySerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        summary="Open a release",
        description="Opens a draft in a team you are a member of; its checklist is a copy of the "
        "team's template. Honours an Idempotency-Key header.",
        request=ReleaseCreateSerializer,
        parameters=[IDEMPOTENCY_PARAM],
        responses={201: ReleaseSerializer, **error_responses(400, 401, 403, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        data = dict(valid(ReleaseCreateSerializer, request))
        team = data.pop("team")

        def create() -> Response:
            release = workflow.create_release(actor=request.user, team=team, data=data)
            return render_release(request, release.pk, status_code=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(request.data), create)


class ReleaseDetailView(ApiView):
    serializer_class = ReleaseSerializer

    @extend_schema(
        summary="A release with its checklist, sign-offs and scans",
        responses={200: ReleaseSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return render_release(request, pk)


class SubmitView(ApiView):
    @extend_schema(
        summary="Submit a draft for review",
        description="Queues the scans that have not run on this commit. 409 `blocked` lists the "
        "required items in the way (details).",
        request=None,
        responses={200: ReleaseSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        workflow.submit(release.pk, actor=request.user)
        return render_release(request, release.pk)


class DeployView(ApiView):
    @extend_schema(
        summary="Record that the approved commit was deployed",
        request=DeploySerializer,
        responses={200: ReleaseSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(DeploySerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.deploy(
            release.pk,
            actor=request.user,
            commit=data.get("commit"),
            version_after=data.get("version_after") or None,
        )
        return render_release(request, release.pk)


class RollbackView(ApiView):
    @extend_schema(
        summary="Record that a deployed release was rolled back",
        request=RollbackSerializer,
        responses={200: ReleaseSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(RollbackSerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.rollback(release.pk, actor=request.user, reason=data["reason"])
        return render_release(request, release.pk)


class CancelView(ApiView):
    @extend_schema(
        summary="Cancel a draft or a release in review",
        request=CancelSerializer,
        responses={200: ReleaseSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(CancelSerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.cancel(release.pk, actor=request.user, reason=data.get("reason", ""))
        return render_release(request, release.pk)
