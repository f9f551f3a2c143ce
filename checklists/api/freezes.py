"""A team's deploy freeze windows, and a reviewer's override that lets a hotfix through one."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..models import EVIDENCE_MAX, FreezeWindow, Release, Team
from ..policy import freeze
from ..policy.permissions import get_release_for_user
from .base import ApiView, error_responses, readable_team, valid


class FreezeWindowSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = FreezeWindow
        fields = ["id", "team", "starts_at", "ends_at", "reason"]
        read_only_fields = fields


class FreezeOverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=EVIDENCE_MAX, help_text="Why this hotfix must ship now.")


class FreezeOverrideView(ApiView):
    queryset = Release.objects.none()  # for the schema's path parameter types

    @extend_schema(
        summary="Let a hotfix through the team's deploy freeze",
        description="A reviewer of the team (not the author) gives the reason; audited. 409 `freeze` "
        "for a standard release, `no_freeze` when no window is active.",
        request=FreezeOverrideSerializer,
        responses={201: FreezeWindowSerializer(many=True), **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(FreezeOverrideSerializer, request)
        release = get_release_for_user(request.user, pk)
        overrides = workflow.override_freeze(release.pk, actor=request.user, reason=data["reason"])
        windows = [o.window for o in overrides]
        return Response(FreezeWindowSerializer(windows, many=True).data, status=status.HTTP_201_CREATED)


class FreezeWindowListView(ApiView):
    queryset = Team.objects.none()
    lookup_field = "slug"

    @extend_schema(
        summary="A team's deploy freeze windows (current and future)",
        description="Windows are set by an admin. `active` lists the ones in force now.",
        responses={200: FreezeWindowSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        team = readable_team(request.user, slug)
        windows = FreezeWindow.objects.filter(team=team, ends_at__gt=timezone.now()).select_related("team")
        active = {w.pk for w in freeze.active_windows(team.pk)}
        body = [{**FreezeWindowSerializer(w).data, "active": w.pk in active} for w in windows]
        return Response(body)
