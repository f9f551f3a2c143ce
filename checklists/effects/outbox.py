"""The outbox: every task a change causes is sent from here, and only once the change commits.

A scan to run, a commit range to read, releases to re-point, an email, a webhook, a call to
GitHub, GitLab or Slack: the workflow writes the row it is about (a ScanRun, a CommitRange, a
WebhookDelivery, an IntegrationDelivery) in its transaction and calls `on_commit(TASK, id)`.
A change that rolls back sends nothing; one that commits sends its messages after the commit
(zulip's `send_event_on_commit`). A broker that is down costs the message, never the change:
the row stays, a sweep (Celery beat) sends it again, and `refused` records what would otherwise
be lost (an email).

Tasks are sent by their registered names, declared here: the names are the broker contract
(queued messages and beat entries carry them), and checklists/tasks.py registers each task
under its name. So nothing below the tasks imports them, and the tasks may import everything
(docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

RUN_SCAN = "checklists.tasks.run_scan"
SWEEP_SCANS = "checklists.tasks.sweep_scans"
READ_COMMIT_RANGE = "checklists.tasks.read_commit_range"
REPOINT_RELEASES = "checklists.tasks.repoint_releases"
DELIVER_WEBHOOK = "checklists.tasks.deliver_webhook"
DELIVER_INTEGRATION = "checklists.tasks.deliver_integration"
ANSWER_DEPLOYMENTS = "checklists.tasks.answer_deployments"
SWEEP_INTEGRATIONS = "checklists.tasks.sweep_integrations"
# The email tasks keep the names of the module they were first registered in.
NOTIFY_SUBMITTED = "checklists.notifications.notify_submitted"
NOTIFY_DECISION = "checklists.notifications.notify_decision"
NOTIFY_EVENT = "checklists.notifications.notify_event"

Refused = Callable[[Exception], None]


def send(task: str, *args, refused: Refused | None = None) -> bool:
    """Send one task message now; False if the broker refused it (logged, or told to `refused`)."""
    try:
        current_app.send_task(task, args=args)
    except Exception as exc:  # noqa: BLE001 - any broker failure; the row the task is about stays
        if refused is not None:
            refused(exc)
        else:
            logger.warning(
                "could not send %s%s; its row stays for a sweep or a retry", task, args, exc_info=True
            )
        return False
    return True


def on_commit(task: str, *args, refused: Refused | None = None) -> None:
    """Send `task` with `args` once the current transaction commits; never if it rolls back."""
    transaction.on_commit(lambda: send(task, *args, refused=refused))
