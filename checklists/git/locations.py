"""Where a registered repository lives, and whether this installation may fetch from there.

A location is one of
- `https://host[:port]/path`;
- `ssh://[user@]host[:port]/path`, or its scp-like form `user@host:path`;
- an absolute local path, only when RELEASEGATE_ALLOW_LOCAL_REPOSITORIES is on (the demo
  and the tests; production refuses to start with it).
The host must be on the installation's allowlist (RELEASEGATE_GIT_HOSTS: names, or
`*.example.com` for subdomains) and pass the address guard (checklists/git/netguard.py).
Never `file://`, plain `http://`, `git://`, transport helpers (`ext::`), credentials in the
URL (they belong in the repository's stored credentials), queries, options (a leading `-`),
`..` segments, whitespace or control characters.

`parse` looks at the text and the settings only, never at DNS or the disk: it runs at
registration (a web request) and again before every fetch (a worker), where
`netguard.resolve_checked` then checks the addresses the name resolves to.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

from . import netguard

MAX_LENGTH = 500
HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")  # never `-...`: ssh would read an option
PATH_RE = re.compile(r"^[A-Za-z0-9._~/%+@-]+$")
SCP_RE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:\[\]]+):(?P<path>[^:].*)$")


class InvalidLocation(ValueError):
    """The text is not a location this installation may fetch from; the message says why."""


@dataclass(frozen=True)
class Location:
    kind: str  # https | ssh | local
    canonical: str  # what is stored and compared: host lower case, no trailing slash
    host: str = ""
    port: int | None = None
    path: str = ""

    @property
    def host_and_port(self) -> str:
        """The host as git names it in credential prompts: with the port when one is given."""
        return f"{self.host}:{self.port}" if self.port else self.host

    @property
    def default_port(self) -> int:
        return self.port or (443 if self.kind == "https" else 22)

    @property
    def repository_key(self) -> str:
        """The repository, whatever the spelling: host and path, decoded, without `.git`, any case.

        https and ssh, a port, `.git`, case, doubled slashes, percent-encoding and dot segments
        all name one repository on the git hosts people use (GitHub and GitLab ignore case).
        """
        if self.kind == "local":
            return self.canonical
        path = posixpath.normpath("/" + unquote(self.path).strip("/")).lower()
        return f"{self.host}{path.removesuffix('.git').rstrip('/')}"


def allowed_hosts() -> list[str]:
    return [h.strip().lower().rstrip(".") for h in settings.RELEASEGATE_GIT_HOSTS if h.strip()]


def host_is_allowed(host: str) -> bool:
    for entry in allowed_hosts():
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def _check_path(path: str) -> str:
    path = path.rstrip("/")
    if not path.strip("/"):
        raise InvalidLocation("Name the repository's path on the host (e.g. /team/service.git).")
    if not PATH_RE.fullmatch(path):
        raise InvalidLocation("The path may hold only letters, digits and . _ ~ / % + @ -.")
    if any(part in ("..", ".") for part in path.split("/")) or path.lstrip("/").startswith("-"):
        raise InvalidLocation("The path may not hold '.' or '..' segments or start with '-'.")
    return path


def _check_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not HOST_RE.fullmatch(host):
        raise InvalidLocation(f"{host!r} is not a host name (addresses are not accepted; register a name).")
    try:
        netguard.check_host(host)
    except netguard.UnsafeAddress as exc:
        raise InvalidLocation(str(exc)) from None
    if not host_is_allowed(host):
        hosts = ", ".join(allowed_hosts()) or "none: an operator sets RELEASEGATE_GIT_HOSTS"
        raise InvalidLocation(f"{host} is not an allowed git host on this installation (allowed: {hosts}).")
    return host


def _parse_url(text: str, scheme: str) -> Location:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidLocation("The URL cannot be read: check its host and port.") from None
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise InvalidLocation("A repository URL has no query or fragment.")
    if parts.password is not None or (scheme == "https" and parts.username is not None):
        raise InvalidLocation(
            "Put no credentials in the location; register them with the repository instead."
        )
    if scheme == "ssh" and parts.username is not None and not USER_RE.fullmatch(parts.username):
        raise InvalidLocation("The ssh user name may hold only letters, digits and . _ - (not first).")
    host = _check_host(parts.hostname or "")
    path = _check_path(parts.path)
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{host}" + (f":{port}" if port else "")
    return Location(scheme, f"{scheme}://{netloc}{path}", host=host, port=port, path=path)


def _parse_scp(match: re.Match) -> Location:
    user = match["user"]
    if user is not None and not USER_RE.fullmatch(user):
        raise InvalidLocation("The ssh user name may hold only letters, digits and . _ - (not first).")
    host = _check_host(match["host"])
    path = _check_path(match["path"])
    canonical = f"{user + '@' if user else ''}{host}:{path}"
    return Location("ssh", canonical, host=host, port=None, path=path)


def _parse_local(text: str) -> Location:
    if not settings.RELEASEGATE_ALLOW_LOCAL_REPOSITORIES:
        raise InvalidLocation(
            "Local paths are not repositories on this installation: register an https:// or "
            "ssh:// location on an allowed git host."
        )
    if not text.startswith("/"):
        raise InvalidLocation("A local repository is given by its absolute path.")
    if any(part in ("..", ".") for part in text.split("/")):
        raise InvalidLocation("A local path may not hold '.' or '..' segments.")
    return Location("local", posixpath.normpath(text))


def parse(text) -> Location:
    """The location `text` names, checked against this installation's settings; raise InvalidLocation."""
    if not isinstance(text, str):
        raise InvalidLocation("Give the repository's location as text.")
    text = text.strip()
    if not text:
        raise InvalidLocation("Give the repository's location.")
    if len(text) > MAX_LENGTH:
        raise InvalidLocation(f"At most {MAX_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidLocation("The location may not hold spaces or control characters.")
    if text.startswith("-") or "::" in text:
        raise InvalidLocation("Options and transport helpers (such as ext::) are not locations.")
    lowered = text.lower()
    if lowered.startswith("https://"):
        return _parse_url(text, "https")
    if lowered.startswith("ssh://"):
        return _parse_url(text, "ssh")
    if re.match(r"^[a-z][a-z0-9+.-]*://", lowered):
        raise InvalidLocation(
            "Only https:// and ssh:// locations are accepted (no http://, git:// or file://)."
        )
    if text.startswith("/") or text.startswith("."):
        return _parse_local(text)
    if match := SCP_RE.match(text):
        return _parse_scp(match)
    raise InvalidLocation("Give an https:// or ssh:// URL (or user@host:path) on an allowed git host.")
