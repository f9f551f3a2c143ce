"""The web process: it never runs git (checklists/git/repo.py refuses once this is loaded)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasegate.settings")

application = get_asgi_application()

# A web process reads stored rows only; workers read repositories (DESIGN rule 8).
from checklists.git.repo import forbid_git  # noqa: E402 - needs the apps loaded above

forbid_git()
