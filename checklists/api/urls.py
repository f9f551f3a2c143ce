"""/api/: version 1 of the HTTP API, its schema and docs; anything else under /api/ is a JSON 404."""

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from . import (
    checklist_templates,
    followups,
    freezes,
    gate,
    items,
    junit_reports,
    releases,
    repositories,
    scans,
    shipping,
    signoffs,
    webhooks,
)
from .errors import not_found_json

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, JSON unless YAML is asked for; for signed-in users only."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer, OpenApiYamlRenderer2]


release = "v1/releases/<int:pk>/"

urlpatterns = [
    path("v1/releases/", releases.ReleaseListView.as_view(), name="release-list"),
    path(release, releases.ReleaseDetailView.as_view(), name="release-detail"),
    path(release + "items/<str:key>/", items.ItemView.as_view(), name="release-item"),
    path(release + "submit/", releases.SubmitView.as_view(), name="release-submit"),
    path(release + "signoffs/", signoffs.SignOffView.as_view(), name="release-signoffs"),
    path(release + "scans/", scans.ScanView.as_view(), name="release-scans"),
    path(release + "test-reports/", junit_reports.TestReportView.as_view(), name="release-test-reports"),
    path(release + "gate/", gate.GateView.as_view(), name="release-gate"),
    path(release + "deploy/", releases.DeployView.as_view(), name="release-deploy"),
    path(release + "rollback/", releases.RollbackView.as_view(), name="release-rollback"),
    path(release + "cancel/", releases.CancelView.as_view(), name="release-cancel"),
    path(release + "shipping/", shipping.ShippingView.as_view(), name="release-shipping"),
    path(release + "shipping/read/", shipping.ShippingReadView.as_view(), name="release-shipping-read"),
    path(release + "range-override/", shipping.RangeOverrideView.as_view(), name="release-range-override"),
    path(release + "independence/", shipping.IndependenceView.as_view(), name="release-independence"),
    path(release + "freeze-override/", freezes.FreezeOverrideView.as_view(), name="release-freeze-override"),
    path("v1/followups/", followups.FollowUpListView.as_view(), name="followup-list"),
    path("v1/followups/<int:pk>/close/", followups.FollowUpCloseView.as_view(), name="followup-close"),
    path("v1/teams/<slug:slug>/freezes/", freezes.FreezeWindowListView.as_view(), name="team-freezes"),
    path("v1/teams/<slug:slug>/webhooks/", webhooks.WebhookListView.as_view(), name="team-webhooks"),
    path(
        "v1/teams/<slug:slug>/repositories/",
        repositories.TeamRepositoryListView.as_view(),
        name="team-repositories",
    ),
    path(
        "v1/webhooks/<int:pk>/deliveries/",
        webhooks.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path("v1/exceptions/", scans.ExceptionListView.as_view(), name="exception-list"),
    path("v1/templates/", checklist_templates.TemplateListView.as_view(), name="template-list"),
    path("v1/templates/<int:pk>/", checklist_templates.TemplateDetailView.as_view(), name="template-detail"),
    path("v1/schema/", SchemaView.as_view(), name="schema"),
    path(
        "v1/docs/",
        # The split view serves its start-up script as a file: the CSP forbids inline scripts.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    re_path(r"^", not_found_json),
]
