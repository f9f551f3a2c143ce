"""Create the demo team `payments`, its people and a few releases in every status."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checklists import workflow
from checklists.models import MANAGERS_GROUP, Membership, Release, Repository, ScanRun, Team
from checklists.scans.demo import make_demo_repository
from checklists.worker import ranges, scans

PEOPLE = {
    "alice": ("Alice", "Author", Membership.Role.MEMBER),
    "bob": ("Bob", "Reviewer", Membership.Role.REVIEWER),
    "dave": ("Dave", "Reviewer", Membership.Role.REVIEWER),
    "carol": ("Carol", "Manager", None),
    "ci": ("CI", "Pipeline", Membership.Role.MEMBER),
}
OWNER = "bob"
# The demo team's endpoints are releasegate's own, as `make run` serves it: the API
# refuses anonymous requests and /healthz is public.
DEMO_APP = "http://127.0.0.1:8000"
JUNIT_REPORT = (
    b'<?xml version="1.0"?>\n<testsuites><testsuite name="payments-api" tests="42" failures="0" errors="0" '
    b'skipped="1">' + b'<testcase classname="refunds" name="case"/>' * 41 + b"</testsuite></testsuites>\n"
)


class Command(BaseCommand):
    help = "Create team payments with alice (author), bob and dave (reviewers), carol (manager), ci, and releases."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", help="Password for every demo user (default: generated and printed once)."
        )

    def handle(self, *args, password=None, **options):
        if settings.PRODUCTION or not settings.RELEASEGATE_DEMO:
            raise CommandError("seed_demo runs only in demo mode: set RELEASEGATE_DEMO=1 outside production.")
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        with transaction.atomic():
            users = self._people(password)
            team = self._team(users)
            if not Release.objects.filter(team=team).exists():
                self._releases(team, users)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo team 'payments' is ready: alice, bob (reviewer and owner: /teams/payments/), dave, carol, ci."
            )
        )
        if generated:
            self.stdout.write(f"Demo password (shown once): {password}")

    def _people(self, password: str) -> dict[str, User]:
        managers, _ = Group.objects.get_or_create(name=MANAGERS_GROUP)
        users = {}
        for username, (first, last, _role) in PEOPLE.items():
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name, user.email = first, last, f"{username}@example.com"
            user.set_password(password)
            user.save()
            users[username] = user
        users["carol"].groups.add(managers)
        return users

    def _team(self, users: dict[str, User]) -> Team:
        team, _ = Team.objects.get_or_create(
            slug="payments",
            defaults={
                "name": "Payments",
                "owner": users[OWNER],
                "required_approvals": 1,
                "probe_endpoints": [f"{DEMO_APP}/api/v1/releases/", f"{DEMO_APP}/healthz"],
                "probe_public_allowlist": [f"{DEMO_APP}/healthz"],
            },
        )
        for username, (_f, _l, role) in PEOPLE.items():
            if role:
                # bob owns the team: the team pages (/teams/payments/) are his to change.
                Membership.objects.update_or_create(
                    team=team, user=users[username], defaults={"role": role, "owner": username == OWNER}
                )
        if team.owner_id != users[OWNER].pk:
            team.owner = users[OWNER]
            team.save(update_fields=["owner"])
        return team

    def _releases(self, team: Team, users: dict[str, User]) -> None:
        alice, bob, dave = users["alice"], users["bob"], users["dave"]
        path = Path(settings.DATA_DIR) / "demo" / "payments-api"
        url, _ = make_demo_repository(path)
        repository = Repository.objects.filter(
            team=team, location=url
        ).first() or workflow.register_repository(team, actor=None, location=url)

        def release(n: int, title: str, *, problems: bool = False, **extra) -> Release:
            _, commit = make_demo_repository(path, problems=problems)
            data = {
                "title": title,
                "repository": repository.pk,
                "commit": commit,
                "version_before": f"2.{n - 1}.0",
                "version_after": f"2.{n}.0",
                "description": f"{title}.",
                "rollback_plan": f"Redeploy 2.{n - 1}.0 with the deploy job; bob approves the rollback.",
                "deployment_steps": "1. Run migrations.\n2. Deploy the image.\n3. Watch the error rate for 15 min.",
                "known_limitations": "Refunds above 10,000 EUR still need a manual step.",
            }
            data.update(extra)
            created = workflow.create_release(actor=alice, team=team, data=data)
            ranges.read_pending_now(created)
            return created

        def ready(rel: Release) -> Release:
            for item in rel.items.manual():
                workflow.set_item_state(
                    rel, item.key, actor=alice, state="done", evidence="CI run and runbook PR"
                )
            workflow.store_test_report(rel, actor=users["ci"], content=JUNIT_REPORT)
            workflow.submit(rel, actor=alice)
            self._run_scans(rel)
            ranges.read_pending_now(rel)
            return rel

        def deployed_moves_production(rel: Release) -> None:
            workflow.repoint_releases(repository.pk)  # what a worker does after a deploy
            for other in Release.objects.filter(repository=repository):
                ranges.read_pending_now(other)

        # In the order they happened, so that what ships is read from the production of the time.
        deployed = ready(release(1, "Fraud score threshold"))
        workflow.sign_off(deployed, actor=dave, decision="approve", comment="Good to go.")
        workflow.deploy(deployed, actor=users["ci"])
        deployed_moves_production(deployed)
        rolled = ready(release(2, "New ledger schema"))
        workflow.sign_off(rolled, actor=bob, decision="approve", comment="Migration reviewed.")
        workflow.deploy(rolled, actor=users["ci"])
        workflow.rollback(rolled, actor=alice, reason="Ledger write latency doubled; reverted to 2.1.0.")
        deployed_moves_production(rolled)
        approved = ready(release(3, "Settlement batch v3"))
        workflow.sign_off(approved, actor=bob, decision="approve", comment="Checked the rollback plan.")
        ready(release(4, "Currency rounding fix"))
        rejected = ready(release(5, "Webhook retries"))
        workflow.sign_off(rejected, actor=dave, decision="reject", comment="Retries need a cap; see runbook.")
        release(6, "Refund endpoint (draft)", known_limitations="")
        cancelled = release(7, "Experimental payout API")
        workflow.cancel(cancelled, actor=alice, reason="Superseded by the payouts team's work.")
        hotfix = release(8, "Hotfix: double charge on retry", kind="hotfix", deployment_steps="")
        workflow.set_item_state(
            hotfix,
            "deployment.steps-written",
            actor=alice,
            state="waived",
            reason="Incident INC-231: one-line fix.",
        )
        # Last, so that the other releases' commits do not carry its planted problems.
        planted = release(9, "Gateway client rewrite", problems=True)
        workflow.request_scans(
            planted, actor=alice, scanners=["secrets", "mock_flag", "env_credentials", "debug_off"]
        )
        self._run_scans(planted)

    def _run_scans(self, release: Release) -> None:
        """Run the release's queued scans here and now, with the real scanners on the demo repository.

        The auth probe is the exception: it needs `make run`'s server, which starts after the
        seed. Its result in the demo's history is recorded as passed and says so; releases
        made in the running demo are probed for real by the worker.
        """
        for run in ScanRun.objects.filter(release=release, current=True, status=ScanRun.Status.QUEUED):
            if run.scanner != "auth_probe":
                scans.run_now(run.pk)
                continue
            workflow.claim_scan(run.pk)
            workflow.record_scan_result(
                run.pk,
                status=ScanRun.Status.PASSED,
                summary={"demo": "recorded by seed_demo before the server ran: nothing was probed"},
            )
