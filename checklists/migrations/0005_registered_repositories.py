"""Registered repositories: releases name one instead of a free-text location.

Existing releases keep their history: each distinct (team, location) they used becomes a
Repository of that team, registered as it was typed. Those locations are checked again
before every fetch (checklists/git/locations.py), so an old local path or plain http:// URL is
simply unreadable on an installation that does not allow it. The old CommitRange rows were
a cache of ranges read by web requests; they are dropped and read again by workers.
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def register_used_locations(apps, schema_editor):
    Release = apps.get_model("checklists", "Release")
    Repository = apps.get_model("checklists", "Repository")
    used = Release.objects.values_list("team_id", "repository_text").distinct()
    for team_id, text in used:
        repository, _ = Repository.objects.get_or_create(team_id=team_id, location=text.strip()[:500])
        Release.objects.filter(team_id=team_id, repository_text=text).update(repository=repository)


def scans_name_their_repository(apps, schema_editor):
    ScanRun = apps.get_model("checklists", "ScanRun")
    Release = apps.get_model("checklists", "Release")
    for release_id, repository_id in Release.objects.values_list("pk", "repository_id"):
        ScanRun.objects.filter(release_id=release_id).update(repository_id=repository_id)


# SQLite rebuilds a table to change it, which drops the triggers on it and refuses while a
# trigger names a table being rebuilt: the sign-off guards of 0003 go around the changes.
_guards = importlib.import_module("checklists.migrations.0003_database_guards")
SIGNOFF_GUARDS_UP = [sql for sql in _guards.SQLITE_UP if "checklists_signoff_no_self_review" in sql]
SIGNOFF_GUARDS_DOWN = [sql for sql in _guards.SQLITE_DOWN if "checklists_signoff_no_self_review" in sql]


def _on_sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("checklists", "0004_beyond_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_on_sqlite(SIGNOFF_GUARDS_DOWN), _on_sqlite(SIGNOFF_GUARDS_UP)),
        migrations.CreateModel(
            name="Repository",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("location", models.CharField(help_text="https://, ssh:// or user@host:path.", max_length=500)),
                ("username", models.CharField(blank=True, help_text="For https: the token's user name.", max_length=100)),
                ("token", models.CharField(blank=True, help_text="For https: a read-only access token.", max_length=1000)),
                ("ssh_key", models.TextField(blank=True, help_text="For ssh: a read-only deploy key.", max_length=20000)),
                ("archived", models.BooleanField(default=False, help_text="Archived repositories take no new releases.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("team", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="repositories", to="checklists.team")),
            ],
            options={
                "verbose_name_plural": "repositories",
                "ordering": ["team", "location"],
                "constraints": [models.UniqueConstraint(fields=("team", "location"), name="checklists_repository_unique_location")],
            },
        ),
        migrations.RenameField(model_name="release", old_name="repository", new_name="repository_text"),
        migrations.AddField(
            model_name="release",
            name="repository",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="releases", to="checklists.repository"),
        ),
        migrations.RunPython(register_used_locations, migrations.RunPython.noop),
        migrations.RemoveField(model_name="release", name="repository_text"),
        migrations.AlterField(
            model_name="release",
            name="repository",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="releases", to="checklists.repository"),
        ),
        migrations.DeleteModel(name="CommitRange"),
        migrations.CreateModel(
            name="CommitRange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("base", models.CharField(blank=True, help_text="Empty: no earlier deployment.", max_length=40)),
                ("head", models.CharField(max_length=40)),
                ("status", models.CharField(choices=[("pending", "Being read"), ("ready", "Read"), ("unreadable", "Could not be read")], default="pending", max_length=16)),
                ("relation", models.CharField(blank=True, choices=[("new", "Nothing deployed yet"), ("same", "The deployed commit"), ("ahead", "Ahead of production"), ("behind", "Older than production"), ("diverged", "Diverged from production")], max_length=16)),
                ("ahead_by", models.PositiveIntegerField(blank=True, null=True)),
                ("behind_by", models.PositiveIntegerField(blank=True, null=True)),
                ("commits", models.JSONField(blank=True, default=list)),
                ("files", models.JSONField(blank=True, default=list)),
                ("truncated", models.BooleanField(default=False)),
                ("error", models.TextField(blank=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("read_at", models.DateTimeField(blank=True, null=True)),
                ("repository", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="ranges", to="checklists.repository")),
            ],
            options={
                "indexes": [models.Index(fields=["status", "requested_at"], name="commitrange_status_requested")],
                "constraints": [models.UniqueConstraint(fields=("repository", "base", "head"), name="checklists_commitrange_unique_range")],
            },
        ),
        migrations.AddField(
            model_name="release",
            name="commit_range",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="checklists.commitrange"),
        ),
        migrations.AddIndex(
            model_name="release",
            index=models.Index(fields=["repository", "status", "deployed_at"], name="release_repo_deployed"),
        ),
        migrations.AddField(
            model_name="signoff",
            name="commit_range",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="checklists.commitrange"),
        ),
        migrations.AddField(
            model_name="signoff",
            name="acknowledged_relation",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name="scanrun",
            name="repository",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="checklists.repository"),
        ),
        migrations.RunPython(scans_name_their_repository, migrations.RunPython.noop),
        migrations.CreateModel(
            name="RangeOverride",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reason", models.TextField(max_length=4000)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("commit_range", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="overrides", to="checklists.commitrange")),
                ("release", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="range_overrides", to="checklists.release")),
                ("reviewer", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("release", "commit_range"), name="checklists_rangeoverride_one_per_range")],
            },
        ),
        migrations.CreateModel(
            name="Contribution",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("commit", "changed the commit"), ("repository", "changed the repository")], max_length=16)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("release", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="contributions", to="checklists.release")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("release", "user", "kind"), name="checklists_contribution_once_per_kind")],
            },
        ),
        migrations.RunPython(_on_sqlite(SIGNOFF_GUARDS_UP), _on_sqlite(SIGNOFF_GUARDS_DOWN)),
    ]
