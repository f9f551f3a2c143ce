"""Where teams already work: GitHub (deployment protection rule, commit statuses), GitLab
(commit statuses) and Slack (messages with Approve / Reject). docs/integrations.md.

- views.py: the two inbound endpoints (signed, replays refused) and the Slack account link;
- outbox.py: every outbound call, logged and sent by Celery tasks with retries;
- github.py, gitlab.py, slack.py: each provider's signatures, tokens and request shapes;
- status.py: what a release says about its commit.
Decisions are the workflow's (checklists/workflow/integrations.py, gate.py, releases.sign_off).
"""
