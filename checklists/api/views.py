"""HTTP API v1 (docs: /api/v1/docs/). Each view checks shape, calls checklists/workflow/, renders.

Who may do what is decided in checklists/policy/permissions.py and checklists/workflow/: a release the
user may not read is a 404, a change they may not make is a 403 (errors.py).
"""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, mixins, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import NotFound, TooLarge
from ..models import ChecklistItem, ChecklistTemplate, FollowUp, Release, ScanRun, SignOff
from ..policy.gate import open_gate
from ..policy.permissions import get_release_for_user, readable_releases, readable_templates
from ..scans.junit import max_report_bytes
from ..web import release_cache
from ..web.filters import ReleaseFilter
from . import serializers as s
from .idempotency import HEADER as IDEMPOTENCY_HEADER
from .idempotency import fingerprint, idempotent
from .parsers import JSONParser as SafeJSONParser

# Room for the multipart envelope around a report of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(s.ErrorSerializer, description="Error") for code in codes}


IDEMPOTENCY_PARAM = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID). Retrying with the same key and body replays the first "
    "answer and changes nothing; the same key with another body is a 422.",
)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def json_prefetches() -> list[Prefetch]:
    """The rows a release's JSON shows besides the release itself, one query each."""
    return [
        Prefetch("items", queryset=ChecklistItem.objects.select_related("set_by")),
        Prefetch("signoffs", queryset=SignOff.objects.select_related("reviewer", "snapshot")),
        Prefetch("scans", queryset=ScanRun.objects.order_by("queued_at", "id")),
        Prefetch("followups", queryset=FollowUp.objects.select_related("owner")),
    ]


def render_release(request: Request, pk: int, *, status_code: int = status.HTTP_200_OK) -> Response:
    """A release's JSON for this user: from the cache while nothing it shows changed
    (checklists/web/release_cache.py), else from its rows in a fixed number of queries."""
    release = get_release_for_user(request.user, pk, page_rows=True)
    cache_key = release_cache.key("json", release, request.user)
    data = release_cache.get(cache_key)
    if data is None:
        prefetch_related_objects([release], *json_prefetches())
        data = s.ReleaseSerializer(release, context={"request": request}).data
        release_cache.put(cache_key, data)
    return Response(data, status=status_code)


def valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ApiView(generics.GenericAPIView):
    parser_classes = [SafeJSONParser]
    pagination_class = Pagination
    # No OPTIONS introspection: the OpenAPI schema describes every endpoint (OPTIONS is a 405).
    metadata_class = None


# --- releases ------------------------------------------------------------------


