"""/api/v1/releases/{id}/test-reports/: upload a JUnit XML report for a commit of the release."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from .. import workflow
from ..errors import TooLarge
from ..models import TestReport
from ..policy.permissions import get_release_for_user
from ..scans.junit import max_report_bytes
from .base import SHA_PATTERN, ApiView, error_responses, valid
from .idempotency import IDEMPOTENCY_PARAM, fingerprint, idempotent
from .release_json import ScanSerializer

# Room for the multipart envelope around a report of the maximum size.
MULTIPART_OVERHEAD = 64 * 1024


class SuiteSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    tests = serializers.IntegerField()
    failures = serializers.IntegerField()
    errors = serializers.IntegerField()
    skipped = serializers.IntegerField()


class JUnitSummarySerializer(SuiteSummarySerializer):
    name = None
    suites = SuiteSummarySerializer(many=True)


class TestReportSerializer(serializers.ModelSerializer):
    release = serializers.PrimaryKeyRelatedField(read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    __test__ = False  # not a pytest test class

    class Meta:
        model = TestReport
        fields = ["id", "release", "commit", "uploaded_by", "size", "sha256", "created_at"]
        read_only_fields = fields


class TestReportResultSerializer(serializers.Serializer):
    report = TestReportSerializer()
    summary = JUnitSummarySerializer()
    scans = ScanSerializer(many=True, help_text="The tests scan queued for the release commit, if any.")

    __test__ = False


class TestReportUploadSerializer(serializers.Serializer):
    """Multipart form of a test-report upload."""

    file = serializers.FileField(help_text="The JUnit XML report, at most 10 MB.")
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, required=False, help_text="Defaults to the release commit."
    )

    __test__ = False


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
    pattern=SHA_PATTERN,
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
            "multipart/form-data": TestReportUploadSerializer,
        },
        parameters=[COMMIT_PARAM, IDEMPOTENCY_PARAM],
        responses={
            201: TestReportResultSerializer,
            **error_responses(400, 401, 403, 404, 409, 413, 415, 422),
        },
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
            form = valid(TestReportUploadSerializer, request)
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
                "report": TestReportSerializer(result.report).data,
                "summary": result.summary.as_dict(),
                "scans": ScanSerializer(result.scans, many=True).data,
            }
            return Response(body, status=status.HTTP_201_CREATED)

        return idempotent(request, fingerprint(content, commit or ""), store)
