"""Load a checklist template from YAML as a new version; optionally make a team use it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checklists.checklist_format.files import ChecklistFileError, parse_checklist, store_checklist
from checklists.models import ChecklistTemplate, Team, TemplateItem


class Command(BaseCommand):
    help = "Load FILE as the next version of its template (releases keep their own copies)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--team", help="Slug of a team that should use the new version.")
        parser.add_argument("--default", action="store_true", help="Make it the built-in default template.")

    def handle(self, *args, file: Path, team=None, default=False, **options):
        try:
            spec = parse_checklist(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        except ChecklistFileError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        with transaction.atomic():
            team_obj = None
            if team:
                team_obj = Team.objects.select_for_update().filter(slug=team).first()
                if team_obj is None:
                    raise CommandError(f"unknown team {team!r}")
            template = store_checklist(spec, ChecklistTemplate, TemplateItem, is_default=default)
            if team_obj:
                team_obj.template = template
                team_obj.save(update_fields=["template"])
        target = f" for team {team}" if team else ""
        self.stdout.write(f"Loaded {template} with {len(spec.items)} items{target}.")
