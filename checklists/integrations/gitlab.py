"""GitLab commit statuses for registered repositories that live on GitLab.

From GitLab's documentation (docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit):
`POST /projects/:id/statuses/:sha` with `state` (pending, running, success, failed, canceled),
`name` (the context), `target_url` and `description`; `:id` is the numeric id or the
URL-encoded path of the project; a project access token goes in the `PRIVATE-TOKEN` header
(docs.gitlab.com/api/rest/authentication/).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.conf import settings

from ..models.integrations import GitLabProject
from .status import STATUS_CONTEXT_NAME

SCP_PREFIX = ":"


def project_ref(project: GitLabProject) -> str:
    """The project's id or path: as configured, else the path of the repository's location."""
    if project.project.strip():
        return project.project.strip()
    location = project.repository.location
    path = urlsplit(location).path if "://" in location else location.split(SCP_PREFIX, 1)[-1]
    path = path.strip("/")
    return path[:-4] if path.endswith(".git") else path


def status_url(project: GitLabProject, sha: str) -> str:
    ref = quote(project_ref(project), safe="")
    return f"{settings.RELEASEGATE_GITLAB_API_URL}/projects/{ref}/statuses/{sha}"


def status_body(state: str, description: str, target_url: str) -> dict:
    return {"state": state, "name": STATUS_CONTEXT_NAME, "target_url": target_url, "description": description}
