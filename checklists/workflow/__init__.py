"""Every state change of a release, and the rules that guard it.

Pages, the API, admin actions, management commands and Celery tasks all call these
functions; no rule lives anywhere else. Each function:
- runs in one transaction and locks the release row first, so concurrent requests
  queue behind each other instead of losing updates;
- takes the acting user keyword-only and checks what that user may do;
- raises a WorkflowError subclass (checklists/errors.py) that names what blocks;
- writes exactly one AuditEvent when it changes something, and none when it does not;
- enqueues Celery work only once the transaction commits.
"""

from ..models import checklist_digest
from .base import blocking_items, clean_commit, clean_release_data, count_current_approvals
from .gate import GateStatus, gate_reasons, gate_status, independence_warning, override_freeze
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
from .team_rules import NewWebhook, close_followup, create_webhook

__all__ = [
    "GateStatus",
    "NewWebhook",
    "SignOffResult",
    "TestReportResult",
    "blocking_items",
    "cancel",
    "checklist_digest",
    "claim_scan",
    "clean_commit",
    "clean_release_data",
    "close_followup",
    "count_current_approvals",
    "create_release",
    "create_webhook",
    "deploy",
    "gate_reasons",
    "gate_status",
    "heartbeat_scan",
    "independence_warning",
    "mark_scan_enqueued",
    "override_freeze",
    "record_scan_result",
    "request_scans",
    "requeue_scan",
    "rollback",
    "set_item_state",
    "sign_off",
    "store_test_report",
    "submit",
    "update_release",
]
