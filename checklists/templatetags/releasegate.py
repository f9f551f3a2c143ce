"""Small presentation helpers for releasegate's templates."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from django import forms, template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from ..models import Release
from ..policy import permissions

register = template.Library()

STATUS_CLASSES = {
    "draft": "text-bg-secondary",
    "in_review": "text-bg-info",
    "approved": "text-bg-success",
    "deployed": "text-bg-primary",
    "rolled_back": "text-bg-danger",
    "cancelled": "text-bg-light border",
}
STATE_CLASSES = {
    "open": "text-bg-light border",
    "done": "text-bg-success",
    "failed": "text-bg-danger",
    "waived": "text-bg-warning",
    "not_applicable": "text-bg-secondary",
}
SCAN_CLASSES = {
    "queued": "text-bg-light border",
    "running": "text-bg-info",
    "passed": "text-bg-success",
    "failed": "text-bg-danger",
    "error": "text-bg-warning",
}
STATE_ICONS = {"open": "○", "done": "✓", "failed": "✗", "waived": "⚑", "not_applicable": "–"}


@register.filter
def status_class(status: str) -> str:
    return STATUS_CLASSES.get(status, "text-bg-light")


@register.filter
def state_class(state: str) -> str:
    return STATE_CLASSES.get(state, "text-bg-light")


@register.filter
def state_icon(state: str) -> str:
    return STATE_ICONS.get(state, "")


@register.filter
def scan_class(status: str) -> str:
    return SCAN_CLASSES.get(status, "text-bg-light")


@register.filter
def satisfied_label(item) -> str:
    """How an item gets satisfied, in words."""
    if item.is_field:
        return f"from the release's {item.argument.replace('_', ' ')}"
    if item.is_scan:
        return f"by the {item.argument.replace('_', ' ')} scan"
    if item.is_signoff:
        return "by reviewers' approvals"
    return "by hand (ticked with evidence)"


@register.filter
def dom_id(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(value))


@register.filter
def duration(value: timedelta | None) -> str:
    """A timedelta as '3d 4h', '2h 5m' or '40s'."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


@register.filter
def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def manager(user) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or permissions.is_manager(user)))


STATE_WORDS = {
    "open": "open",
    "done": "done",
    "failed": "failed",
    "waived": "waived",
    "not_applicable": "not applicable",
}


def _item_title(event, key) -> str:
    """An item's title for an event: set by the view (checklists/web/activity.py), else the key in words."""
    titles = getattr(event, "item_titles", None) or {}
    if key in titles:
        return titles[key]
    payload = event.payload or {}
    if payload.get("title"):
        return payload["title"]
    return str(key or "an item").rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")


@register.filter
def event_summary(event) -> str:
    """One line saying what an audit event recorded, with item titles (never keys)."""
    p = event.payload or {}
    verb = event.verb
    if verb == "release.created":
        return f"opened the release ({p.get('kind', '')}, commit {str(p.get('commit', ''))[:8]})"
    if verb == "release.updated":
        text = "changed " + ", ".join(f.replace("_", " ") for f in p.get("fields", []))
        return text + ("; approvals went stale" if p.get("signoffs_made_stale") else "")
    if verb == "item.updated":
        state = STATE_WORDS.get(p.get("to"), p.get("to"))
        text = f"set “{_item_title(event, p.get('key'))}” to {state}"
        text += f" ({p['reason']})" if p.get("reason") else ""
        return text + ("; approvals went stale" if p.get("signoffs_made_stale") else "")
    if verb == "release.submitted":
        queued = p.get("queued_scans") or []
        return "submitted for review" + (f"; queued scans: {', '.join(queued)}" if queued else "")
    if verb.startswith("signoff."):
        text = "approved" if verb.endswith("approve") else "rejected"
        return text + (f" ({p['approvals']} of {p['required']})" if "approvals" in p else "")
    if verb == "scans.requested":
        return ("re-ran" if p.get("force") else "requested") + " scans: " + ", ".join(p.get("scanners", []))
    if verb == "scan.finished":
        return f"scan {p.get('scanner')} {p.get('status')} with {p.get('findings', 0)} finding(s)"
    if verb == "release.deployed":
        return f"deployed {p.get('version_after', '')}".rstrip()
    if verb == "release.rolled_back":
        return f"rolled back: {p.get('reason', '')}"
    if verb == "release.cancelled":
        return "cancelled the release" + (f": {p['reason']}" if p.get("reason") else "")
    if verb == "followup.closed":
        return f"closed the follow-up of “{_item_title(event, p.get('key'))}” with evidence"
    if verb == "range.read":
        if p.get("status") == "ready":
            return (
                f"read what ships: {p.get('commits', 0)} commit(s), {p.get('relation') or 'relation unknown'}"
            )
        return "could not read what ships" + (f": {p['error']}" if p.get("error") else "")
    if verb == "range.requested":
        return (
            "production moved; what ships is read again"
            if p.get("production_moved")
            else "asked to read what ships again"
        )
    if verb == "range.overridden":
        return f"allowed approval without reading what ships: {p.get('reason', '')}"
    if verb == "freeze.overridden":
        return f"overrode the deploy freeze: {p.get('reason', '')}"
    if verb == "test_report.uploaded":
        return "uploaded a test report"
    return verb.replace(".", " ").replace("_", " ")


