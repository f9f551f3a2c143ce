"""/api/v1/releases/{id}/signoffs/: approve or reject a release in review."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..models import LONG_TEXT_MAX, SignOff
from ..policy.permissions import get_release_for_user
from .base import ApiView, error_responses, text_field, valid
from .idempotency import IDEMPOTENCY_PARAM, fingerprint, idempotent
from .release_json import ReleaseSerializer, SignOffSerializer, render_release


class SignOffCreateSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignOff.Decision.choices)
    comment = text_field(LONG_TEXT_MAX, help_text="Required for a rejection.")
    acknowledge_relation = serializers.ChoiceField(
        choices=["behind", "diverged"],
        required=False,
        help_text="Approving a commit that is older than production or diverged from it needs this: "
        "the relation shown in the release's shipping.relation.",
    )


class SignOffResultSerializer(serializers.Serializer):
    signoff = SignOffSerializer()
    release = ReleaseSerializer()


class SignOffView(ApiView):
    @extend_schema(
        summary="Approve or reject a release in review",
        description="403 `self_review` for the release's author, 403 `not_a_reviewer` for anyone "
        "without the reviewer role on its team, 403 `ticked_item` / `changed_release` / "
        "`commit_author` for a reviewer who is not independent of the content. An approval is "
        "409 `range_pending` or `range_unreadable` until a worker has read what ships (a reviewer "
        "may override on a hotfix), and 409 `relation_unacknowledged` for an older or diverged "
        "commit without `acknowledge_relation`. Honours an Idempotency-Key header.",
        request=SignOffCreateSerializer,
        parameters=[IDEMPOTENCY_PARAM],
        responses={201: SignOffResultSerializer, **error_responses(400, 401, 403, 404, 409, 415, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(SignOffCreateSerializer, request)
        release = get_release_for_user(request.user, pk)

        def sign() -> Response:
            result = workflow.sign_off(
                release.pk,
                actor=request.user,
                decision=data["decision"],
                comment=data.get("comment", ""),
                acknowledge_relation=data.get("acknowledge_relation", ""),
            )
            body = {
                "signoff": SignOffSerializer(result.signoff).data,
                "release": render_release(request, release.pk).data,
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(request.data), sign)
