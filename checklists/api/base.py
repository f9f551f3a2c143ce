"""What every API view shares: the view class, pagination, input checks and the error shapes of the schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from ..errors import NotFound
from ..models import Team
from ..policy.permissions import readable_teams
from .parsers import JSONParser as SafeJSONParser


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ApiView(generics.GenericAPIView):
    parser_classes = [SafeJSONParser]
    pagination_class = Pagination
    # No OPTIONS introspection: the OpenAPI schema describes every endpoint (OPTIONS is a 405).
    metadata_class = None


SHA_PATTERN = r"^[0-9a-fA-F]{40}$"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. self_review, blocked.")
    message = serializers.CharField(help_text="One plain sentence for a person.")
    details = serializers.JSONField(allow_null=True, help_text="Per-field problems, blocking items, or null.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_responses(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer, description="Error") for code in codes}


def text_field(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, trim_whitespace=False, **kwargs
    )


def readable_team(user, slug: str) -> Team:
    team = readable_teams(user).filter(slug=slug).first()
    if team is None:
        raise NotFound("No such team.")
    return team
