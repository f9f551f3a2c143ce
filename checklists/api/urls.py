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

from . import beyond, repositories, views
from .errors import not_found_json

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, JSON unless YAML is asked for; for signed-in users only."""

    permission_classes = [IsAuthenticated]
    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer, OpenApiYamlRenderer2]


release = "v1/releases/<int:pk>/"

urlpatterns = [
    path("v1/releases/", views.ReleaseListView.as_view(), name="release-list"),
    path(release, views.ReleaseDetailView.as_view(), name="release-detail"),
    path(release + "items/<str:key>/", views.ItemView.as_view(), name="release-item"),
    path(release + "submit/", views.SubmitView.as_view(), name="release-submit"),
    path(release + "signoffs/", views.SignOffView.as_view(), name="release-signoffs"),
    path(release + "scans/", views.ScanView.as_view(), name="release-scans"),
    path(release + "test-reports/", views.TestReportView.as_view(), name="release-test-reports"),
    path(release + "gate/", views.GateView.as_view(), name="release-gate"),
    path(release + "deploy/", views.DeployView.as_view(), name="release-deploy"),
    path(release + "rollback/", views.RollbackView.as_view(), name="release-rollback"),
    path(release + "cancel/", views.CancelView.as_view(), name="release-cancel"),
    path(release + "shipping/", beyond.ShippingView.as_view(), name="release-shipping"),
    path(release + "shipping/read/", beyond.ShippingReadView.as_view(), name="release-shipping-read"),
    path(release + "range-override/", beyond.RangeOverrideView.as_view(), name="release-range-override"),
    path(release + "independence/", beyond.IndependenceView.as_view(), name="release-independence"),
    path(release + "freeze-override/", beyond.FreezeOverrideView.as_view(), name="release-freeze-override"),
    path("v1/followups/", beyond.FollowUpListView.as_view(), name="followup-list"),
    path("v1/followups/<int:pk>/close/", beyond.FollowUpCloseView.as_view(), name="followup-close"),
    path("v1/teams/<slug:slug>/freezes/", beyond.FreezeWindowListView.as_view(), name="team-freezes"),
    path("v1/teams/<slug:slug>/webhooks/", beyond.WebhookListView.as_view(), name="team-webhooks"),
    path(
        "v1/teams/<slug:slug>/repositories/",
        repositories.TeamRepositoryListView.as_view(),
        name="team-repositories",
    ),
    path(
        "v1/webhooks/<int:pk>/deliveries/",
        beyond.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path("v1/exceptions/", views.ExceptionListView.as_view(), name="exception-list"),
    path("v1/templates/", views.TemplateListView.as_view(), name="template-list"),
    path("v1/templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template-detail"),
    path("v1/schema/", SchemaView.as_view(), name="schema"),
    path(
        "v1/docs/",
        # The split view serves its start-up script as a file: the CSP forbids inline scripts.
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
    re_path(r"^", not_found_json),
]