@register.filter
def lean_field(bound_field, css: str):
    """A filter field as a plain <select> or <input>, escaped, without widget templates.

    The history page draws its filters on every view; Django's template-based widget
    rendering cost about a third of that page's time (docs/benchmarks.md).
    """
    value = bound_field.value()
    value = "" if value is None else str(value)
    widget = bound_field.field.widget
    if isinstance(widget, forms.Select):
        # One option per team: escaped with the standard library (format_html's lazy-string
        # checks cost more than the escaping itself for 50 options).
        options = "".join(
            '<option value="{}"{}>{}</option>'.format(
                html.escape(str(key)), " selected" if str(key) == value else "", html.escape(str(label))
            )
            for key, label in bound_field.field.choices
        )
        return format_html(
            '<select name="{}" id="{}" class="{}">{}</select>',
            bound_field.html_name,
            bound_field.id_for_label,
            css,
            mark_safe(options),  # noqa: S308 - every key and label is escaped above  # nosec B308 B703
        )
    input_type = widget.attrs.get("type") or getattr(widget, "input_type", "text")
    return format_html(
        '<input type="{}" name="{}" id="{}" class="{}" value="{}">',
        input_type,
        bound_field.html_name,
        bound_field.id_for_label,
        css,
        value,
    )


@register.filter
def sort_arrow(field: str, current: str) -> str:
    if current == field:
        return "▲"
    if current == f"-{field}":
        return "▼"
    return ""


@register.filter
def finding_location(finding) -> str:
    """Where a scan finding is: file:line, or the endpoint a probe called."""
    if not isinstance(finding, dict):
        return ""
    where = finding.get("file") or finding.get("path") or finding.get("endpoint") or finding.get("url") or ""
    return f"{where}:{finding['line']}" if finding.get("line") else str(where)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "–"


HOTFIX_BADGE = '<span class="badge text-bg-warning">hotfix</span>'
HISTORY_ROW = (
    '<tr><td>#{pk}</td><td><a href="{base}{pk}/">{title}</a></td><td>{team}</td><td>{kind}</td>'
    '<td><span class="badge {status_class}">{status}</span></td><td class="d-none d-lg-table-cell">{author}</td>'
    '<td class="text-nowrap small">{created}</td><td class="text-nowrap small d-none d-lg-table-cell">{approved}</td>'
    '<td class="text-nowrap small d-none d-lg-table-cell">{deployed}</td></tr>'
)


@register.simple_tag
def history_rows(releases) -> str:
    """The history table's rows (named rows of checklists/views/history.py ROW_FIELDS), written directly.

    Django's template engine resolved each of the 25 rows' nine cells through filters and
    `{% url %}`, and format_html's lazy-aware escaping cost as much again: together most of
    the page's time at 100,000 releases (docs/benchmarks.md). Every value taken from a row is
    a plain string or number and goes through the standard library's `html.escape`.
    """
    base = reverse("checklists:release", args=[0])[: -len("0/")]
    labels = dict(Release.Status.choices)
    rows = [
        HISTORY_ROW.format(
            pk=int(r.id),
            base=base,
            title=html.escape(r.title),
            team=html.escape(r.team_name),
            kind=HOTFIX_BADGE if r.kind == "hotfix" else "standard",
            status_class=status_class(r.status),
            status=html.escape(str(labels.get(r.status, r.status))),
            author=html.escape(r.author_name),
            created=_when(r.created_at),
            approved=_when(r.approved_at),
            deployed=_when(r.deployed_at),
        )
        for r in releases
    ]
    return mark_safe("\n".join(rows))  # noqa: S308 - every value in a row is escaped above  # nosec B308 B703


@register.simple_tag(takes_context=True)
def history_header(context, columns) -> str:
    """The history's sortable column headers (aria-sort, link, arrow), written directly."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    for name in ("after", "before"):  # a position belongs to one order
        params.pop(name, None)
    current = params.get("o", "")
    cells = []
    for field, label in columns:
        state = "ascending" if current == field else "descending" if current == f"-{field}" else "none"
        params["o"] = f"-{field}" if current == field else field
        arrow = sort_arrow(field, current)
        hidden = " d-none d-lg-table-cell" if field in ("approved", "deployed", "author") else ""
        cells.append(
            format_html(
                '<th scope="col" aria-sort="{}" class="text-nowrap{}"><a class="link-body-emphasis '
                'text-decoration-none" href="?{}">{}{}</a></th>',
                state,
                hidden,
                urlencode(sorted(params.items()), doseq=False),
                label,
                format_html(' <span aria-hidden="true">{}</span>', arrow) if arrow else "",
            )
        )
    return mark_safe("".join(cells))  # noqa: S308 - format_html's escaped output  # nosec B308 B703
