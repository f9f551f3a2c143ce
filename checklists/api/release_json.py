"""A release as JSON: its fields, checklist, sign-offs, scans, follow-ups, what ships and what the
requesting user may do. Serializers read only what `json_prefetches` loads, so a release renders in
a constant number of queries; `render_release` serves it from the cache while nothing it shows changed."""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import ChecklistItem, FollowUp, Release, ScanRun, SignOff
from ..policy import abilities
from ..policy.approvals import changes_since, expires_at
from ..policy.permissions import get_release_for_user
from ..web import release_cache


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
        when = expires_at(signoff, signoff.release)
        return when.isoformat() if when else None

    def get_changes_since(self, signoff: SignOff) -> list[dict]:
        """What changed in the release since this sign-off was given (fields, then items)."""
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
        cache = self.context.setdefault("facts", {})
        if release.pk not in cache:
            cache[release.pk] = abilities.Facts(
                release, items=list(release.items.all()), signoffs=list(release.signoffs.all())
            )
        return cache[release.pk]

    @extend_schema_field(ShippingSummarySerializer)
    def get_shipping(self, release: Release) -> dict:
        return shipping_summary(self._facts(release).shipping)

    @extend_schema_field(AbilitiesSerializer)
    def get_abilities(self, release: Release) -> dict | None:
        request = self.context.get("request")
        if request is None:
            return None
        return abilities.abilities_for(request.user, release, self._facts(release)).as_dict()


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
        data = ReleaseSerializer(release, context={"request": request}).data
        release_cache.put(cache_key, data)
    return Response(data, status=status_code)
