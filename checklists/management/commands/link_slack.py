"""Link a Slack member to a releasegate user (staff): `manage.py link_slack USER SLACK_USER_ID`.

Users link their own on the profile page, through a link Slack vouched for; this is the
operator's way, for someone who cannot. `--unlink` removes the link. Audited either way.
"""

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from checklists import workflow
from checklists.errors import WorkflowError


class Command(BaseCommand):
    help = "Link (or --unlink) a Slack member id to a releasegate user; Slack presses then act as that user."

    def add_arguments(self, parser):
        parser.add_argument("user", help="The releasegate username.")
        parser.add_argument("slack_user_id", nargs="?", default="", help="The Slack member id (U…).")
        parser.add_argument("--team", default="", help="The Slack workspace id (T…); empty: any.")
        parser.add_argument("--unlink", action="store_true", help="Remove the user's link instead.")

    def handle(self, *args, user, slack_user_id, team, unlink, **options):
        found = User.objects.filter(username=user).first()
        if found is None:
            raise CommandError(f"No user {user!r}.")
        try:
            if unlink:
                removed = workflow.unlink_slack_account(found, actor=None)
                self.stdout.write("unlinked" if removed else "no Slack account was linked")
                return
            if not slack_user_id:
                raise CommandError("Give the Slack member id (U…), or --unlink.")
            account = workflow.link_slack_account(
                found, actor=None, slack_user_id=slack_user_id, slack_team_id=team
            )
        except WorkflowError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{found.get_username()} = Slack {account.slack_user_id}")
