"""Queries per page and per endpoint at 10 and at 1,000 items / rows, and EXPLAIN of the history filters.

    .venv/bin/python bench/query_counts.py                       # counts on rg_proof, EXPLAIN on rg_bench
    ... bench/query_counts.py --write                            # also write docs/benchmarks.md
    ... --database-url postgres://.../rg_proof --bench-url postgres://.../rg_bench

The counts run in a scratch PostgreSQL database (--database-url; its releasegate
tables are emptied): a checklist of 10 and one of 1,000 items, each ticked through the
workflow (so the audit timeline holds as many events), and teams with 10 and 1,000
releases for the lists. The EXPLAIN runs the history page's own SQL (built by its
filter set) against the big database of bench/generate_data.py.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "benchmarks.md"
SIZES = (10, 1000)
TABLES = [
    "checklists_auditevent", "checklists_signoff", "checklists_checklistitem", "checklists_scanrun",
    "checklists_contribution", "checklists_rangeoverride", "checklists_release", "checklists_commitrange",
    "checklists_repository", "checklists_membership", "checklists_team", "authtoken_token", "django_session",
]  # fmt: skip


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "releasegate.settings"
    os.environ["DEBUG"] = "false"
    import django

    django.setup()


def build(size: int) -> dict:
    """A team whose member sees `size` releases, and a release whose checklist has `size` items."""
    from django.contrib.auth.models import User

    from checklists import workflow
    from checklists.git.commit_range import RangeRead
    from checklists.models import ChecklistTemplate, Membership, Release, Repository, Team, TemplateItem

    author = User.objects.create(username=f"author{size}")
    reviewer = User.objects.create(username=f"reviewer{size}")
    template = ChecklistTemplate.objects.create(slug=f"qc-{size}", name=f"{size} items", version=1)
    TemplateItem.objects.bulk_create(
        TemplateItem(
            template=template,
            key=f"c.item-{n:04d}",
            category="correctness",
            title=f"Item {n}",
            order=n,
            satisfied_by="manual",
        )  # fmt: skip
        for n in range(size)
    )
    team = Team.objects.create(name=f"QC {size}", slug=f"qc-{size}", owner=reviewer, template=template)
    Membership.objects.create(team=team, user=author, role="member")
    Membership.objects.create(team=team, user=reviewer, role="reviewer")
    # The team's registered repository (as bench/generate_data.py writes it: no git is read here).
    repository = Repository.objects.create(team=team, location="https://git.example.com/qc.git")
    data = {"title": f"Release of {size}", "repository": repository.pk, "commit": "a" * 40,
            "version_before": "1.0", "version_after": "1.1", "rollback_plan": "Redeploy 1.0."}  # fmt: skip
    release = workflow.create_release(actor=author, team=team, data=data)
    for key in release.items.values_list("key", flat=True):
        workflow.set_item_state(release.pk, key, actor=author, state="done", evidence="https://ci.example/1")
    workflow.submit(release.pk, actor=author)
    # What a worker stores after reading the range, so that the approval may go through.
    release.refresh_from_db()
    workflow.claim_range_read(release.commit_range_id, stale_after=0)
    commits = [
        {"sha": "a" * 40, "author_email": "author@example.com", "committer_email": "author@example.com"}
    ]
    workflow.record_range_read(release.commit_range_id, read=RangeRead("new", 1, 0, commits, []))
    workflow.sign_off(release.pk, actor=reviewer, decision="approve", comment="ok")
    # The other rows of the list: plain releases with the same small checklist, made in bulk, of
    # another repository (so that they do not move the production the measured release reads from).
    older = Repository.objects.create(team=team, location="https://git.example.com/qc-old.git")
    others = [
        Release(
            team=team,
            template=template,
            author=author,
            title=f"Old {n}",
            repository=older,
            commit=f"{n:040x}",
            status="deployed",
        )  # fmt: skip
        for n in range(size - 1)
    ]
    Release.objects.bulk_create(others)
    release.refresh_from_db()
    return {"author": author, "reviewer": reviewer, "release": release, "team": team}


def count(client, method: str, path: str, **kwargs) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(path, **kwargs)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    if response.status_code >= 400:
        raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
    return len(queries)


def measure(world: dict) -> dict[str, int]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    release, author = world["release"], world["author"]
    page = Client(HTTP_HOST="127.0.0.1")
    page.force_login(author)
    token = Token.objects.get_or_create(user=author)[0].key
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
    key = release.items.values_list("key", flat=True).first()
    slug = world["team"].slug
    return {
        "release page (HTML)": count(page, "get", f"/releases/{release.pk}/"),
        "history page": count(page, "get", "/history/"),
        "history, filtered": count(page, "get", f"/history/?team={slug}&status=deployed&q=Old"),
        "history CSV export": count(page, "get", "/history/export.csv"),
        "dashboard": count(page, "get", "/"),
        "API release detail": count(api, "get", f"/api/v1/releases/{release.pk}/"),
        "API release list": count(api, "get", f"/api/v1/releases/?team={slug}"),
        "API gate": count(api, "get", f"/api/v1/releases/{release.pk}/gate/?commit={release.commit}"),
        "API item PATCH": count(
            api,
            "patch",
            f"/api/v1/releases/{release.pk}/items/{key}/",
            data='{"evidence": "again"}',
            content_type="application/json",
        ),  # fmt: skip
    }


def counts_table(database_url: str) -> str:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        existing = [t for t in TABLES if t in connection.introspection.table_names()]
        cursor.execute(f"TRUNCATE {', '.join(existing)} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM auth_user")
    from checklists.models import ChecklistTemplate

    ChecklistTemplate.objects.filter(slug__startswith="qc-").delete()  # left by an earlier run
    results = {size: measure(build(size)) for size in SIZES}
    lines = ["| page or endpoint | queries at 10 | queries at 1,000 | grows? |", "|---|---:|---:|---|"]
    for name in results[SIZES[0]]:
        small, large = results[SIZES[0]][name], results[SIZES[1]][name]
        lines.append(f"| {name} | {small} | {large} | {'**yes**' if large > small else 'no'} |")
    return "\n".join(lines)


def explain_history(bench_url: str) -> str:
    """EXPLAIN ANALYZE the SQL the history page runs for each filter, on the big database."""
    import psycopg
    from django.contrib.auth.models import User
    from django.core.paginator import Paginator
    from django.http import QueryDict

    from checklists.models import Team
    from checklists.policy import permissions
    from checklists.web.filters import HistoryFilter

    out = []
    with psycopg.connect(bench_url.replace("postgres://", "postgresql://", 1)) as pg:
        bench_id = pg.execute("SELECT id FROM auth_user WHERE username = 'bench'").fetchone()[0]
        teams = [Team(slug=slug, name=slug) for (slug,) in pg.execute("SELECT slug FROM checklists_team")]
        user = User(pk=bench_id, username="bench")
        user._releasegate_is_manager = False
        cases = {
            "unfiltered, page 1": "",
            "team + status": "team=team-07&status=deployed",
            "author": "author=t07u1",
            "date range (created from/until)": "since=2025-06-01&until=2025-07-01",
            "text search": "q=Ledger 1",
            "sorted by team, page 2,000": "o=team&page=2000",
        }
        for label, query in cases.items():
            params = QueryDict(query)
            qs = HistoryFilter(
                params, queryset=permissions.readable_releases(user).with_related(), teams=teams
            ).qs
            number = int(params.get("page", 1))
            sql, args = qs[(number - 1) * 25 : number * 25].query.sql_with_params()
            count_sql, count_args = qs.order_by().values("pk").query.sql_with_params()
            plan = [row[0] for row in pg.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, args)]
            count_plan = [row[0] for row in pg.execute(
                f"EXPLAIN (ANALYZE, COSTS OFF) SELECT COUNT(*) FROM ({count_sql}) AS q", count_args)]  # noqa: S608  # fmt: skip
            out.append(summarise(label, query, plan, count_plan))
        _ = Paginator  # the page runs COUNT(*) over the filtered rows, then the slice
    return "\n".join(out)


def summarise(label: str, query: str, plan: list[str], count_plan: list[str]) -> str:
    def digest(lines: list[str]) -> tuple[str, str]:
        scans = sorted({m.group(0) for line in lines for m in re.finditer(
            r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Parallel Seq Scan)(?: Backward)?(?: using \w+)? on \w+", line)})  # fmt: skip
        total = next((line.split(":")[1].strip() for line in lines if line.startswith("Execution Time")), "?")
        return "; ".join(scans), total

    page_scans, page_ms = digest(plan)
    count_scans, count_ms = digest(count_plan)
    return f"| {label} | `{query or '-'}` | {page_ms} | {page_scans} | {count_ms} | {count_scans} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rg_proof")
    parser.add_argument("--bench-url", default="postgres://postgres@127.0.0.1:5432/rg_bench")
    parser.add_argument("--write", action="store_true", help="write the tables into docs/benchmarks.md")
    args = parser.parse_args()
    setup_django(args.database_url)
    counts = counts_table(args.database_url)
    explain = (
        "| history filter | query string | page: time | page: scans | COUNT(*): time | COUNT(*): scans |\n"
        "|---|---|---:|---|---:|---|\n" + explain_history(args.bench_url)
    )
    body = f"### Queries per request\n\n{counts}\n\n### EXPLAIN ANALYZE of the history filters (rg_bench)\n\n{explain}"
    sys.stdout.write(body + "\n")
    if args.write:
        begin, end = "<!-- queries:begin -->", "<!-- queries:end -->"
        text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
        block = f"{begin}\n{body}\n{end}"
        if begin in text:
            text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        DOC.write_text(text)


if __name__ == "__main__":
    main()
