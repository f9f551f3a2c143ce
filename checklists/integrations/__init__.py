"""Where teams already work: GitHub (deployment protection rule, commit statuses), GitLab
(commit statuses) and Slack (messages with Approve / Reject). docs/integrations.md.

- deliveries.py: every outbound call, logged as an IntegrationDelivery and sent by a task
  (sent on commit through checklists/effects/outbox.py) with retries;
- github.py, gitlab.py, slack.py: each provider's signatures, tokens and request shapes;
- http.py: one outbound HTTPS request, no redirects;
- status.py: what a release says about its commit.
The inbound endpoints are pages (checklists/views/integrations.py); decisions are the
workflow's (checklists/workflow/integrations.py, releases.sign_off) and the gate's
(checklists/policy/gate.py).
"""
