"""Register a repository for a team and print its id: `manage.py add_repository TEAM LOCATION`.

Credentials never go on the command line (shell history, `ps`): a token is read from the
environment variable `--token-env` names, a key from the file `--ssh-key-file` names.
"""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists import workflow
from checklists.errors import WorkflowError


class Command(BaseCommand):
    help = "Register a git repository for a team (checked like every registration) and print its id."

    def add_arguments(self, parser):
        parser.add_argument("team", help="The team's slug.")
        parser.add_argument("location", help="https://host/path, ssh://[user@]host/path or user@host:path.")
        parser.add_argument("--username", default="", help="For https: the token's user name.")
        parser.add_argument(
            "--token-env", default="", help="Name of an environment variable holding the token."
        )
        parser.add_argument("--ssh-key-file", default="", help="Path of a private deploy key (ssh).")

    def handle(self, *args, team, location, username, token_env, ssh_key_file, **options):
        token = ""
        if token_env:
            token = os.environ.get(token_env, "")
            if not token:
                raise CommandError(f"The environment variable {token_env} is empty or unset.")
        key = Path(ssh_key_file).read_text() if ssh_key_file else ""
        try:
            repository = workflow.register_repository(
                team,
                actor=None,
                location=location,
                credentials=workflow.Credentials(username, token, key),
            )
        except WorkflowError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(str(repository.pk))
