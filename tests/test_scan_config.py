"""mock_flag, debug_off and env_credentials on production config files of every format."""

import json

import pytest

from checklists.git import repo
from checklists.models import DEFAULT_PRODUCTION_CONFIG_GLOBS
from checklists.scans import debug_off, env_credentials, mock_flag
from checklists.scans.base import ScanTarget, expand_braces, glob_match
from checklists.scans.configfiles import parse_python

from .helpers.git import Symlink, make_repo


def target(tmp_path, files, globs=DEFAULT_PRODUCTION_CONFIG_GLOBS):
    url, sha = make_repo(tmp_path / "r", files)
    return ScanTarget(url, sha, repo.snapshot(url, sha, base=tmp_path / "mirrors"), config_globs=list(globs))


def found(result):
    return sorted((f.file, f.line, f.rule) for f in result.findings)


# --- globs ---------------------------------------------------------------------


def test_brace_expansion():
    assert expand_braces("**/*prod*.{yml,yaml}") == ["**/*prod*.yml", "**/*prod*.yaml"]
    assert expand_braces("a{b,c{d,e}}") == ["ab", "acd", "ace"]


@pytest.mark.parametrize(
    ("path", "matches"),
    [
        (".env.production", True),
        ("deploy/.env.prod", True),
        ("config/app.prod.yaml", True),
        ("k8s/production-values.yml", True),
        ("svc/settings/production.py", True),
        ("settings/prod.py", True),
        ("config/app.dev.yaml", False),
        (".env", False),
        ("settings/production.pyc", False),
        ("config/prod.yaml.bak", False),
    ],
)
def test_default_globs(path, matches):
    assert glob_match(path, DEFAULT_PRODUCTION_CONFIG_GLOBS) is matches


# --- planted problems in every format -----------------------------------------

PLANTED = {
    ".env.production": "DEBUG=true\nPAYMENTS_MOCK=1\nDB_PASSWORD=Zx9fQ2mLp0Rt\nAPI_TOKEN=${API_TOKEN}\nEMPTY_SECRET=\n",
    "config/app.prod.yaml": "logging:\n  level: DEBUG\nstripe:\n  sandbox: true\n  api_key: sk_abc_123456\n",
    "config/prod.json": '{"features": {"use_fake_bank": true}, "log_level": "trace", "db": {"password": "pw-in-json-1"}}',  # releasegate: allow (test data)
    "config/prod.toml": '[server]\ndebug = true\n[payments]\nmode = "mock"\nsecret = "toml-literal-9"\n',  # releasegate: allow
    "config/prod.ini": "[app]\nflask_debug = on\nstub_sms = yes\n[db]\ndsn = postgres://u:pw1234@db/x\n",  # releasegate: allow (test data)
    "settings/production.py": "import os\nDEBUG = True\nUSE_MOCK_PAYMENTS = True\n"
    'SECRET_KEY = "django-insecure-abc123"\nDB = os.environ["DB"]\n',  # releasegate: allow (test data)
}


def test_mock_flag_finds_each_format(tmp_path):
    result = mock_flag.run(target(tmp_path, PLANTED))
    assert result.status == "failed"
    assert found(result) == [
        (".env.production", 2, "mock-flag-on"),
        ("config/app.prod.yaml", 4, "mock-flag-on"),
        ("config/prod.ini", 3, "mock-flag-on"),
        ("config/prod.json", 1, "mock-flag-on"),
        ("config/prod.toml", 4, "mock-flag-on"),
        ("settings/production.py", 3, "mock-flag-on"),
    ]


def test_debug_off_finds_debug_and_noisy_log_levels(tmp_path):
    result = debug_off.run(target(tmp_path, PLANTED))
    assert found(result) == [
        (".env.production", 1, "debug-on"),
        ("config/app.prod.yaml", 2, "debug-log-level"),
        ("config/prod.ini", 2, "debug-on"),
        ("config/prod.json", 1, "debug-log-level"),
        ("config/prod.toml", 2, "debug-on"),
        ("settings/production.py", 2, "debug-on"),
    ]


