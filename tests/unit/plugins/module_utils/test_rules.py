# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""iptables-save parsing and rule normalisation, on real captures of Docker 20.10, 26.1 and 28.5."""

import os

import pytest

from captures import capture, fixture, fixtures
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    Rule,
    RuleSyntaxError,
    parse_save,
    save_string,
    tokenize,
)

# iptables-save captures (a capture also holds nft rulesets and docker info output, read elsewhere).
CAPTURES = [path for path in fixtures('docker-iptables', '*', '*.txt')
            if not path.endswith(('.nft-ruleset.txt', '.docker-info.txt', '.nft.txt'))]


@pytest.mark.parametrize('path', CAPTURES, ids=lambda p: '/'.join(p.split(os.sep)[-2:]))
def test_every_capture_parses_and_every_rule_equals_itself_reparsed(path):
    tables = parse_save(fixture(path))
    rules = [rule for table in tables.values() for rule in table.rules]
    for rule in rules:
        assert Rule(rule.line) == rule
        assert rule.chain in tables_chains(tables)


def tables_chains(tables):
    return set(chain for table in tables.values() for chain in table.chains)


@pytest.mark.parametrize('suite, has_return', [('bookworm', True), ('trixie', True), ('sid', False)])
def test_docker_user_after_start_per_generation(suite, has_return):
    table = parse_save(capture(suite, 'q1-fwd0-after-start.iptables-save'))['filter']
    assert table.chains['FORWARD'] == 'DROP'
    assert 'DOCKER-USER' in table.chains
    lines = [rule.line for rule in table.chain_rules('DOCKER-USER')]
    assert lines == (['-A DOCKER-USER -j RETURN'] if has_return else [])
    assert table.chain_rules('FORWARD')[0].line == '-A FORWARD -j DOCKER-USER'


def test_docker_28_creates_ipv6_chains_and_older_generations_do_not():
    assert 'DOCKER-USER' in parse_save(capture('sid', 'q1-fwd0-after-start.ip6tables-save'))['filter'].chains
    for suite in ('bookworm', 'trixie'):
        assert 'filter' not in parse_save(capture(suite, 'q1-fwd0-after-start.ip6tables-save'))


def test_iptables_false_leaves_no_ipv4_chains():
    for suite in ('bookworm', 'trixie', 'sid'):
        tables = parse_save(capture(suite, 'q5a-start.iptables-save'))
        assert 'DOCKER-USER' not in tables.get('filter', parse_save('*filter\nCOMMIT\n')['filter']).chains


def test_user_rules_survive_in_order_across_a_restart():
    table = parse_save(capture('bookworm', 'q4a-after-restart.iptables-save'))['filter']
    lines = [rule.line for rule in table.chain_rules('DOCKER-USER')]
    assert lines[-1] == '-A DOCKER-USER -j RETURN'
    assert any('--comment test' in line for line in lines)


@pytest.mark.parametrize('left, right', [
    ('-A X -s 198.51.100.7 -j DROP', '-A X -s 198.51.100.7/32 -j DROP'),
    ('-A X -s 2001:db8:0:0::1 -j DROP', '-A X -s 2001:db8::1/128 -j DROP'),
    ('-A X -i eth0 -s 198.51.100.0/24 -j DROP', '-A X -s 198.51.100.0/24 -i eth0 -j DROP'),
    ('-A X -s ! 198.51.100.0/24 -j DROP', '-A X ! -s 198.51.100.0/24 -j DROP'),
    ('-A X -m comment --comment "a_b" -j DROP', '-A X -m comment --comment a_b -j DROP'),
    ('-A X -p TCP --dport 80 -j DROP', '-A X -p tcp -m tcp --dport 80 -j DROP'),
    ('-A X -m comment --comment c -m conntrack --ctstate NEW -j DROP',
     '-A X -m conntrack --ctstate NEW -m comment --comment c -j DROP'),
    ('-A X -m iprange --src-range 2001:db8:0::0001-2001:DB8::2 -j DROP',
     '-A X -m iprange --src-range 2001:db8::1-2001:db8::2 -j DROP'),
    ('-A X --source 198.51.100.7/32 --in-interface eth0 --jump DROP', '-A X -s 198.51.100.7/32 -i eth0 -j DROP'),
])
def test_equal_rules_compare_equal(left, right):
    assert Rule(left) == Rule(right)


@pytest.mark.parametrize('left, right', [
    ('-A X -s 198.51.100.7/32 -j DROP', '-A X ! -s 198.51.100.7/32 -j DROP'),
    ('-A X -s 198.51.100.7/32 -j DROP', '-A X -s 198.51.100.7/32 -j RETURN'),
    ('-A X -s 198.51.100.7/32 -j DROP', '-A X -d 198.51.100.7/32 -j DROP'),
    ('-A X -i eth0 -j DROP', '-A Y -i eth0 -j DROP'),
    ('-A X -m comment --comment a -j DROP', '-A X -m comment --comment b -j DROP'),
    ('-A X -p tcp -m conntrack --ctorigdstport 80 -j DROP', '-A X -p tcp -m conntrack --ctorigdstport 81 -j DROP'),
    ('-A X -p tcp -m conntrack ! --ctstate NEW -j DROP', '-A X -p tcp -m conntrack --ctstate NEW -j DROP'),
])
def test_different_rules_compare_different(left, right):
    assert Rule(left) != Rule(right)


@pytest.mark.parametrize('value, saved', [
    ('plain_word-1', 'plain_word-1'),
    ('netops.docker_firewall/accept:a:b', '"netops.docker_firewall/accept:a:b"'),
    ('with space', '"with space"'),
    ('q"uote', '"q\\"uote"'),
])
def test_save_string_quotes_like_iptables_save(value, saved):
    assert save_string(value) == saved
    assert tokenize(saved) == [(value, saved.startswith('"'))]


def test_comment_option_values_are_unquoted():
    rule = Rule('-A DOCKER-USER -m comment --comment "netops.docker_firewall/x:y" -j DROP')
    assert rule.option_values('--comment') == ['netops.docker_firewall/x:y']


@pytest.mark.parametrize('text', [
    '*filter\n-A X -m comment --comment "open -j DROP\nCOMMIT\n',
    '-A X -j DROP\n',
    '*filter\n-I X -j DROP\nCOMMIT\n',
])
def test_unreadable_input_raises(text):
    with pytest.raises(RuleSyntaxError):
        parse_save(text)


@pytest.mark.parametrize('line', [
    '-A X -j DROP surprise',
    '-A X -s -j DROP',
    '-A X -m -j DROP',
    '-A X stray -j DROP',
])
def test_rules_are_normalised_lazily_and_strictly(line):
    rule = parse_save('*filter\n%s\nCOMMIT\n' % line)['filter'].rules[0]
    with pytest.raises(RuleSyntaxError):
        rule.key
