"""API of the rules beyond the gate (docs/rules.md): follow-ups, what ships, independence,
freeze windows and overrides, webhooks. Views check shape and call checklists/workflow/."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound
from ..models import (
    EVIDENCE_MAX,
    WEBHOOK_EVENTS,
    FollowUp,
    FreezeWindow,
    Release,
    Team,
    Webhook,
    WebhookDelivery,
)
from ..policy import abilities, freeze, shipping
from ..policy.permissions import get_release_for_user, readable_teams
from ..policy.shipping import MAX_COMMITS, MAX_FILES
from .views import ApiView, _errors, valid

# --- shapes ----------------------------------------------------------------------------


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


class ShippingSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["pending", "ready", "unreadable"],
        help_text="pending: a worker is reading it; unreadable: see error. Approval needs ready.",
    )
    available = serializers.BooleanField(help_text="The same as state == ready.")
    error = serializers.CharField(allow_null=True, help_text="Why the range is not (yet) read.")
    base = serializers.CharField(allow_null=True, help_text="Production: the last deployed commit, if any.")
    base_release = serializers.IntegerField(allow_null=True)
    head = serializers.CharField()
    relation = serializers.CharField(allow_null=True, help_text="new, same, ahead, behind or diverged.")
    ahead_by = serializers.IntegerField(allow_null=True)
    behind_by = serializers.IntegerField(allow_null=True)
    commits = serializers.ListField(
        child=serializers.DictField(), help_text="sha, author and committer, subject."
    )
    files = serializers.ListField(
        child=serializers.DictField(), help_text="path, additions, deletions, binary."
    )
    truncated = serializers.BooleanField()
    read_at = serializers.DateTimeField(allow_null=True)
    override = serializers.DictField(allow_null=True, help_text="A reviewer's override on a hotfix.")
    max_commits = serializers.IntegerField()
    max_files = serializers.IntegerField()


class IndependenceSerializer(serializers.Serializer):
    may_sign = serializers.BooleanField(help_text="May approve now (the same as abilities.approve).")
    code = serializers.CharField(
        allow_null=True,
        help_text="self_review, not_a_reviewer, ticked_item, changed_release, commit_author, "
        "range_pending, range_unreadable, blocked, ...",
    )
    message = serializers.CharField(allow_null=True)
    reasons = serializers.ListField(child=serializers.DictField())


class RangeOverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=EVIDENCE_MAX, help_text="Why this hotfix must be approved before what ships is read."
    )


class FreezeWindowSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = FreezeWindow
        fields = ["id", "team", "starts_at", "ends_at", "reason"]
        read_only_fields = fields


class FreezeOverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=EVIDENCE_MAX, help_text="Why this hotfix must ship now.")


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


# --- views ------------------------------------------------------------------------------


def _team(user, slug: str) -> Team:
    team = readable_teams(user).filter(slug=slug).first()
    if team is None:
        raise NotFound("No such team.")
    return team


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
        responses={200: FollowUpSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class FollowUpCloseView(ApiView):
    @extend_schema(
        summary="Close a follow-up with evidence",
        request=FollowUpCloseSerializer,
        responses={200: FollowUpSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(FollowUpCloseSerializer, request)
        if not FollowUp.objects.filter(pk=pk, team__in=readable_teams(request.user)).exists():
            raise NotFound("No such follow-up.")
        followup = workflow.close_followup(pk, actor=request.user, evidence=data["evidence"])
        followup = FollowUp.objects.select_related("team", "owner", "closed_by").get(pk=followup.pk)
        return Response(FollowUpSerializer(followup).data)


class ShippingView(ApiView):
    @extend_schema(
        summary="What ships: commits and changed files since production, as a worker read them",
        description="Stored rows only: `state` is pending while a worker reads the range (after the "
        "release was created, edited, submitted, or production moved), unreadable with `error` "
        "when it could not be read, ready otherwise.",
        responses={200: ShippingSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        body = {**shipping.shipping(release).as_dict(), "max_commits": MAX_COMMITS, "max_files": MAX_FILES}
        return Response(ShippingSerializer(body).data)


class ShippingReadView(ApiView):
    @extend_schema(
        summary="Read what ships again",
        description="After a failed read (fixed credentials, a repository back online) or when "
        "production moved. Members of the team; 409 `range_ready` when it is read already. 202: a "
        "worker reads it.",
        request=None,
        responses={202: ShippingSerializer, **_errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        workflow.request_range_read(release.pk, actor=request.user)
        release = get_release_for_user(request.user, pk)
        body = {**shipping.shipping(release).as_dict(), "max_commits": MAX_COMMITS, "max_files": MAX_FILES}
        return Response(ShippingSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class RangeOverrideView(ApiView):
    @extend_schema(
        summary="Let a hotfix be approved although what ships cannot be read now",
        description="A reviewer of the team (not the author) gives the reason; audited. 409 "
        "`range_override_hotfix_only` for a standard release, `range_ready` when it was read.",
        request=RangeOverrideSerializer,
        responses={201: ShippingSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(RangeOverrideSerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.override_range(release.pk, actor=request.user, reason=data["reason"])
        release = get_release_for_user(request.user, pk)
        body = {**shipping.shipping(release).as_dict(), "max_commits": MAX_COMMITS, "max_files": MAX_FILES}
        return Response(ShippingSerializer(body).data, status=status.HTTP_201_CREATED)


class IndependenceView(ApiView):
    @extend_schema(
        summary="May I approve this release, and if not, exactly why?",
        description="The `approve` answer of the release's abilities, with every independence reason.",
        responses={200: IndependenceSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        facts = abilities.Facts(release)
        refusal = abilities.signoff_refusal(request.user, release, facts)
        reasons = []
        if refusal is not None:
            reasons = (refusal.details or {}).get("reasons") if isinstance(refusal.details, dict) else None
            reasons = reasons or [{"code": refusal.code, "message": refusal.message}]
        body = {
            "may_sign": refusal is None,
            "code": refusal.code if refusal else None,
            "message": refusal.message if refusal else None,
            "reasons": reasons,
        }
        return Response(IndependenceSerializer(body).data)


class FreezeOverrideView(ApiView):
    queryset = Release.objects.none()  # for the schema's path parameter types

    @extend_schema(
        summary="Let a hotfix through the team's deploy freeze",
        description="A reviewer of the team (not the author) gives the reason; audited. 409 `freeze` "
        "for a standard release, `no_freeze` when no window is active.",
        request=FreezeOverrideSerializer,
        responses={201: FreezeWindowSerializer(many=True), **_errors(400, 401, 403, 404, 409, 415)},
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
        responses={200: FreezeWindowSerializer(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        from django.utils import timezone

        team = _team(request.user, slug)
        windows = FreezeWindow.objects.filter(team=team, ends_at__gt=timezone.now()).select_related("team")
        active = {w.pk for w in freeze.active_windows(team.pk)}
        body = [{**FreezeWindowSerializer(w).data, "active": w.pk in active} for w in windows]
        return Response(body)


class WebhookListView(ApiView):
    queryset = Team.objects.none()
    lookup_field = "slug"

    @extend_schema(
        summary="A team's webhooks (never their secrets)",
        responses={200: WebhookSerializer(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        team = _team(request.user, slug)
        hooks = Webhook.objects.filter(team=team).select_related("team")
        return Response(WebhookSerializer(hooks, many=True).data)

    @extend_schema(
        summary="Register a webhook",
        description="Reviewers of the team may. The answer holds the signing secret, shown once. "
        "Only http(s); the app's own host, loopback, private, link-local and metadata addresses "
        "are refused (400 `unsafe_url`) unless an admin allows them on the hook.",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **_errors(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = valid(WebhookCreateSerializer, request)
        team = _team(request.user, slug)
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
        responses={200: WebhookDeliverySerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return self.list(request)
