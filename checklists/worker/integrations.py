"""The integrations' sweep (the `sweep_integrations` task, Celery beat)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from .. import workflow
from ..effects import outbox
from ..integrations import deliveries
from ..models import DeploymentCheck, SeenRequest

logger = logging.getLogger(__name__)


def sweep(now: datetime) -> dict:
    """Answer waiting deployments (freezes end, approvals expire), re-send lost deliveries,
    forget replay keys that can no longer be replayed."""
    done = {"answered": 0, "resent": []}
    waiting = DeploymentCheck.objects.filter(state=DeploymentCheck.State.WAITING, release__isnull=False)
    for release_id in list(waiting.values_list("release_id", flat=True).distinct()[:200]):
        done["answered"] += len(workflow.answer_deployments(release_id))
    for delivery_id in deliveries.unsent(now):
        if outbox.send(outbox.DELIVER_INTEGRATION, delivery_id):
            done["resent"].append(delivery_id)
    # Slack refuses requests older than five minutes itself; GitHub deliveries are kept 30 days.
    SeenRequest.objects.filter(source="slack", received_at__lt=now - timedelta(minutes=10)).delete()
    SeenRequest.objects.filter(source="github", received_at__lt=now - timedelta(days=31)).delete()
    return done
