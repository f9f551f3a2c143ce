from django.urls import path

from . import views

app_name = "checklists"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("releases/new/", views.release_create, name="release_create"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/edit/", views.release_edit, name="release_edit"),
    path("releases/<int:pk>/review/", views.release_review, name="release_review"),
    path("releases/<int:pk>/items/<str:key>/", views.item_update, name="item_update"),
    path("releases/<int:pk>/scans/", views.release_scans, name="release_scans"),
    path("releases/<int:pk>/scans/run/", views.request_scans, name="request_scans"),
    path("releases/<int:pk>/submit/", views.release_submit, name="release_submit"),
    path("releases/<int:pk>/signoff/", views.release_signoff, name="release_signoff"),
    path("releases/<int:pk>/deploy/", views.release_deploy, name="release_deploy"),
    path("releases/<int:pk>/rollback/", views.release_rollback, name="release_rollback"),
    path("releases/<int:pk>/cancel/", views.release_cancel, name="release_cancel"),
    path("releases/<int:pk>/freeze-override/", views.freeze_override, name="freeze_override"),
    path("releases/<int:pk>/range-override/", views.range_override, name="range_override"),
    path("releases/<int:pk>/shipping/read/", views.range_read, name="range_read"),
    path("followups/<int:pk>/close/", views.followup_close, name="followup_close"),
    path("teams/<slug:slug>/repositories/", views.team_repositories, name="team_repositories"),
    path(
        "teams/<slug:slug>/repositories/<int:pk>/archive/",
        views.repository_archive,
        name="repository_archive",
    ),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_csv, name="history_csv"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("exceptions/", views.exception_queue, name="exceptions"),
    path("exceptions/<int:run_id>/rerun/", views.rerun_scan, name="rerun_scan"),
    path("profile/", views.profile, name="profile"),
    path("profile/token/", views.rotate_token, name="rotate_token"),
]
