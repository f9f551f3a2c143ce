from django.urls import path

from . import views
from .views import email_preferences, integrations, team_checklist, team_rules, teams, test_reports

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
    path("releases/<int:pk>/test-reports/", test_reports.upload_test_report, name="upload_test_report"),
    path("followups/<int:pk>/close/", views.followup_close, name="followup_close"),
    path("teams/", teams.team_list, name="team_list"),
    path("teams/new/", teams.team_create, name="team_create"),
    path("teams/<slug:slug>/", teams.team_detail, name="team"),
    path("teams/<slug:slug>/settings/<str:section>/", teams.team_settings, name="team_settings"),
    path("teams/<slug:slug>/members/", teams.member_add, name="team_member_add"),
    path("teams/<slug:slug>/members/<int:user_id>/", teams.member_change, name="team_member"),
    path("teams/<slug:slug>/members/<int:user_id>/remove/", teams.member_remove, name="team_member_remove"),
    path("teams/<slug:slug>/queue-owner/", teams.queue_owner, name="team_queue_owner"),
    path("teams/<slug:slug>/groups/", team_rules.group_save, name="team_group_add"),
    path("teams/<slug:slug>/groups/<int:pk>/", team_rules.group_save, name="team_group"),
    path("teams/<slug:slug>/groups/<int:pk>/delete/", team_rules.group_delete, name="team_group_delete"),
    path("teams/<slug:slug>/freezes/", team_rules.freeze_add, name="team_freeze_add"),
    path("teams/<slug:slug>/freezes/<int:pk>/end/", team_rules.freeze_end, name="team_freeze_end"),
    path("teams/<slug:slug>/webhooks/", team_rules.webhook_create, name="team_webhook_add"),
    path("teams/<slug:slug>/webhooks/<int:pk>/", team_rules.webhook_update, name="team_webhook"),
    path("teams/<slug:slug>/repositories/", teams.team_repositories, name="team_repositories"),
    path(
        "teams/<slug:slug>/repositories/<int:pk>/archive/",
        teams.repository_archive,
        name="repository_archive",
    ),
    path("teams/<slug:slug>/checklist/", team_checklist.team_checklist, name="team_checklist"),
    path(
        "teams/<slug:slug>/checklist/export.yaml",
        team_checklist.checklist_export,
        name="team_checklist_export",
    ),
    path(
        "teams/<slug:slug>/checklist/items/",
        team_checklist.checklist_item_add,
        name="team_checklist_item_add",
    ),
    path("teams/<slug:slug>/checklist/item/", team_checklist.checklist_item_edit, name="team_checklist_item"),
    path(
        "teams/<slug:slug>/checklist/import/", team_checklist.checklist_import, name="team_checklist_import"
    ),
    path(
        "teams/<slug:slug>/checklist/<str:action>/",
        team_checklist.checklist_change,
        name="team_checklist_change",
    ),
    path("history/", views.history, name="history"),
    path("history/export.csv", views.history_csv, name="history_csv"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("exceptions/", views.exception_queue, name="exceptions"),
    path("exceptions/<int:run_id>/rerun/", views.rerun_scan, name="rerun_scan"),
    path("profile/", views.profile, name="profile"),
    path("profile/token/", views.rotate_token, name="rotate_token"),
    path("profile/email/", email_preferences.save_email_preferences, name="email_preferences"),
    path("profile/slack/", integrations.slack_link, name="slack_link"),
    # Signed by GitHub and Slack, not by a session (checklists/views/integrations.py).
    path("integrations/github/events/", integrations.github_events, name="github_events"),
    path("integrations/slack/actions/", integrations.slack_actions, name="slack_actions"),
]
