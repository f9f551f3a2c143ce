from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from checklists.identity import accounts
from checklists.identity.views import SignInView
from checklists.views import monitoring

urlpatterns = [
    path("healthz", monitoring.healthz, name="healthz"),
    path("metrics", monitoring.metrics, name="prometheus-metrics"),
    # One sign-in page for everyone, staff included: it knows the provider and RELEASEGATE_PASSWORD_LOGIN.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    # Sign-in knows the identity provider and RELEASEGATE_PASSWORD_LOGIN (checklists/identity/).
    path("accounts/login/", SignInView.as_view(), name="login"),
    # django.contrib.auth's other URLs; password reset only with a real mail server (checklists/identity/accounts.py).
    path("accounts/", include(accounts.urlpatterns)),
    path("oidc/", include("checklists.identity.urls")),
    path("api/", include("checklists.api.urls")),
    path("", include("checklists.urls")),
]

# JSON under /api/, the project's own pages (templates/400.html, 404.html, 500.html) elsewhere
# whenever DEBUG is off (checklists/api/errors.py).
handler400 = "checklists.api.errors.handler400"
handler404 = "checklists.api.errors.handler404"
handler500 = "checklists.api.errors.handler500"
