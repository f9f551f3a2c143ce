from django.contrib import admin
from django.urls import include, path

from checklists import accounts, health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="prometheus-metrics"),
    path("admin/", admin.site.urls),
    # django.contrib.auth's URLs; password reset only with a real mail server (checklists/accounts.py).
    path("accounts/", include(accounts.urlpatterns)),
    path("api/", include("checklists.api.urls")),
    path("", include("checklists.urls")),
]

# JSON under /api/, the project's own pages (templates/400.html, 404.html, 500.html) elsewhere
# whenever DEBUG is off (checklists/api/errors.py).
handler400 = "checklists.api.errors.handler400"
handler404 = "checklists.api.errors.handler404"
handler500 = "checklists.api.errors.handler500"
