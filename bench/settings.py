"""Settings for bench/load.py: releasegate's own, plus the benchmark's ceiling views (bench/urls.py)."""

from releasegate.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
