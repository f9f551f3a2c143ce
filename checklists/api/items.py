"""/api/v1/releases/{id}/items/{key}/: set a checklist item's state, evidence or reason."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound
from ..models import EVIDENCE_MAX, ChecklistItem
from ..policy.permissions import get_release_for_user
from .base import ApiView, error_responses, text_field, valid
from .release_json import ItemSerializer


class ItemUpdateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=ChecklistItem.State.choices,
        required=False,
        help_text="New state; leave out to change only evidence or reason.",
    )
    evidence = text_field(EVIDENCE_MAX, help_text="A link or text that shows the item is done.")
    reason = text_field(EVIDENCE_MAX, help_text="Required when skipping (not_applicable) or waiving.")


class ItemView(ApiView):
    @extend_schema(
        summary="Set a checklist item's state, evidence or reason",
        request=ItemUpdateSerializer,
        responses={200: ItemSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
    )
    def patch(self, request: Request, pk: int, key: str) -> Response:
        data = valid(ItemUpdateSerializer, request)
        release = get_release_for_user(request.user, pk)
        state = data.get("state")
        if state is None:
            state = release.items.filter(key=key).values_list("state", flat=True).first()
            if state is None:
                raise NotFound(f"The checklist has no item {key!r}.", code="unknown_item")
        item = workflow.set_item_state(
            release.pk,
            key,
            actor=request.user,
            state=state,
            evidence=data.get("evidence"),
            reason=data.get("reason"),
        )
        # Answered from what the transaction returned: no read after the commit to fail.
        return Response(ItemSerializer(item).data)
