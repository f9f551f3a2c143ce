"""Every rule runs in bounded, linear time on adversarial input (issue 13, item 4).

Each rule alone is timed on 1 MB lines built from its own keywords and from near-miss
copies of a token in its format; the whole engine is timed on the `eyJ-` line that took
an hour before RE2. The 5 MB figures are in bench/secrets_bench.py.
"""

import time

import pytest

from checklists.scans.secretscan import engine, rules
from checklists.scans.secretscan.rules import RuleSet

from .helpers.secret_corpus import ADDED_FORMATS, CONTEXTUAL, FORMATS, Gen

MB = 1024 * 1024
LIMIT_SECONDS = 1.0


def adversarial_lines(rule) -> list[bytes]:
    g = Gen(7)
    makers = FORMATS.get(rule.id, []) + ADDED_FORMATS.get(rule.id, []) + CONTEXTUAL.get(rule.id, [])
    samples = [m(g) for m in makers]
    pieces = [k.decode() for k in rule.keywords][:2] + [s[: max(4, len(s) // 2)] for s in samples][:1]
    lines = []
    for piece in pieces:
        for unit in (piece + "-", piece + "a" * 40 + " ", piece + '"'):
            lines.append((unit * (MB // len(unit) + 1))[:MB].encode())
    for sample in samples[:2]:
        near = sample[:-1] + "."  # almost a token, failing at its very end, over and over
        lines.append((near * (MB // len(near) + 1))[:MB].encode())
    return lines


def only(rule) -> RuleSet:
    full = rules.load_rules()
    return RuleSet((rule,), full.allow_values, full.allow_paths, full.example_hashes, full.version)


@pytest.mark.parametrize("rule", rules.load_rules().rules, ids=lambda r: r.id)
def test_each_rule_is_bounded_on_1mb_adversarial_lines(rule):
    rule_set = only(rule)
    for line in adversarial_lines(rule):
        start = time.perf_counter()
        engine.scan_blob("adversarial.txt", line, rule_set)
        elapsed = time.perf_counter() - start
        assert elapsed < LIMIT_SECONDS, f"{rule.id}: {elapsed:.2f} s on {line[:40]!r}..."


def test_the_jwt_redos_line_is_fast_through_the_whole_engine():
    line = b"eyJ-" * (MB // 4)
    start = time.perf_counter()
    engine.scan_blob("a.js", line, rules.load_rules())
    assert time.perf_counter() - start < LIMIT_SECONDS


def test_a_secret_on_a_window_edge_of_a_long_line_is_found_once():
    token = "ghp_" + Gen(3).s("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 36)
    filler = b"x=1;" * ((engine.WINDOW - 20) // 4)
    data = filler + b" " + token.encode() + b" " + filler + b"\n"
    assert len(data) > 2 * engine.WINDOW - 1000
    found = engine.scan_blob("bundle.js", data, rules.load_rules()).findings
    assert [(f.line, f.rule) for f in found] == [(1, "github-token")]
