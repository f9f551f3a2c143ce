"""Rules the database itself enforces, whoever writes to it.

- a sign-off whose reviewer is the release's author is refused, whatever the
  sign-off's own copy of the author says (the check constraint covers that copy);
- audit events are append-only: no UPDATE (and on PostgreSQL no DELETE).

TRUNCATE stays possible for the database owner (Django's test flush uses it, and so
does a deliberate restore); SQLite, the development database, blocks UPDATE only so
that test flushes work: the ORM refuses deletes there (AuditEventQuerySet).
"""

from django.db import migrations

SQLITE_UP = [
    """CREATE TRIGGER checklists_signoff_no_self_review_ins BEFORE INSERT ON checklists_signoff
       WHEN NEW.reviewer_id = (SELECT author_id FROM checklists_release WHERE id = NEW.release_id)
       BEGIN SELECT RAISE(ABORT, 'self_review: the author of a release cannot sign it off'); END""",
    """CREATE TRIGGER checklists_signoff_no_self_review_upd BEFORE UPDATE ON checklists_signoff
       WHEN NEW.reviewer_id = (SELECT author_id FROM checklists_release WHERE id = NEW.release_id)
       BEGIN SELECT RAISE(ABORT, 'self_review: the author of a release cannot sign it off'); END""",
    """CREATE TRIGGER checklists_auditevent_no_update BEFORE UPDATE ON checklists_auditevent
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS checklists_signoff_no_self_review_ins",
    "DROP TRIGGER IF EXISTS checklists_signoff_no_self_review_upd",
    "DROP TRIGGER IF EXISTS checklists_auditevent_no_update",
]
POSTGRES_UP = [
    """CREATE FUNCTION checklists_signoff_no_self_review() RETURNS trigger AS $$
       BEGIN
         IF NEW.reviewer_id = (SELECT author_id FROM checklists_release WHERE id = NEW.release_id) THEN
           RAISE EXCEPTION 'self_review: the author of a release cannot sign it off'
             USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER checklists_signoff_no_self_review BEFORE INSERT OR UPDATE ON checklists_signoff
       FOR EACH ROW EXECUTE FUNCTION checklists_signoff_no_self_review()""",
    """CREATE FUNCTION checklists_auditevent_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER checklists_auditevent_append_only BEFORE UPDATE OR DELETE ON checklists_auditevent
       FOR EACH ROW EXECUTE FUNCTION checklists_auditevent_append_only()""",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS checklists_auditevent_append_only ON checklists_auditevent",
    "DROP FUNCTION IF EXISTS checklists_auditevent_append_only()",
    "DROP TRIGGER IF EXISTS checklists_signoff_no_self_review ON checklists_signoff",
    "DROP FUNCTION IF EXISTS checklists_signoff_no_self_review()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("checklists", "0002_default_template")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
