"""/api/v1/releases/{id}/gate/?commit=SHA: may a pipeline deploy this commit now?"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import Release
from ..policy import gate as gate_rules
from ..policy.permissions import get_release_for_user
from .base import ApiView, ErrorDetailSerializer, error_responses
from .release_json import ShippingSummarySerializer, shipping_summary


class GateOpenSerializer(serializers.Serializer):
    open = serializers.BooleanField(help_text="Always true in a 200.")
    release = serializers.IntegerField()
    commit = serializers.CharField()
    approved_at = serializers.DateTimeField()
    approvals = serializers.IntegerField()
    required_approvals = serializers.IntegerField()
    shipping = ShippingSummarySerializer(help_text="What ships, and the commit's relation to production.")
    warning = serializers.CharField(
        allow_blank=True, help_text="Set when the commit is older than production or diverged (acknowledged)."
    )


class GateClosedSerializer(serializers.Serializer):
    open = serializers.BooleanField(help_text="Always false in a 409.")
    release = serializers.IntegerField()
    commit = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())
    freeze = serializers.ListField(
        child=serializers.DictField(),
        help_text="Deploy freeze windows that keep the gate shut (id, starts_at, ends_at, reason).",
    )
    shipping = ShippingSummarySerializer(help_text="What ships, and the commit's relation to production.")
    error = ErrorDetailSerializer()


class GateView(ApiView):
    @extend_schema(
        summary="May a pipeline deploy this commit now?",
        description="200 with `open: true` only when the release is approved, enough current "
        "(not stale) approvals remain, `commit` is the approved commit, and what ships has been "
        "read from production's commit (an older or diverged commit needs approvals that "
        "acknowledged it; `shipping.relation` and `warning` say so); otherwise 409 with "
        "`open: false` and the reasons, so that `curl --fail` stops the pipeline. A missing or "
        "malformed `commit` is one of those reasons (409).",
        parameters=[
            OpenApiParameter(
                "commit",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="The full 40-character SHA about to be deployed.",
            )
        ],
        responses={
            200: GateOpenSerializer,
            409: OpenApiResponse(GateClosedSerializer, description="The gate is closed."),
            **error_responses(401, 403, 404),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        commit = request.query_params.get("commit")
        # The common answer, "open", from one statement (checklists/policy/gate.py); else the full rules.
        if (found := gate_rules.open_gate(request.user, pk, commit)) is not None:
            return Response(found.as_dict())
        release = get_release_for_user(
            request.user,
            pk,
            queryset=Release.objects.select_related("team", "commit_range").defer(
                "commit_range__commits",
                "commit_range__files",  # the gate counts, never lists
            ),
        )
        gate = gate_rules.gate_status(release, commit)
        reasons = gate.reasons
        shipping = shipping_summary(gate.shipping, counts=False)
        if reasons:
            details = {"reasons": reasons, "freeze": gate.freeze} if gate.freeze else {"reasons": reasons}
            body = {
                "open": False,
                "release": release.pk,
                "commit": commit,
                "status": release.status,
                "reasons": reasons,
                "freeze": gate.freeze,
                "shipping": shipping,
                "error": {"code": "gate_closed", "message": reasons[0], "details": details},
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        body = {
            "open": True,
            "release": release.pk,
            "commit": release.commit,
            "approved_at": release.approved_at,
            "approvals": gate.approvals,
            "required_approvals": release.team.required_approvals,
            "shipping": shipping,
            "warning": gate.shipping.relation_sentence(),
        }
        return Response(GateOpenSerializer(body).data)
