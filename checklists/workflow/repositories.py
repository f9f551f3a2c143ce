"""A team's registered repositories: the only places its releases may come from.

Staff or the team's owner registers a repository (page, API, admin, `manage.py
add_repository`); the location is checked against this installation's rules
(checklists/git/locations.py) and stored in its canonical form, with its credentials. The
credentials are never shown again and never written to the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import User

from ..errors import InvalidInput, NotAllowed, NotFound
from ..git import locations
from ..models import Repository, Team
from ..policy import teams as team_policy
from .base import FieldErrors, _audit
from .transactions import write_transaction

USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
PRIVATE_KEY_RE = re.compile(
    r"^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n.+\n-----END [A-Z0-9 ]*PRIVATE KEY-----$", re.S
)


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    token: str = ""
    ssh_key: str = ""


def may_manage(actor: User | None, team: Team) -> bool:
    """Staff, or an owner of the team; None is the system itself (a management command)."""
    return team_policy.may_manage(actor, team)


def _team(team: Team | str) -> Team:
    if isinstance(team, Team):
        return team
    found = Team.objects.filter(slug=team).first()
    if found is None:
        raise NotFound(f"No team {team!r}.")
    return found


def clean_credentials(location: locations.Location, credentials: Credentials | None) -> Credentials:
    """Check credentials against the kind of location they are for; raise InvalidInput."""
    credentials = credentials or Credentials()
    errors = FieldErrors()
    username, token, key = (credentials.username or "").strip(), (credentials.token or "").strip(), ""
    if credentials.ssh_key:
        key = credentials.ssh_key.replace("\r\n", "\n").strip()
    if username and not USERNAME_RE.fullmatch(username):
        errors["username"] = ["Letters, digits and . _ - only (at most 100)."]
    if token and (len(token) > 1000 or any(ch.isspace() or ord(ch) < 32 for ch in token)):
        errors["token"] = ["One line without spaces, at most 1000 characters."]
    if key and (len(key) > 20_000 or not PRIVATE_KEY_RE.fullmatch(key)):
        errors["ssh_key"] = [
            "Paste a whole private key in OpenSSH/PEM form (-----BEGIN ... PRIVATE KEY-----)."
        ]
    if location.kind != "https" and (username or token):
        errors["token"] = ["A user name and token are for https:// repositories; ssh:// ones take a key."]
    if location.kind != "ssh" and key:
        errors["ssh_key"] = ["A key is for ssh:// repositories."]
    errors.refuse("The repository's credentials are invalid.")
    return Credentials(username, token, key)


@write_transaction
def register_repository(
    team: Team | str, *, actor: User | None, location: str, credentials: Credentials | None = None
) -> Repository:
    """Register a location for a team (its owner or staff); refuse what this installation may not fetch."""
    team = _team(team)
    if not may_manage(actor, team):
        raise NotAllowed(f"Only an owner of team {team.slug} (or staff) may register its repositories.")
    try:
        parsed = locations.parse(location)
    except locations.InvalidLocation as exc:
        raise InvalidInput(str(exc), details={"location": [str(exc)]}, code="invalid_location") from None
    if parsed.kind == "local" and actor is not None and not (actor.is_staff or actor.is_superuser):
        # Even where local paths are allowed (the demo), a team owner may not point the
        # workers at the server's own disk: only staff or a management command registers one.
        raise NotAllowed("Only staff register a local path as a repository.")
    cleaned = clean_credentials(parsed, credentials)
    if same := _registered_as(team, parsed):
        raise InvalidInput(
            f"{parsed.canonical} is registered for team {team.slug} already, as {same.location}.",
            details={"location": ["Registered already."]},
            code="already_registered",
        )
    repository = Repository.objects.create(
        team=team,
        location=parsed.canonical,
        username=cleaned.username,
        token=cleaned.token,
        ssh_key=cleaned.ssh_key,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _audit(
        None,
        actor,
        "repository.registered",
        team=team.slug,
        repository=repository.pk,
        location=repository.location,
        credentials=_credential_kinds(cleaned),
    )
    return repository


@write_transaction
def update_repository(
    repository: Repository | int,
    *,
    actor: User | None,
    credentials: Credentials | None = None,
    archived: bool | None = None,
) -> Repository:
    """Replace a repository's credentials, or archive it (no new releases); its location never changes."""
    pk = repository.pk if isinstance(repository, Repository) else repository
    found = Repository.objects.select_for_update().select_related("team").filter(pk=pk).first()
    if found is None:
        raise NotFound("No such repository.")
    if not may_manage(actor, found.team):
        raise NotAllowed(f"Only an owner of team {found.team.slug} (or staff) may change its repositories.")
    changes = {}
    before = {"credentials": _credential_kinds(Credentials(found.username, found.token, found.ssh_key)),
              "archived": found.archived}  # fmt: skip
    if credentials is not None:
        try:
            parsed = locations.parse(found.location)
        except locations.InvalidLocation as exc:
            raise InvalidInput(
                f"This installation no longer fetches from {found.location} ({exc}); archive it and "
                "register an accepted location.",
                code="invalid_location",
            ) from None
        cleaned = clean_credentials(parsed, credentials)
        found.username, found.token, found.ssh_key = cleaned.username, cleaned.token, cleaned.ssh_key
        changes["credentials"] = _credential_kinds(cleaned)
    if archived is not None and archived != found.archived:
        found.archived = archived
        changes["archived"] = archived
    if not changes:
        return found
    found.save(update_fields=["username", "token", "ssh_key", "archived"])
    _audit(
        None,
        actor,
        "repository.updated",
        team=found.team.slug,
        repository=found.pk,
        before={name: before[name] for name in changes},
        after=changes,
        **changes,
    )
    return found


def _registered_as(team: Team, parsed: locations.Location) -> Repository | None:
    """The team's registration of the same repository under any spelling (`Location.repository_key`).

    A repository has one registration per team: production is the last deployed commit of a
    registration, so a second spelling would have none and an older commit would read as new.
    """
    for repository in Repository.objects.filter(team=team).only("pk", "location").order_by("pk"):
        if repository.location == parsed.canonical:
            return repository
        try:
            if locations.parse(repository.location).repository_key == parsed.repository_key:
                return repository
        except locations.InvalidLocation:
            continue  # no longer fetchable here: it reads nothing, so it shares no production
    return None


def _credential_kinds(credentials: Credentials) -> list[str]:
    """What kind of credentials are stored, never their values."""
    return [name for name in ("username", "token", "ssh_key") if getattr(credentials, name)]