def test_env_credentials_finds_literals_and_never_shows_them(tmp_path):
    result = env_credentials.run(target(tmp_path, PLANTED))
    assert found(result) == [
        (".env.production", 3, "literal-credential"),
        ("config/app.prod.yaml", 5, "literal-credential"),
        ("config/prod.ini", 5, "literal-credential"),
        ("config/prod.json", 1, "literal-credential"),
        ("config/prod.toml", 5, "literal-credential"),
        ("settings/production.py", 4, "literal-credential"),
    ]
    shown = json.dumps([f.as_dict() for f in result.findings])
    for literal in (
        "Zx9fQ2mLp0Rt",
        "sk_abc_123456",
        "pw-in-json-1",  # releasegate: allow (test data)
        "toml-literal-9",
        "pw1234",
        "insecure-abc",
    ):
        assert literal not in shown


CLEAN = {
    ".env.production": "DEBUG=false\nPAYMENTS_MOCK=0\nDB_PASSWORD=${DB_PASSWORD}\nAPI_TOKEN=\nLOG_LEVEL=info\n",
    "config/app.prod.yaml": "logging:\n  level: WARNING\nstripe:\n  sandbox: false\n  api_key: ${STRIPE_KEY}\n"
    "password_min_length: 12\ntoken_ttl: 3600\n",
    "config/prod.json": '{"debug": false, "db": {"password": null, "url": "postgres://db/app"}}',
    "config/prod.toml": '[server]\ndebug = false\n[payments]\nmode = "live"\nsecret = ""\n',
    "config/prod.ini": "[app]\nflask_debug = off\n[db]\npassword = %(ENV_DB_PASSWORD)s\n",
    "settings/production.py": "import os\nfrom .base import *\nDEBUG = False\n"
    'SECRET_KEY = os.environ["SECRET_KEY"]\nEMAIL_HOST_PASSWORD = env("EMAIL_PASSWORD")\n'
    "API_KEY = os.getenv('API_KEY')\nLOGGING = {'root': {'level': 'INFO'}}\n",
    "config/app.dev.yaml": "debug: true\nmock: true\npassword: devpass\n",  # not production
}


@pytest.mark.parametrize("scanner", [mock_flag, debug_off, env_credentials])
def test_clean_production_config_passes(tmp_path, scanner):
    result = scanner.run(target(tmp_path, CLEAN))
    assert result.status == "passed", result.findings
    assert "config/app.dev.yaml" not in result.summary["files"]


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("config/prod.yaml", "a: [1, 2\nb: c\n", 3),
        ("config/prod.toml", "[a]\nb = \n", 2),
        ("config/prod.json", '{"a": 1,,}', 1),
    ],
)
@pytest.mark.parametrize("scanner", [mock_flag, debug_off, env_credentials])
def test_malformed_config_fails_with_a_clear_finding(tmp_path, scanner, name, content, line):
    result = scanner.run(target(tmp_path, {name: content}))
    assert result.status == "failed"
    [finding] = result.findings
    assert (finding.file, finding.rule) == (name, "config-unparseable")
    assert finding.message.startswith("Not valid ")


def test_symlinked_production_config_is_reported_not_read(tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("debug: true\n")
    result = debug_off.run(target(tmp_path, {"config/prod.yaml": Symlink(str(outside))}))
    assert found(result) == [("config/prod.yaml", None, "config-symlink")]


def test_yaml_alias_bomb_is_read_once(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    result = debug_off.run(target(tmp_path, {"config/prod.yaml": bomb}))
    assert result.status == "passed"


def test_team_globs_replace_the_defaults(tmp_path):
    files = {"deploy/live.env": "DEBUG=1\n", ".env.production": "DEBUG=1\n"}
    result = debug_off.run(target(tmp_path, files, globs=["deploy/*.env"]))
    assert found(result) == [("deploy/live.env", 1, "debug-on")]


def test_python_settings_are_scanned_not_executed():
    text = (
        "import os\n"
        "DEBUG = os.environ.get('DEBUG') == '1'\n"
        "if True:\n    DEBUG = True\n"
        "SECRET_KEY: str = 'literal-key'\n"
        "DATABASES = {'default': {'PASSWORD': 'dbpw', 'HOST': env('DB_HOST')}}\n"
    )
    entries = {(e.key, e.line): (e.value, e.from_env) for e in parse_python("s.py", text)}
    assert entries[("SECRET_KEY", 5)] == ("literal-key", False)
    assert entries[("PASSWORD", 6)] == ("dbpw", False)
    assert entries[("HOST", 6)] == (None, True)
    assert ("DEBUG", 2) in entries and entries[("DEBUG", 2)][1] is True
    # A setting assigned inside a block may run in production: reported, to be safe.
    assert entries[("DEBUG", 4)] == (True, False)
