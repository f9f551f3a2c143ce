"""Every state change: of a release, a team, a checklist version, a person's settings.

Pages, the API, admin actions, management commands and Celery tasks all call these
functions; no rule lives anywhere else (the rules' answers are read in checklists/policy/).
Each function:
- runs in one transaction and locks the release row first, so concurrent requests
  queue behind each other instead of losing updates (docs/reliability.md, "Lock order");
- asks checklists/policy/abilities.py whether the actor may do it: the page, the API and the
  admin show the same answers;
- reads no repository and calls no network: workers read what ships and store it
  (ranges.py), the workflow reads stored rows;
- takes the acting user keyword-only and checks what that user may do;
- raises a WorkflowError subclass (checklists/errors.py) that names what blocks;
- writes exactly one AuditEvent when it changes something, and none when it does not;
- sends Celery tasks only once the transaction commits (checklists/effects/outbox.py).
"""

from ..models import checklist_digest
from .base import blocking_items, clean_commit, clean_release_data, count_current_approvals
from .checklist_versions import (
    discard_draft,
    import_draft,
    move_draft_item,
    publish_draft,
    remove_draft_item,
    save_draft_item,
    start_draft,
)
from .followups import close_followup
from .freezes import add_freeze_window, end_freeze_window, override_freeze
from .integrations import (
    answer_deployments,
    deployment_answer,
    link_slack_account,
    request_deployment,
    unlink_slack_account,
)
from .ranges import (
    claim_range_read,
    override_range,
    record_range_read,
    repoint_release,
    repoint_releases,
    request_range_read,
)
from .releases import (
    SignOffResult,
    cancel,
    create_release,
    deploy,
    rollback,
    set_item_state,
    sign_off,
    submit,
    update_release,
)
from .repositories import Credentials, register_repository, update_repository
from .reviewer_groups import delete_reviewer_group, save_reviewer_group
from .scans import (
    TestReportResult,
    claim_scan,
    heartbeat_scan,
    mark_scan_enqueued,
    record_scan_result,
    request_scans,
    requeue_scan,
    store_test_report,
)
from .teams import (
    add_member,
    change_member,
    create_team,
    remove_member,
    set_queue_owner,
    update_team_settings,
)
from .webhooks import NewWebhook, create_webhook, update_webhook

__all__ = [
    "add_freeze_window",
    "add_member",
    "change_member",
    "create_team",
    "delete_reviewer_group",
    "discard_draft",
    "end_freeze_window",
    "import_draft",
    "move_draft_item",
    "publish_draft",
    "remove_draft_item",
    "remove_member",
    "save_draft_item",
    "save_reviewer_group",
    "set_queue_owner",
    "start_draft",
    "update_team_settings",
    "update_webhook",
    "answer_deployments",
    "deployment_answer",
    "link_slack_account",
    "request_deployment",
    "unlink_slack_account",
    "Credentials",
    "NewWebhook",
    "SignOffResult",
    "TestReportResult",
    "blocking_items",
    "cancel",
    "claim_range_read",
    "checklist_digest",
    "claim_scan",
    "clean_commit",
    "clean_release_data",
    "close_followup",
    "count_current_approvals",
    "create_release",
    "create_webhook",
    "deploy",
    "heartbeat_scan",
    "mark_scan_enqueued",
    "override_freeze",
    "override_range",
    "record_range_read",
    "register_repository",
    "repoint_release",
    "repoint_releases",
    "request_range_read",
    "record_scan_result",
    "request_scans",
    "requeue_scan",
    "rollback",
    "set_item_state",
    "sign_off",
    "store_test_report",
    "submit",
    "update_release",
    "update_repository",
]
