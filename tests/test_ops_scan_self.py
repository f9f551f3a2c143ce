"""manage.py scan_self runs the four repository scanners on a repository's HEAD."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .helpers.git import commit_files, git

CLEAN_SETTINGS = 'import os\nDEBUG = os.environ.get("DEBUG") == "1"\nSECRET_KEY = os.environ["SECRET_KEY"]\n'


def commit_tree(path, files: dict[str, str]) -> str:
    if not (path / ".git").exists():
        git(path, "init", "--quiet", "-b", "main")
    return commit_files(path, files, message="change")


def scan_self(path, **options) -> str:
    out = StringIO()
    call_command("scan_self", repository=str(path), stdout=out, **options)
    return out.getvalue()


def test_a_clean_repository_passes_all_four_scans(tmp_path):
    commit_tree(tmp_path, {"releasegate/settings.py": CLEAN_SETTINGS, ".env.example": "SECRET_KEY=\n"})
    out = scan_self(tmp_path)
    for scanner in ("secrets", "mock_flag", "env_credentials", "debug_off"):
        assert f"{scanner}: passed" in out
    assert "releasegate passes its own scans" in out


def test_a_committed_token_and_debug_in_settings_fail_with_the_file_named(tmp_path):
    token = "ghp_" + "Zq8Xw2Lr5Tn7Vb1Mc4Kd6Hf9Js3Pg0Ya1Ue"  # releasegate: allow (joined at run time)
    commit_tree(
        tmp_path,
        {
            "releasegate/settings.py": "DEBUG = True\nSECRET_KEY = 'k3J9xQ2mZ7vL0pR4tY8wB1nC5'\n",  # releasegate: allow
            "app/client.py": f'GITHUB_TOKEN = "{token}"\n',
        },
    )
    out = StringIO()
    with pytest.raises(CommandError, match="fails its own .*secrets.*debug_off"):
        call_command("scan_self", repository=str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "app/client.py:1" in text
    assert token not in text  # findings are redacted
    assert "debug_off: failed" in text


def test_only_committed_content_counts(tmp_path):
    commit_tree(tmp_path, {"releasegate/settings.py": CLEAN_SETTINGS})
    (tmp_path / "releasegate/settings.py").write_text("DEBUG = True\n")  # not committed
    assert "debug_off: passed" in scan_self(tmp_path, scanners=["debug_off"])


def test_a_directory_that_is_not_a_repository_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="not a git repository"):
        scan_self(tmp_path)
