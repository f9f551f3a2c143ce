"""The secrets scanner on its labelled corpus: recall per rule and per syntax, false alarms.

The corpus (tests/helpers/secret_corpus.py) is generated from documented formats with a fixed seed.
"""

from collections import defaultdict

import pytest

from checklists.scans.secretscan import engine, rules

from .helpers.secret_corpus import ADDED_FORMATS, CONTEXTUAL, FORMATS, corpus


@pytest.fixture(scope="module")
def results():
    rule_set = rules.load_rules()
    out = []
    for sample in corpus():
        scan = engine.scan_blob(sample.path, sample.text.encode(), rule_set)
        out.append((sample, scan.findings))
    return out


def _found(sample, findings, *, by_rule: bool) -> bool:
    return any(f.line == sample.line and (not by_rule or f.rule == sample.kind) for f in findings)


def test_every_provider_rule_has_samples_in_the_corpus():
    provider_rules = {r.id for r in rules.load_rules().rules if not r.generic}
    assert provider_rules <= set(FORMATS) | set(ADDED_FORMATS) | set(CONTEXTUAL)


@pytest.mark.parametrize("rule_id", sorted(set(FORMATS) | set(ADDED_FORMATS)))
def test_each_provider_format_is_recognised_alone_by_its_own_rule(results, rule_id):
    samples = [(s, f) for s, f in results if s.set == "formats" and s.kind == rule_id]
    assert samples
    missed = [s.text for s, f in samples if not _found(s, f, by_rule=True)]
    assert not missed, f"{rule_id}: {len(missed)} of {len(samples)} missed"


@pytest.mark.parametrize("rule_id", sorted(CONTEXTUAL))
def test_formats_without_a_prefix_are_found_next_to_the_providers_name(results, rule_id):
    samples = [(s, f) for s, f in results if s.set == "contextual" and s.kind == rule_id]
    assert samples and all(_found(s, f, by_rule=True) for s, f in samples)


def test_planted_secrets_are_found_in_every_syntax(results):
    by_kind = defaultdict(list)
    for sample, findings in results:
        if sample.set == "syntaxes":
            by_kind[sample.kind].append(_found(sample, findings, by_rule=False))
    missed = sorted(kind for kind, hits in by_kind.items() if not all(hits))
    assert len(by_kind) >= 40
    assert not missed


def test_false_alarms_stay_under_one_percent_of_negatives(results):
    negatives = [(s, f) for s, f in results if s.set == "negatives"]
    alarms = [(s.kind, [(x.line, x.rule) for x in f]) for s, f in negatives if f]
    assert len(negatives) >= 100
    assert len(alarms) <= len(negatives) // 100, alarms


def test_no_excerpt_in_the_corpus_carries_its_secret(results):
    for sample, findings in results:
        if not sample.secret or len(sample.secret) < 8:
            continue
        for finding in findings:
            assert sample.secret not in finding.excerpt
            assert sample.secret[-8:] not in finding.excerpt
