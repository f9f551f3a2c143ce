"""What ships with a release (read by a worker), re-reading it, the hotfix override when it cannot be
read, and whether the requesting reviewer is independent of the content (docs/rules.md)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..git.commit_range import MAX_COMMITS, MAX_FILES
from ..models import EVIDENCE_MAX
from ..policy import abilities, shipping
from ..policy.permissions import get_release_for_user
from .base import ApiView, error_responses, valid


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


class ShippingView(ApiView):
    @extend_schema(
        summary="What ships: commits and changed files since production, as a worker read them",
        description="Stored rows only: `state` is pending while a worker reads the range (after the "
        "release was created, edited, submitted, or production moved), unreadable with `error` "
        "when it could not be read, ready otherwise.",
        responses={200: ShippingSerializer, **error_responses(401, 403, 404)},
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
        responses={202: ShippingSerializer, **error_responses(401, 403, 404, 409)},
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
        responses={201: ShippingSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
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
        responses={200: IndependenceSerializer, **error_responses(401, 403, 404)},
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
