from django.contrib import admin
from django.urls import include, path

from checklists import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="prometheus-metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("checklists.api.urls")),
    path("", include("checklists.urls")),
]

# JSON under /api/, Django's pages elsewhere (checklists/api/errors.py).
handler400 = "checklists.api.errors.handler400"
handler404 = "checklists.api.errors.handler404"
handler500 = "checklists.api.errors.handler500"