class ReleaseListView(mixins.ListModelMixin, ApiView):
    serializer_class = s.ReleaseSummarySerializer
    filterset_class = ReleaseFilter

    def get_queryset(self):
        return readable_releases(self.request.user).with_related()

    @extend_schema(
        summary="List releases",
        description="Newest first; only releases of your teams (managers: all). Paginated.",
        responses={200: s.ReleaseSummarySerializer, **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        summary="Open a release",
        description="Opens a draft in a team you are a member of; its checklist is a copy of the "
        "team's template. Honours an Idempotency-Key header.",
        request=s.ReleaseCreateSerializer,
        parameters=[IDEMPOTENCY_PARAM],
        responses={201: s.ReleaseSerializer, **_errors(400, 401, 403, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        data = dict(valid(s.ReleaseCreateSerializer, request))
        team = data.pop("team")

        def create() -> Response:
            release = workflow.create_release(actor=request.user, team=team, data=data)
            return render_release(request, release.pk, status_code=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(request.data), create)


class ReleaseDetailView(ApiView):
    serializer_class = s.ReleaseSerializer

    @extend_schema(
        summary="A release with its checklist, sign-offs and scans",
        responses={200: s.ReleaseSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return render_release(request, pk)


class ItemView(ApiView):
    @extend_schema(
        summary="Set a checklist item's state, evidence or reason",
        request=s.ItemUpdateSerializer,
        responses={200: s.ItemSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def patch(self, request: Request, pk: int, key: str) -> Response:
        data = valid(s.ItemUpdateSerializer, request)
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
        return Response(s.ItemSerializer(item).data)


class SubmitView(ApiView):
    @extend_schema(
        summary="Submit a draft for review",
        description="Queues the scans that have not run on this commit. 409 `blocked` lists the "
        "required items in the way (details).",
        request=None,
        responses={200: s.ReleaseSerializer, **_errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        workflow.submit(release.pk, actor=request.user)
        return render_release(request, release.pk)


class SignOffView(ApiView):
    @extend_schema(
        summary="Approve or reject a release in review",
        description="403 `self_review` for the release's author, 403 `not_a_reviewer` for anyone "
        "without the reviewer role on its team, 403 `ticked_item` / `changed_release` / "
        "`commit_author` for a reviewer who is not independent of the content. An approval is "
        "409 `range_pending` or `range_unreadable` until a worker has read what ships (a reviewer "
        "may override on a hotfix), and 409 `relation_unacknowledged` for an older or diverged "
        "commit without `acknowledge_relation`. Honours an Idempotency-Key header.",
        request=s.SignOffCreateSerializer,
        parameters=[IDEMPOTENCY_PARAM],
        responses={201: s.SignOffResultSerializer, **_errors(400, 401, 403, 404, 409, 415, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(s.SignOffCreateSerializer, request)
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
                "signoff": s.SignOffSerializer(result.signoff).data,
                "release": render_release(request, release.pk).data,
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(request.data), sign)


class ScanView(ApiView):
    @extend_schema(
        summary="Queue scans of the release commit",
        description="Without `scanners`, every scan on the checklist. A scan that already ran on "
        "this commit runs again only with `force`. Answers 202 with the scan runs.",
        request=s.ScanRequestSerializer,
        responses={202: s.ScanRequestResultSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(s.ScanRequestSerializer, request)
        release = get_release_for_user(request.user, pk)
        runs = workflow.request_scans(
            release.pk, actor=request.user, scanners=data.get("scanners"), force=data["force"]
        )
        return Response({"scans": s.ScanSerializer(runs, many=True).data}, status=status.HTTP_202_ACCEPTED)


class XMLReportParser(BaseParser):
    """A raw JUnit XML body, read up to the size cap and no further."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        if stream is None:
            return b""
        limit = max_report_bytes()
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise TooLarge(f"The report is over {limit} bytes.", details={"max_bytes": limit})
        return data


class TextXMLReportParser(XMLReportParser):
    media_type = "text/xml"


COMMIT_PARAM = OpenApiParameter(
    "commit",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    pattern=s.SHA_PATTERN,
    description="The commit the report is for (40-character SHA); defaults to the release commit.",
)


class TestReportView(ApiView):
    parser_classes = [XMLReportParser, TextXMLReportParser, MultiPartParser]
    __test__ = False

    @extend_schema(
        summary="Upload a JUnit XML report",
        description="Send the XML as the body (`Content-Type: application/xml`) or as the multipart "
        "field `file`. The report is checked, stored, and the `tests` scan re-runs on the release "
        "commit to decide its item. At most 10 MB (413). Honours an Idempotency-Key header.",
        request={
            "application/xml": OpenApiRequest(OpenApiTypes.BINARY),
            "text/xml": OpenApiRequest(OpenApiTypes.BINARY),
            "multipart/form-data": s.TestReportUploadSerializer,
        },
        parameters=[COMMIT_PARAM, IDEMPOTENCY_PARAM],
        responses={201: s.TestReportResultSerializer, **_errors(400, 401, 403, 404, 409, 413, 415, 422)},
    )
    def post(self, request: Request, pk: int) -> Response:
        release = get_release_for_user(request.user, pk)
        limit = max_report_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + MULTIPART_OVERHEAD:
            raise TooLarge(f"The report is over {limit} bytes.", details={"max_bytes": limit})
        commit = request.query_params.get("commit")
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type in (XMLReportParser.media_type, TextXMLReportParser.media_type):
            content = request.data if isinstance(request.data, bytes) else b""
        elif media_type == MultiPartParser.media_type:
            form = valid(s.TestReportUploadSerializer, request)
            content = form["file"].read(limit + 1)
            commit = form.get("commit") or commit
            if len(content) > limit:
                raise TooLarge(f"The report is over {limit} bytes.", details={"max_bytes": limit})
        else:
            raise exceptions.UnsupportedMediaType(media_type or "none")

        def store() -> Response:
            result = workflow.store_test_report(
                release.pk, actor=request.user, content=content, commit=commit
            )
            body = {
                "report": s.TestReportSerializer(result.report).data,
                "summary": result.summary.as_dict(),
                "scans": s.ScanSerializer(result.scans, many=True).data,
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(content, commit or ""), store)


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
            200: s.GateOpenSerializer,
            409: OpenApiResponse(s.GateClosedSerializer, description="The gate is closed."),
            **_errors(401, 403, 404),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        commit = request.query_params.get("commit")
        # The common answer, "open", from one statement (checklists/policy/gate.py); else the full rules.
        if (found := open_gate(request.user, pk, commit)) is not None:
            return Response(found.as_dict())
        release = get_release_for_user(
            request.user,
            pk,
            queryset=Release.objects.select_related("team", "commit_range").defer(
                "commit_range__commits",
                "commit_range__files",  # the gate counts, never lists
            ),
        )
        gate = workflow.gate_status(release, commit)
        reasons = gate.reasons
        shipping = s.shipping_summary(gate.shipping, counts=False)
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
        return Response(s.GateOpenSerializer(body).data)


class DeployView(ApiView):
    @extend_schema(
        summary="Record that the approved commit was deployed",
        request=s.DeploySerializer,
        responses={200: s.ReleaseSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(s.DeploySerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.deploy(
            release.pk,
            actor=request.user,
            commit=data.get("commit"),
            version_after=data.get("version_after") or None,
        )
        return render_release(request, release.pk)


class RollbackView(ApiView):
    @extend_schema(
        summary="Record that a deployed release was rolled back",
        request=s.RollbackSerializer,
        responses={200: s.ReleaseSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(s.RollbackSerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.rollback(release.pk, actor=request.user, reason=data["reason"])
        return render_release(request, release.pk)


class CancelView(ApiView):
    @extend_schema(
        summary="Cancel a draft or a release in review",
        request=s.CancelSerializer,
        responses={200: s.ReleaseSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = valid(s.CancelSerializer, request)
        release = get_release_for_user(request.user, pk)
        workflow.cancel(release.pk, actor=request.user, reason=data.get("reason", ""))
        return render_release(request, release.pk)


# --- exception queue and templates -------------------------------------------------


class ExceptionListView(mixins.ListModelMixin, ApiView):
    serializer_class = s.ExceptionSerializer

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
        responses={200: s.ExceptionSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class TemplateListView(mixins.ListModelMixin, ApiView):
    serializer_class = s.TemplateSummarySerializer

    def get_queryset(self):
        # Drafts are a team owner's work in progress (team pages); the API lists published versions.
        return readable_templates(self.request.user).filter(status=ChecklistTemplate.Status.PUBLISHED)

    @extend_schema(
        summary="Checklist templates",
        description="The templates your teams use (managers and staff: all).",
        responses={200: s.TemplateSummarySerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        return self.list(request)


class TemplateDetailView(mixins.RetrieveModelMixin, ApiView):
    serializer_class = s.TemplateSerializer

    def get_queryset(self):
        # Another team's template is a 404, like another team's release; drafts are not listed.
        return (
            readable_templates(self.request.user)
            .filter(status=ChecklistTemplate.Status.PUBLISHED)
            .prefetch_related("items")
        )

    @extend_schema(
        summary="A checklist template with its items",
        responses={200: s.TemplateSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return self.retrieve(request, pk=pk)
