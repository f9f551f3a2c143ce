"""Shapes of the API: input serializers check types only; checklists/workflow/ decides the rules.

Output serializers read only what the views prefetch (views.json_prefetches), so a
release renders in a constant number of queries.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..checklist_format.files import SCANNERS
from ..models import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    REPOSITORY_MAX,
    TITLE_MAX,
    VERSION_MAX,
    ChecklistItem,
    ChecklistTemplate,
    FollowUp,
    Release,
    ScanRun,
    SignOff,
    TemplateItem,
    TestReport,
)

SHA_PATTERN = r"^[0-9a-fA-F]{40}$"


# --- errors (for the schema) ---------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. self_review, blocked.")
    message = serializers.CharField(help_text="One plain sentence for a person.")
    details = serializers.JSONField(allow_null=True, help_text="Per-field problems, blocking items, or null.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- output --------------------------------------------------------------------


class ItemSerializer(serializers.ModelSerializer):
    set_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    scan = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    evidence_about = serializers.JSONField(
        read_only=True,
        help_text='What the evidence covers: {"kind": "commit", "commit"} or {"kind": "text", "text", "at"}.',
    )

    class Meta:
        model = ChecklistItem
        fields = [
            "key",
            "category",
            "title",
            "help",
            "state",
            "required",
            "waivable",
            "satisfied_by",
            "evidence",
            "reason",
            "set_by",
            "set_at",
            "scan",
            "evidence_about",
        ]
        read_only_fields = fields


class SignOffSerializer(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expires_at = serializers.SerializerMethodField()
    changes_since = serializers.SerializerMethodField()

    class Meta:
        model = SignOff
        fields = [
            "id", "reviewer", "decision", "comment", "commit", "stale", "created_at", "expires_at", "changes_since"
        ]  # fmt: skip
        read_only_fields = fields

    def get_expires_at(self, signoff: SignOff) -> str | None:
        """When an approval stops counting (Team.approval_valid_days); null if never."""
        from ..policy.approvals import expires_at

        when = expires_at(signoff, signoff.release)
        return when.isoformat() if when else None

    def get_changes_since(self, signoff: SignOff) -> list[dict]:
        """What changed in the release since this sign-off was given (fields, then items)."""
        from ..policy.approvals import changes_since

        try:
            saved = signoff.snapshot.state
        except SignOff.snapshot.RelatedObjectDoesNotExist:
            return []  # given before snapshots were kept
        return changes_since(saved, signoff.release, list(signoff.release.items.all()))


class ScanSerializer(serializers.ModelSerializer):
    findings = serializers.ListField(child=serializers.DictField(), read_only=True)
    summary = serializers.DictField(read_only=True)

    class Meta:
        model = ScanRun
        fields = [
            "id",
            "scanner",
            "commit",
            "status",
            "current",
            "findings",
            "summary",
            "error",
            "attempts",
            "queued_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


RELEASE_FIELDS = [
    "id",
    "team",
    "title",
    "kind",
    "status",
    "author",
    "repository",
    "commit",
    "version_before",
    "version_after",
    "description",
    "rollback_plan",
    "deployment_steps",
    "known_limitations",
    "rollback_reason",
    "revision",
    "created_at",
    "updated_at",
    "submitted_at",
    "approved_at",
    "deployed_at",
    "rolled_back_at",
    "cancelled_at",
]


class ReleaseSummarySerializer(serializers.ModelSerializer):
    """A release in a list: its fields without the checklist, sign-offs and scans."""

    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    repository = serializers.SlugRelatedField(
        slug_field="location", read_only=True, help_text="The registered location the release ships from."
    )
    repository_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Release
        fields = [*RELEASE_FIELDS, "repository_id"]
        read_only_fields = fields


class FollowUpBriefSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    open = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "item_key", "item_title", "owner", "due_date", "open", "closed_at", "evidence"]
        read_only_fields = fields


class AnswerSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    code = serializers.CharField(
        allow_null=True, help_text="Why not, as a code (self_review, range_pending, ...)."
    )
    message = serializers.CharField(allow_null=True, help_text="Why not, in one sentence.")


class AbilitiesSerializer(serializers.Serializer):
    """What the requesting user may do to this release now (checklists/policy/abilities.py)."""

    edit = AnswerSerializer()
    tick = AnswerSerializer()
    request_scans = AnswerSerializer()
    upload_report = AnswerSerializer()
    submit = AnswerSerializer()
    approve = AnswerSerializer()
    reject = AnswerSerializer()
    deploy = AnswerSerializer()
    rollback = AnswerSerializer()
    cancel = AnswerSerializer()
    read_range_again = AnswerSerializer()
    override_range = AnswerSerializer()
    override_freeze = AnswerSerializer()
    acknowledge_relation = serializers.CharField(
        allow_null=True,
        help_text="behind or diverged: an approval must send acknowledge_relation with this value.",
    )


class ShippingSummarySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["pending", "ready", "unreadable"])
    error = serializers.CharField(allow_null=True)
    base = serializers.CharField(allow_null=True, help_text="Production: the last deployed commit, if any.")
    head = serializers.CharField()
    relation = serializers.CharField(allow_null=True, help_text="new, same, ahead, behind or diverged.")
    ahead_by = serializers.IntegerField(allow_null=True)
    behind_by = serializers.IntegerField(allow_null=True)
    commits = serializers.IntegerField(
        allow_null=True,
        help_text="How many commits ship (see shipping/ for them); null in the gate's answer.",
    )
    files = serializers.IntegerField(
        allow_null=True, help_text="How many files change; null in the gate's answer."
    )


def shipping_summary(found, *, counts: bool = True) -> dict:
    """A Shipping (checklists/policy/shipping.py) without its lists (they are in shipping/); the gate
    asks for no counts, so that it never reads the lists at all."""
    data = found.as_dict(lists=False)
    data["commits"] = len(found.range.commits) if counts and found.ready else None
    data["files"] = len(found.range.files) if counts and found.ready else None
    return ShippingSummarySerializer(data).data


class ReleaseSerializer(ReleaseSummarySerializer):
    items = ItemSerializer(many=True, read_only=True)
    signoffs = SignOffSerializer(many=True, read_only=True)
    scans = ScanSerializer(many=True, read_only=True)
    followups = FollowUpBriefSerializer(many=True, read_only=True, help_text="Waiver debt of this hotfix.")
    shipping = serializers.SerializerMethodField()
    abilities = serializers.SerializerMethodField()

    class Meta(ReleaseSummarySerializer.Meta):
        fields = [
            *RELEASE_FIELDS,
            "repository_id",
            "items",
            "signoffs",
            "scans",
            "followups",
            "shipping",
            "abilities",
        ]
        read_only_fields = fields

    def _facts(self, release: Release):
        from ..policy.abilities import Facts

        cache = self.context.setdefault("facts", {})
        if release.pk not in cache:
            cache[release.pk] = Facts(
                release, items=list(release.items.all()), signoffs=list(release.signoffs.all())
            )
        return cache[release.pk]

    @extend_schema_field(ShippingSummarySerializer)
    def get_shipping(self, release: Release) -> dict:
        return shipping_summary(self._facts(release).shipping)

    @extend_schema_field(AbilitiesSerializer)
    def get_abilities(self, release: Release) -> dict | None:
        from ..policy.abilities import abilities_for

        request = self.context.get("request")
        if request is None:
            return None
        return abilities_for(request.user, release, self._facts(release)).as_dict()


class SignOffResultSerializer(serializers.Serializer):
    signoff = SignOffSerializer()
    release = ReleaseSerializer()


class ScanRequestResultSerializer(serializers.Serializer):
    scans = ScanSerializer(many=True)


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


class ExceptionSerializer(serializers.ModelSerializer):
    """A scan that ended in error: the team's exception queue."""

    release = serializers.PrimaryKeyRelatedField(read_only=True)
    release_title = serializers.CharField(source="release.title", read_only=True)
    team = serializers.CharField(source="release.team.slug", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    age_seconds = serializers.SerializerMethodField()

    class Meta:
        model = ScanRun
        fields = [
            "id",
            "release",
            "release_title",
            "team",
            "owner",
            "scanner",
            "commit",
            "error",
            "attempts",
            "queued_at",
            "finished_at",
            "age_seconds",
        ]
        read_only_fields = fields

    def get_age_seconds(self, run: ScanRun) -> int:
        """Seconds since the scan was queued."""
        return int((self.context["now"] - run.queued_at).total_seconds())


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


# --- input ---------------------------------------------------------------------


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(
        required=False, allow_blank=True, max_length=max_length, trim_whitespace=False, **kwargs
    )


class ReleaseCreateSerializer(serializers.Serializer):
    team = serializers.CharField(max_length=50, help_text="Slug of a team you are a member of.")
    title = serializers.CharField(max_length=TITLE_MAX)
    kind = serializers.ChoiceField(choices=Release.Kind.choices, default=Release.Kind.STANDARD)
    repository = serializers.CharField(
        max_length=REPOSITORY_MAX,
        help_text="A location registered for the team (GET /api/v1/teams/{slug}/repositories/) or its id; "
        "anything else is 400 unknown_repository.",
    )
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, help_text="Full 40-character SHA of the commit to release."
    )
    version_before = _text(VERSION_MAX)
    version_after = _text(VERSION_MAX)
    description = _text(LONG_TEXT_MAX)
    rollback_plan = _text(LONG_TEXT_MAX)
    deployment_steps = _text(LONG_TEXT_MAX)
    known_limitations = _text(LONG_TEXT_MAX)


class ItemUpdateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=ChecklistItem.State.choices,
        required=False,
        help_text="New state; leave out to change only evidence or reason.",
    )
    evidence = _text(EVIDENCE_MAX, help_text="A link or text that shows the item is done.")
    reason = _text(EVIDENCE_MAX, help_text="Required when skipping (not_applicable) or waiving.")


class SignOffCreateSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignOff.Decision.choices)
    comment = _text(LONG_TEXT_MAX, help_text="Required for a rejection.")
    acknowledge_relation = serializers.ChoiceField(
        choices=["behind", "diverged"],
        required=False,
        help_text="Approving a commit that is older than production or diverged from it needs this: "
        "the relation shown in the release's shipping.relation.",
    )


class ScanRequestSerializer(serializers.Serializer):
    scanners = serializers.ListField(
        child=serializers.ChoiceField(choices=SCANNERS),
        required=False,
        max_length=len(SCANNERS),
        help_text="Leave out to queue every scan on the checklist.",
    )
    force = serializers.BooleanField(default=False, help_text="Re-run scans that already ran on this commit.")


class DeploySerializer(serializers.Serializer):
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, required=False, help_text="Must be the approved commit if given."
    )
    version_after = _text(VERSION_MAX, help_text="Needed if the release has no version after yet.")


class RollbackSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=LONG_TEXT_MAX, help_text="Why it was rolled back.")


class CancelSerializer(serializers.Serializer):
    reason = _text(LONG_TEXT_MAX)


class TestReportUploadSerializer(serializers.Serializer):
    """Multipart form of a test-report upload."""

    file = serializers.FileField(help_text="The JUnit XML report, at most 10 MB.")
    commit = serializers.RegexField(
        SHA_PATTERN, max_length=40, required=False, help_text="Defaults to the release commit."
    )

    __test__ = False
