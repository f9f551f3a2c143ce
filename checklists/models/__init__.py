"""releasegate's rows, one module per aggregate; Django reads the app's models from here.

limits.py      lengths and formats of text fields
teams.py       Team, Membership, ReviewerGroup, FreezeWindow, FreezeOverride
checklist_templates.py  ChecklistTemplate (a version of a checklist), TemplateItem
repositories.py  Repository, CommitRange (what ships), RangeOverride
scans.py       ScanRun, TestReport, SecretBlobFindings
releases.py    Release, ChecklistItem, SignOff, SignOffSnapshot, FollowUp, Contribution
audit.py       AuditEvent and its hash chain
webhooks.py    Webhook, WebhookDelivery
email.py       EmailPreference, EmailFailure
identity.py    ExternalIdentity
idempotency.py IdempotencyRecord
integrations.py  GitHub, GitLab and Slack settings, waiting deployments, the delivery log
"""

from . import satisfied_by
from .audit import AuditEvent
from .checklist_templates import ChecklistTemplate, TemplateItem
from .email import EMAIL_EVENTS, EmailFailure, EmailPreference, all_email_events
from .idempotency import IdempotencyRecord
from .identity import ExternalIdentity
from .integrations import (
    DeploymentCheck,
    GitLabProject,
    IntegrationDelivery,
    SeenRequest,
    SlackAccount,
    SlackChannel,
    SlackMessage,
)
from .limits import (
    EVIDENCE_MAX,
    LONG_TEXT_MAX,
    REPOSITORY_MAX,
    SHA_RE,
    SHA_VALIDATOR,
    SLUG_VALIDATOR,
    TITLE_MAX,
    VERSION_MAX,
)
from .releases import (
    ChecklistItem,
    Contribution,
    FollowUp,
    Release,
    SignOff,
    SignOffSnapshot,
    checklist_digest,
)
from .repositories import CommitRange, RangeOverride, Repository
from .scans import ScanRun, SecretBlobFindings, TestReport
from .teams import (
    DEFAULT_PRODUCTION_CONFIG_GLOBS,
    MANAGERS_GROUP,
    FreezeOverride,
    FreezeWindow,
    Membership,
    ReviewerGroup,
    Team,
    default_globs,
)
from .webhooks import WEBHOOK_EVENTS, Webhook, WebhookDelivery, all_webhook_events

__all__ = [
    "DEFAULT_PRODUCTION_CONFIG_GLOBS",
    "EMAIL_EVENTS",
    "EVIDENCE_MAX",
    "LONG_TEXT_MAX",
    "MANAGERS_GROUP",
    "REPOSITORY_MAX",
    "SHA_RE",
    "SHA_VALIDATOR",
    "SLUG_VALIDATOR",
    "TITLE_MAX",
    "VERSION_MAX",
    "WEBHOOK_EVENTS",
    "AuditEvent",
    "ChecklistItem",
    "ChecklistTemplate",
    "CommitRange",
    "Contribution",
    "DeploymentCheck",
    "EmailFailure",
    "EmailPreference",
    "ExternalIdentity",
    "FollowUp",
    "FreezeOverride",
    "FreezeWindow",
    "GitLabProject",
    "IdempotencyRecord",
    "IntegrationDelivery",
    "Membership",
    "RangeOverride",
    "Release",
    "Repository",
    "ReviewerGroup",
    "ScanRun",
    "SecretBlobFindings",
    "SeenRequest",
    "SignOff",
    "SignOffSnapshot",
    "SlackAccount",
    "SlackChannel",
    "SlackMessage",
    "Team",
    "TemplateItem",
    "TestReport",
    "Webhook",
    "WebhookDelivery",
    # Callable defaults that migrations name as checklists.models.<name>.
    "all_email_events",
    "all_webhook_events",
    "checklist_digest",
    "default_globs",
    "satisfied_by",
]
