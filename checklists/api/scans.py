"""/api/v1/releases/{id}/scans/ (queue scans) and /api/v1/exceptions/ (scans that ended in error)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..models import ScanRun
from ..policy.permissions import get_release_for_user, readable_releases
from ..scans.registry import NAMES as SCANNERS
from .base import ApiView, error_responses, valid
from .release_json import ScanSerializer


class ScanRequestSerializer(serializers.Serializer):
    scanners = serializers.ListField(
        child=serializers.ChoiceField(choices=SCANNERS),
        required=False,
        max_length=len(SCANNERS),
        help_text="Leave out to queue every scan on the checklist.",
    )
    force = serializers.BooleanField(default=False, help_text="Re-run scans that already ran on this commit.")


class ScanRequestResultSerializer(serializers.Serializer):
    scans = ScanSerializer(many=True)


class ExceptionSerializer(serializers.ModelSerializer):
    """A scan that ended in error: the team's exception queue."""

    release = serializers.PrimaryKeyRelatedField(read_only=True)
    release_title = serializers.CharField(source="release.title", read_only=True)
    team = serializers.CharField(source="release.team.slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    age_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ScanRun
        fields = [
            "id",
            "release",
            "release_title",
            "team",
            "owner",
            "scanner",
            "commit",
            "error",
            "attempts",
            "queued_at",
            "finished_at",
            "age_seconds",
        ]
        read_only_fields = fields

    def get_age_seconds(self, run: ScanRun) -> int:
        """Seconds since the scan was queued."""
        return int((self.context["now"] - run.queued_at).total_seconds())


class ScanView(ApiView):
    @extend_schema(
        summary="Queue scans of the release commit",
        description="Without `scanners`, every scan on the checklist. A scan that already ran on "
        "this commit runs again only with `force`. Answers 202 with the scan runs.",
        request=ScanRequestSerializer,
        responses={202: ScanRequestResultSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(ScanRequestSerializer, request)
        release = get_release_for_user(request.user, pk)
        runs = workflow.request_scans(
            release.pk, actor=request.user, scanners=data.get("scanners"), force=data["force"]
        )
        return Response({"scans": ScanSerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)


class ExceptionListView(mixins.ListModelMixin, ApiView):
    serializer_class = ExceptionSerializer

    def get_queryset(self):
        return (
            ScanRun.objects.filter(
                current=True,
                status=ScanRun.Status.ERROR,
                release__in=readable_releases(self.request.user).values("pk"),
            )
            .select_related("release__team", "owner")
            .order_by("queued_at", "id")
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(
        summary="The exception queue: current scans that ended in error",
        description="Oldest first, for the releases you may read; each with its team and owner.",
        responses={200: ExceptionSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)
