"""/api/v1/followups/: hotfix waivers' follow-ups (waiver debt), closed with evidence."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound
from ..models import EVIDENCE_MAX, FollowUp
from ..policy.permissions import readable_teams
from .base import ApiView, error_responses, valid


class FollowUpSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    closed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    open = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "team",
            "release",
            "item_key",
            "item_title",
            "waiver_reason",
            "owner",
            "due_date",
            "open",
            "created_at",
            "closed_at",
            "closed_by",
            "evidence",
        ]
        read_only_fields = fields


class FollowUpCloseSerializer(serializers.Serializer):
    evidence = serializers.CharField(
        max_length=EVIDENCE_MAX, help_text="A link or a sentence showing the item is now done."
    )


class FollowUpListView(mixins.ListModelMixin, ApiView):
    serializer_class = FollowUpSerializer

    def get_queryset(self) -> QuerySet[FollowUp]:
        found = FollowUp.objects.filter(team__in=readable_teams(self.request.user)).select_related(
            "team", "owner", "closed_by"
        )
        if slug := self.request.query_params.get("team"):
            found = found.filter(team__slug=slug)
        state = self.request.query_params.get("state", "open")
        if state == "open":
            found = found.filter(pk__in=FollowUp.objects.open().values("pk"))
        elif state == "closed":
            found = found.filter(closed_at__isnull=False)
        return found.order_by("due_date", "id")

    @extend_schema(
        summary="Follow-ups of hotfix waivers (waiver debt)",
        description="Query `team` (slug) and `state` (open by default, closed, all). While a team "
        "has open follow-ups, its next standard release cannot be submitted.",
        responses={200: FollowUpSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class FollowUpCloseView(ApiView):
    @extend_schema(
        summary="Close a follow-up with evidence",
        request=FollowUpCloseSerializer,
        responses={200: FollowUpSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(FollowUpCloseSerializer, request)
        if not FollowUp.objects.filter(pk=pk, team__in=readable_teams(request.user)).exists():
            raise NotFound("No such follow-up.")
        followup = workflow.close_followup(pk, actor=request.user, evidence=data["evidence"])
        followup = FollowUp.objects.select_related("team", "owner", "closed_by").get(pk=followup.pk)
        return Response(FollowUpSerializer(followup).data)
