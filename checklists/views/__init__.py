"""Browser pages. Views are thin: forms validate, checklists.workflow decides, templates render."""

from .pages import dashboard, exception_queue, history, history_csv, metrics_page, profile, rotate_token
from .release import (
    item_update,
    release_cancel,
    release_create,
    release_deploy,
    release_detail,
    release_edit,
    release_rollback,
    release_scans,
    release_signoff,
    release_submit,
    request_scans,
    rerun_scan,
)
from .review import release_review
from .rules import followup_close, freeze_override, range_override, range_read

__all__ = [
    "dashboard",
    "exception_queue",
    "followup_close",
    "freeze_override",
    "history",
    "history_csv",
    "item_update",
    "metrics_page",
    "profile",
    "range_override",
    "range_read",
    "release_cancel",
    "release_create",
    "release_deploy",
    "release_detail",
    "release_edit",
    "release_review",
    "release_rollback",
    "release_scans",
    "release_signoff",
    "release_submit",
    "request_scans",
    "rerun_scan",
    "rotate_token",
]
