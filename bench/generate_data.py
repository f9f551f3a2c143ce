"""Fill a PostgreSQL database with releasegate data at scale, reproducibly from a seed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rg_bench .venv/bin/python bench/generate_data.py
    ... bench/generate_data.py --releases 1000 --seed 7        # a small run

Default: 50 teams, 100,000 releases, 1,900,000 checklist items (the 19 seed items per
release), 300,000 sign-offs and 1,000,000 audit events, written with COPY. The database
is migrated first; releasegate's tables are emptied (TRUNCATE: the audit log's trigger
refuses DELETE, not a deliberate restore). Same seed, same rows (times are fixed too).

The audit events form a valid hash chain (checklists/models/audit.py), so `manage.py
verify_audit` is meaningful on the generated data. Sign-offs respect the database's
self-review guard (the insert trigger runs for each row). A user `bench` is a member of
every team; bench/load.py signs in as that user.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEAMS = 50
USERS_PER_TEAM = 6  # u0-u2 members, u3-u5 reviewers
END = datetime(2026, 11, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
# Share of releases per final status; the rest of the story follows from it.
STATUSES = [
    ("deployed", 0.60),
    ("rolled_back", 0.05),
    ("approved", 0.05),
    ("in_review", 0.08),
    ("draft", 0.10),
    ("cancelled", 0.12),
]
RELEASED = {"deployed", "rolled_back", "approved"}
BENCH_USER = "bench"


def setup_django(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")
    import django

    django.setup()


def copy_rows(cursor, table: str, columns: list[str], rows) -> int:
    n = 0
    cols = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def jsonb(value) -> str:
    return json.dumps(value)


class Generator:
    def __init__(self, seed: int, releases: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.n_releases = releases

    # --- users and teams -----------------------------------------------------------
    def people(self, cursor, password: str) -> None:
        users = []
        uid = 0
        self.team_users: dict[int, list[int]] = {}
        for t in range(1, TEAMS + 1):
            ids = []
            for u in range(USERS_PER_TEAM):
                uid += 1
                ids.append(uid)
                users.append((uid, f"t{t:02d}u{u}", f"t{t:02d}u{u}@example.com"))
            self.team_users[t] = ids
        self.bench_id = uid + 1
        users.append((self.bench_id, BENCH_USER, "bench@example.com"))
        copy_rows(
            cursor,
            "auth_user",
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],  # fmt: skip
            ((i, password, False, name, "", "", mail, False, True, END - SPAN) for i, name, mail in users),
        )
        copy_rows(
            cursor,
            "checklists_team",
            [
                "id",
                "name",
                "slug",
                "required_approvals",
                "production_config_globs",
                "probe_endpoints",
                "probe_public_allowlist",
                "secrets_allowlist",
                "owner_id",
                "template_id",
                "allow_commit_authors_to_review",
                "approval_valid_days",
                "followup_due_working_days",
                "notify_email",
                "notify_events",
            ],  # fmt: skip
            (
                (
                    t,
                    f"Team {t:02d}",
                    f"team-{t:02d}",
                    1,
                    "[]",
                    "[]",
                    "[]",
                    "[]",
                    self.team_users[t][3],
                    None,
                    False,
                    None,
                    5,
                    "",
                    "[]",
                )  # fmt: skip
                for t in range(1, TEAMS + 1)
            ),
        )
        # One registered repository per team (id = team id); releases ship from it.
        copy_rows(
            cursor,
            "checklists_repository",
            ["id", "team_id", "location", "username", "token", "ssh_key", "archived", "created_at"],
            (
                (t, t, f"https://git.example.com/team-{t:02d}/service.git", "", "", "", False, END - SPAN)
                for t in range(1, TEAMS + 1)
            ),
        )
        memberships = []
        for t, ids in self.team_users.items():
            for u, user_id in enumerate(ids):
                # The team's named owner (u3, a reviewer) holds the owner role too.
                owner = user_id == self.team_users[t][3]
                memberships.append((t, user_id, "reviewer" if u >= 3 else "member", owner, "[]", "local"))
            memberships.append((t, self.bench_id, "member", False, "[]", "local"))
        copy_rows(
            cursor,
            "checklists_membership",
            ["id", "team_id", "user_id", "role", "owner", "groups", "source"],
            ((i, *m) for i, m in enumerate(memberships, start=1)),
        )

    # --- releases and everything hanging off them -------------------------------
    def releases(self, cursor, template_id: int, template_items: list[dict]) -> dict[str, int]:
        from checklists.models import audit

        rng = self.rng
        statuses = [s for s, _ in STATUSES]
        weights = [w for _, w in STATUSES]
        step = SPAN / self.n_releases
        release_rows, item_rows, signoff_rows, event_rows, range_rows = [], [], [], [], []
        counts = {"releases": 0, "items": 0, "signoffs": 0, "audit_events": 0, "commit_ranges": 0}
        production: dict[int, str] = {}  # team -> commit deployed last (what ships is read from it)
        item_id = signoff_id = event_id = 0
        prev_hash = audit.GENESIS

        def event(release_id, actor, verb, payload, at):
            nonlocal event_id, prev_hash
            event_id += 1
            digest = audit.event_hash(
                prev_hash,
                audit.canonical(
                    actor_id=actor,
                    release_id=release_id,
                    verb=verb,
                    payload=payload,
                    correlation_id="",
                    created_at=at,
                ),  # fmt: skip
            )
            event_rows.append((event_id, verb, jsonb(payload), "", at, prev_hash, digest, actor, release_id))
            prev_hash = digest

        def flush(final: bool = False):
            if len(item_rows) < 200_000 and not final:
                return
            counts["commit_ranges"] += copy_rows(cursor, "checklists_commitrange", RANGE_COLUMNS, range_rows)
            counts["releases"] += copy_rows(cursor, "checklists_release", RELEASE_COLUMNS, release_rows)
            counts["items"] += copy_rows(cursor, "checklists_checklistitem", ITEM_COLUMNS, item_rows)
            counts["signoffs"] += copy_rows(cursor, "checklists_signoff", SIGNOFF_COLUMNS, signoff_rows)
            counts["audit_events"] += copy_rows(cursor, "checklists_auditevent", EVENT_COLUMNS, event_rows)
            for rows in (release_rows, item_rows, signoff_rows, event_rows, range_rows):
                rows.clear()

        for rid in range(1, self.n_releases + 1):
            team = rng.randrange(1, TEAMS + 1)
            users = self.team_users[team]
            author = rng.choice(users)
            reviewers = [u for u in users[3:] if u != author]
            status = rng.choices(statuses, weights)[0]
            kind = "hotfix" if rng.random() < 0.15 else "standard"
            created = END - SPAN + step * rid
            commit = hashlib.sha1(f"{self.seed}-{rid}".encode()).hexdigest()  # noqa: S324 (not security)
            major, minor = divmod(rid, 50)
            submitted = created + timedelta(hours=2) if status != "draft" else None
            approved = created + timedelta(hours=5) if status in RELEASED else None
            deployed = created + timedelta(hours=6) if status in {"deployed", "rolled_back"} else None
            rolled = created + timedelta(hours=7) if status == "rolled_back" else None
            cancelled = created + timedelta(hours=3) if status == "cancelled" else None
            last = max(t for t in (created, submitted, approved, deployed, rolled, cancelled) if t)
            # What ships, as a worker stored it: a few commits by the team, files with line counts.
            base = production.get(team, "")
            shipped = [
                {"sha": hashlib.sha1(f"{self.seed}-{rid}-{n}".encode()).hexdigest(),  # noqa: S324
                 "author_name": f"t{team:02d}u{u}", "author_email": f"t{team:02d}u{u}@example.com",
                 "committer_name": f"t{team:02d}u{u}", "committer_email": f"t{team:02d}u{u}@example.com",
                 "date": created.isoformat(), "subject": f"Change {n} of release {rid}"}
                for n in range(rng.randint(1, 12)) for u in [rng.choice([0, 1, 2])]
            ]  # fmt: skip
            files = [
                {"path": f"src/module_{rng.randrange(200)}/file_{n}.py", "additions": rng.randrange(1, 120),
                 "deletions": rng.randrange(0, 60), "binary": False}
                for n in range(rng.randint(1, 30))
            ]  # fmt: skip
            range_rows.append(
                (rid, team, base, commit, "ready", "ahead" if base else "new", len(shipped), 0, jsonb(shipped),
                 jsonb(files), False, "", 1, created, created, created)
            )  # fmt: skip
            if status in {"deployed", "rolled_back"}:
                production[team] = commit  # (a rollback returns to the one before; close enough here)
            release_rows.append(
                (rid, f"{['Payments', 'Ledger', 'Webhooks', 'Search', 'Billing'][rid % 5]} {major}.{minor}",
                 kind, status, team, rid, commit,
                 f"{major}.{minor - 1 if minor else 0}.0", f"{major}.{minor}.0", "Routine release.",
                 "Redeploy the previous image.", "helm upgrade", "", "Error rate rose." if rolled else "",
                 10, created, last, submitted, approved, deployed, rolled, cancelled, author, template_id, team)
            )  # fmt: skip

            # Items: all satisfied once released; partly ticked on drafts and cancelled ones.
            share = 1.0 if status in RELEASED or status == "in_review" else rng.random()
            ticked = 0
            for item in template_items:
                item_id += 1
                done = rng.random() < share
                set_at = created + timedelta(minutes=30) if done else None
                state = "done" if done else "open"
                ticked += done
                item_rows.append(
                    (item_id, item["key"], item["category"], item["title"], item["help"], item["order"],
                     item["required"], item["waivable"], item["satisfied_by"], state,
                     "https://ci.example.com/run/1" if done and item["satisfied_by"] == "manual" else "", "",
                     set_at, author if done and item["satisfied_by"] == "manual" else None, rid, None,
                     commit if done and item["satisfied_by"].startswith("scan:") else "")
                )  # fmt: skip

            # Sign-offs: three per release; one current approval once released, the rest stale.
            for n in range(3):
                signoff_id += 1
                current = status in RELEASED and n == 2
                decision = "reject" if n == 1 else "approve"
                signoff_rows.append(
                    (signoff_id, decision, "Looks good." if decision == "approve" else "Add the rollback plan.",
                     commit, hashlib.sha256(f"{rid}-{n}".encode()).hexdigest(), not current,
                     created + timedelta(hours=3 + n / 2), author, rid, reviewers[n % len(reviewers)], rid, "")
                )  # fmt: skip

            # Audit events: ten per release, the same story in the log.
            event(rid, author, "release.created", {"kind": kind, "commit": commit}, created)
            for n in range(5):
                key = template_items[n]["key"]
                event(rid, author, "item.updated", {"key": key, "from": "open", "to": "done"},
                      created + timedelta(minutes=10 + n))  # fmt: skip
            event(rid, author, "release.submitted", {"queued_scans": []}, created + timedelta(hours=2))
            event(rid, reviewers[0], "signoff.approve", {"approvals": 1, "required": 1},
                  created + timedelta(hours=3))  # fmt: skip
            event(rid, author, "release.deployed", {"commit": commit, "version_after": f"{major}.{minor}.0"},
                  created + timedelta(hours=6))  # fmt: skip
            event(rid, author, "release.updated", {"fields": ["description"], "signoffs_made_stale": False},
                  last + timedelta(minutes=1))  # fmt: skip
            flush()
        flush(final=True)
        return counts


RANGE_COLUMNS = [
    "id", "repository_id", "base", "head", "status", "relation", "ahead_by", "behind_by", "commits", "files",
    "truncated", "error", "attempts", "requested_at", "claimed_at", "read_at",
]  # fmt: skip
RELEASE_COLUMNS = [
    "id", "title", "kind", "status", "repository_id", "commit_range_id", "commit", "version_before", "version_after", "description",
    "rollback_plan", "deployment_steps", "known_limitations", "rollback_reason", "revision", "created_at",
    "updated_at", "submitted_at", "approved_at", "deployed_at", "rolled_back_at", "cancelled_at", "author_id",
    "template_id", "team_id",
]  # fmt: skip
ITEM_COLUMNS = [
    "id", "key", "category", "title", "help", "order", "required", "waivable", "satisfied_by", "state",
    "evidence", "reason", "set_at", "set_by_id", "release_id", "scan_id", "evidence_commit",
]  # fmt: skip
SIGNOFF_COLUMNS = [
    "id", "decision", "comment", "commit", "checklist_digest", "stale", "created_at", "author_id", "release_id",
    "reviewer_id", "commit_range_id", "acknowledged_relation",
]  # fmt: skip
EVENT_COLUMNS = ["id", "verb", "payload", "correlation_id", "created_at", "prev_hash", "hash", "actor_id",
                 "release_id"]  # fmt: skip
TABLES = [
    "checklists_auditevent", "checklists_signoff", "checklists_checklistitem", "checklists_scanrun",
    "checklists_testreport", "checklists_contribution", "checklists_rangeoverride", "checklists_release",
    "checklists_commitrange", "checklists_repository", "checklists_membership", "checklists_team",
    "authtoken_token", "django_session", "auth_user_groups", "auth_user",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--releases", type=int, default=100_000)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("needs a PostgreSQL DATABASE_URL (or --database-url), e.g. .../rg_bench")
    setup_django(args.database_url)

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from checklists.checklist_format.files import SEED_CHECKLIST, parse_checklist, store_checklist
    from checklists.models import ChecklistTemplate, TemplateItem

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    generator = Generator(args.seed, args.releases)
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor, for COPY
        existing = [t for t in TABLES if t in connection.introspection.table_names()]
        cursor.execute(f"TRUNCATE {', '.join(existing)} RESTART IDENTITY CASCADE")
        # Checklists belong to teams since team-owned versions, so the TRUNCATE above emptied
        # them too (CASCADE): store the seed checklist again as the default.
        template = store_checklist(
            parse_checklist(SEED_CHECKLIST.read_text()), ChecklistTemplate, TemplateItem, is_default=True
        )
        items = list(
            template.items.values(
                "key", "category", "title", "help", "order", "required", "waivable", "satisfied_by"
            )
        )
        generator.people(cursor, make_password(None))
        counts = generator.releases(cursor, template.pk, items)
        # Open releases read what ships from today's production (what the workflow keeps current).
        cursor.execute(
            """UPDATE checklists_commitrange cr SET base = p.commit, relation = 'ahead'
               FROM checklists_release r, LATERAL (
                 SELECT d.commit FROM checklists_release d
                 WHERE d.repository_id = r.repository_id AND d.status = 'deployed' AND d.id <> r.id
                 ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1) p
               WHERE r.commit_range_id = cr.id AND r.status IN ('draft', 'in_review', 'approved')"""
        )
        # COPY with explicit ids leaves the sequences behind: move them past the data.
        for table in ["auth_user", *[t for t in TABLES if t.startswith("checklists_")]]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"  # noqa: S608
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the visibility map lets counts use index-only scans
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{v:,} {k}" for k, v in counts.items())
    sys.stdout.write(f"generated {TEAMS} teams, {summary} in {elapsed:.0f} s (seed {args.seed})\n")


if __name__ == "__main__":
    main()
