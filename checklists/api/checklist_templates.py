"""/api/v1/templates/: the published checklist versions (templates) of your teams."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import ChecklistTemplate, TemplateItem
from ..policy.permissions import readable_templates
from .base import ApiView, error_responses


class TemplateItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateItem
        fields = ["key", "category", "title", "help", "order", "required", "waivable", "satisfied_by"]
        read_only_fields = fields


class TemplateSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistTemplate
        fields = ["id", "slug", "name", "version", "is_default", "created_at"]
        read_only_fields = fields


class TemplateSerializer(TemplateSummarySerializer):
    items = TemplateItemSerializer(many=True, read_only=True)

    class Meta(TemplateSummarySerializer.Meta):
        fields = [*TemplateSummarySerializer.Meta.fields, "items"]
        read_only_fields = fields


class TemplateListView(mixins.ListModelMixin, ApiView):
    serializer_class = TemplateSummarySerializer

    def get_queryset(self):
        # Drafts are a team owner's work in progress (team pages); the API lists published versions.
        return readable_templates(self.request.user).filter(status=ChecklistTemplate.Status.PUBLISHED)

    @extend_schema(
        summary="Checklist templates",
        description="The templates your teams use (managers and staff: all).",
        responses={200: TemplateSummarySerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class TemplateDetailView(mixins.RetrieveModelMixin, ApiView):
    serializer_class = TemplateSerializer

    def get_queryset(self):
        # Another team's template is a 404, like another team's release; drafts are not listed.
        return (
            readable_templates(self.request.user)
            .filter(status=ChecklistTemplate.Status.PUBLISHED)
            .prefetch_related("items")
        )

    @extend_schema(
        summary="A checklist template with its items",
        responses={200: TemplateSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return self.retrieve(request, pk=pk)
