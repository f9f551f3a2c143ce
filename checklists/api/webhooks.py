"""A team's webhooks (the secret is shown once, at creation) and their delivery log."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound
from ..models import WEBHOOK_EVENTS, Team, Webhook, WebhookDelivery
from ..policy.permissions import readable_teams
from .base import ApiView, error_responses, readable_team, valid


class WebhookSerializer(serializers.ModelSerializer):
    """A hook without its secret: the secret is shown once, in the answer to its creation."""

    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Webhook
        fields = ["id", "team", "url", "events", "active", "allow_private", "created_at"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS), required=False, max_length=len(WEBHOOK_EVENTS)
    )


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="Shown this once: keep it to check X-Releasegate-Signature.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "release",
            "status",
            "attempts",
            "response_status",
            "error",
            "created_at",
            "last_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookListView(ApiView):
    queryset = Team.objects.none()
    lookup_field = "slug"

    @extend_schema(
        summary="A team's webhooks (never their secrets)",
        responses={200: WebhookSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        team = readable_team(request.user, slug)
        hooks = Webhook.objects.filter(team=team).select_related("team")
        return Response(WebhookSerializer(hooks, many=True).data)

    @extend_schema(
        summary="Register a webhook",
        description="Reviewers of the team may. The answer holds the signing secret, shown once. "
        "Only http(s); the app's own host, loopback, private, link-local and metadata addresses "
        "are refused (400 `unsafe_url`) unless an admin allows them on the hook.",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = valid(WebhookCreateSerializer, request)
        team = readable_team(request.user, slug)
        created = workflow.create_webhook(
            team, actor=request.user, url=data["url"], events=data.get("events")
        )
        body = {**WebhookSerializer(created.webhook).data, "secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDeliveryListView(mixins.ListModelMixin, ApiView):
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        hook = Webhook.objects.filter(
            pk=self.kwargs["pk"], team__in=readable_teams(self.request.user)
        ).first()
        if hook is None:
            raise NotFound("No such webhook.")
        return hook.deliveries.order_by("-created_at", "-id")

    @extend_schema(
        summary="A webhook's delivery log, newest first",
        responses={200: WebhookDeliverySerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return self.list(request)
