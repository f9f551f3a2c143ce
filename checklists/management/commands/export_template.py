"""Write a checklist template as YAML that load_template reads back."""

from django.core.management.base import BaseCommand, CommandError

from checklists.checklist_format.files import dump_checklist
from checklists.models import ChecklistTemplate, Team


class Command(BaseCommand):
    help = "Print the template a team uses (or the default, or SLUG at its latest version) as YAML."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--team", help="Slug of the team whose template to export.")
        target.add_argument("--slug", help="Template slug (latest version).")

    def handle(self, *args, team=None, slug=None, **options):
        if team:
            team_obj = Team.objects.filter(slug=team).select_related("template").first()
            if team_obj is None:
                raise CommandError(f"unknown team {team!r}")
            template = team_obj.template or ChecklistTemplate.default()
        elif slug:
            template = ChecklistTemplate.objects.filter(slug=slug).order_by("-version").first()
            if template is None:
                raise CommandError(f"unknown template {slug!r}")
        else:
            template = ChecklistTemplate.default()
        self.stdout.write(dump_checklist(template), ending="")
