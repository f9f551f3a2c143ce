"""Settings for bench/load.py: releasegate's own, plus the benchmark's ceiling views (bench/urls.py)."""

from releasegate.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

import os  # noqa: E402

# bench/load.py --fragment-cache-seconds 0 measures the release page without its fragment cache.
RELEASEGATE_FRAGMENT_CACHE_SECONDS = int(os.environ.get("BENCH_FRAGMENT_CACHE_SECONDS", "60"))
