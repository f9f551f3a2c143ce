"""Settings come from the environment; production refuses unsafe ones with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from releasegate.settings import production_problems

from .helpers.processes import start_django

ROOT = Path(__file__).resolve().parent.parent
SAFE = {"RELEASEGATE_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "releasegate.example.com"}


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SECRET_KEY": ""}, "set SECRET_KEY"),
        ({"DEBUG": "true"}, "unset DEBUG"),
        ({"RELEASEGATE_DEMO": "1"}, "unset RELEASEGATE_DEMO"),
        ({"RELEASEGATE_ENV": "staging"}, "set it to development or production"),
        ({"DEBUG": "maybe"}, "set it to true or false"),
        ({"RELEASEGATE_ALLOW_LOCAL_REPOSITORIES": "1"}, "unset RELEASEGATE_ALLOW_LOCAL_REPOSITORIES"),
        ({"RELEASEGATE_GIT_TOKEN": "t0ken"}, "register the token with each repository"),
        ({"CACHE_URL": "memcached://x"}, "is not a redis:// URL"),
    ],
)
def test_production_refuses_to_start_with_one_line_saying_what_to_set(env, says):
    result = start_django(**{**SAFE, **env})
    assert result.returncode != 0
    assert "started" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("releasegate: ") and says in lines[0]


def test_production_starts_with_safe_settings():
    result = start_django(**SAFE)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_development_starts_with_nothing_set():
    result = start_django(RELEASEGATE_ENV="", SECRET_KEY="")
    assert result.returncode == 0, result.stderr


def test_production_problems_lists_each_problem():
    problems = production_problems({"DEBUG": "on", "RELEASEGATE_DEMO": "1"})
    assert len(problems) == 3
    assert production_problems(SAFE) == []


def test_the_development_secret_key_is_kept_out_of_git():
    assert ".secret_key" in (ROOT / ".gitignore").read_text().splitlines()


def test_cache_url_gives_every_process_one_redis_cache():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "releasegate.settings", "CACHE_URL": "redis://127.0.0.1:6379/3"},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/3",
    ]
