# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Allowlist input at scale: sources files parsed line by line, entries merged per family, and the
rendered rules a function of the addresses covered (so a converged run stays converged)."""

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.module_utils.test_chain_plan_properties import sources as source_entries
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    allowlist_block,
    sources_count,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import plan_chain, same_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import (
    InputError,
    _plain_address,
    merge_sources,
    parse_source,
    parse_sources_text,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, parse_save

TAG = '"netops.docker_firewall/allowlist:eth0"'


# --- sources files -------------------------------------------------------------------------------

def test_comments_and_blank_lines_are_ignored():
    text = ('# partners, 2026-01\n'
            '\n'
            '   203.0.113.0/24\n'
            '192.0.2.10-192.0.2.20\t# monitoring\n'
            '    # indented comment\n'
            '2001:db8:20::/48#no space\r\n'
            '\t\n')
    entries = parse_sources_text('sources_file', '/srv/allow.txt', text)
    assert [entry for entry, _source in entries] == ['203.0.113.0/24', '192.0.2.10-192.0.2.20', '2001:db8:20::/48']
    assert [str(source) for _entry, source in entries] == ['203.0.113.0/24', '192.0.2.10-192.0.2.20', '2001:db8:20::/48']


def test_an_empty_file_or_only_comments_has_no_entry():
    assert parse_sources_text('sources_file', 'f', '') == []
    assert parse_sources_text('sources_file', 'f', '# none\n\n   \n') == []


@pytest.mark.parametrize('text, line, value', [
    ('198.51.100.300\n', 1, '198.51.100.300'),
    ('# header\n\n198.51.100.7\n198.51.100.1/24  # host bits\n', 4, '198.51.100.1/24'),
    ('198.51.100.7\n198.51.100.0/24 192.0.2.0/24\n', 2, '198.51.100.0/24 192.0.2.0/24'),
    ('198.51.100.7,198.51.100.8\n', 1, '198.51.100.7,198.51.100.8'),
    ('example.com\n', 1, 'example.com'),
    ('\n\n\n::ffff:198.51.100.1\n', 4, '::ffff:198.51.100.1'),
    ('198.51.100.20-198.51.100.10\n', 1, '198.51.100.20-198.51.100.10'),
    ('fe80::1%eth0\n', 1, 'fe80::1%eth0'),
    ('"198.51.100.7"\n', 1, '"198.51.100.7"'),
])
def test_a_bad_line_names_the_field_the_file_the_line_and_the_value(text, line, value):
    with pytest.raises(InputError) as error:
        parse_sources_text('allowlists[2].sources_file', '/srv/allow.txt', text)
    assert error.value.field == 'allowlists[2].sources_file'
    assert error.value.value == value
    assert error.value.where == '/srv/allow.txt line %d' % line
    assert str(error.value).startswith("allowlists[2].sources_file: %r (/srv/allow.txt line %d) is not valid: "
                                       % (value, line))
    # The reason is the one `sources` gives for the same entry.
    with pytest.raises(InputError) as direct:
        parse_source('sources', value)
    assert error.value.reason == direct.value.reason


# --- plain addresses, read without ipaddress -----------------------------------------------------

def by_ipaddress(text):
    """(family, span, text) of a plain address as ipaddress reads it, a network of one address."""
    network = ipaddress.ip_network(text)
    return ('ipv%d' % network.version, (int(network.network_address), int(network.broadcast_address)), str(network))


def read_plain(text):
    source = _plain_address(text)
    return None if source is None else (source.family, source.span(), str(source))


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_a_plain_address_in_any_usual_form_is_read_as_ipaddress_reads_it(address):
    mapped = address.version == 6 and address.ipv4_mapped is not None
    for text in set([str(address), address.exploded, str(address).upper()]):
        assert read_plain(text) == (None if mapped else by_ipaddress(text))


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet='0123456789abcdefABCDEF:.', max_size=45))
def test_what_is_read_as_a_plain_address_is_what_ipaddress_reads(text):
    plain = read_plain(text)
    if plain is not None:
        assert plain == by_ipaddress(text)


@pytest.mark.parametrize('text', ['01.2.3.4', '1.2.3.04', '256.0.0.1', '1.2.3', '1.2.3.4.5', ':', ':::', '1::2::3',
                                  '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '::ffff:c000:201', '::ffff:192.0.2.1'])
def test_other_texts_are_left_to_the_full_parse(text):
    assert _plain_address(text) is None


def test_an_ipv4_mapped_address_written_in_hex_is_still_refused():
    with pytest.raises(InputError, match='IPv4-mapped'):
        parse_source('sources', '::ffff:c000:201')


# --- merging -------------------------------------------------------------------------------------

def merged(entries):
    return [str(source) for source in merge_sources([parse_source('sources', e) for e in entries])]


@pytest.mark.parametrize('entries, expected', [
    # duplicates and re-spellings
    (['198.51.100.7', '198.51.100.7/32', '198.51.100.7-198.51.100.7'], ['198.51.100.7/32']),
    # contained
    (['198.51.100.0/24', '198.51.100.7', '198.51.100.10-198.51.100.20'], ['198.51.100.0/24']),
    # adjacent halves make the network
    (['198.51.100.128/25', '198.51.100.0/25'], ['198.51.100.0/24']),
    (['198.51.100.0-198.51.100.127', '198.51.100.128-198.51.100.255'], ['198.51.100.0/24']),
    # a range that is exactly a network is written as the network
    (['198.51.100.16-198.51.100.31'], ['198.51.100.16/28']),
    # overlapping and adjacent runs that are not one network stay a range
    (['192.0.2.10', '192.0.2.11-192.0.2.15', '192.0.2.14-192.0.2.20'], ['192.0.2.10-192.0.2.20']),
    (['198.51.100.0/24', '198.51.101.0/25'], ['198.51.100.0-198.51.101.127']),
    # separate runs, in address order, IPv4 before IPv6
    (['2001:db8::/48', '203.0.113.9', '198.51.100.7'], ['198.51.100.7/32', '203.0.113.9/32', '2001:db8::/48']),
    (['2001:db8::1', '2001:db8::2-2001:db8::3', '2001:db8::3/128'], ['2001:db8::1-2001:db8::3']),
    (['2001:db8::1', '2001:db8::2-2001:db8::3', '2001:db8::/127'], ['2001:db8::/126']),
    # every address of the family
    (['0.0.0.0/1', '128.0.0.0/1', '198.51.100.7'], ['0.0.0.0/0']),
    (['::/0', '2001:db8::/32'], ['::/0']),
    ([], []),
])
def test_merging(entries, expected):
    assert merged(entries) == expected


def test_a_range_from_zero_to_the_top_of_a_family_is_every_address():
    assert merged(['0.0.0.0-255.255.255.255', '::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) == ['0.0.0.0/0', '::/0']


def addresses(entries):
    """The addresses the entries cover, per family, as collapsed networks (Python's own merge)."""
    networks = {4: [], 6: []}
    for entry in entries:
        if '-' in entry:
            first, last = (ipaddress.ip_address(a) for a in entry.split('-'))
            networks[first.version].extend(ipaddress.summarize_address_range(first, last))
        else:
            network = ipaddress.ip_network(entry)
            networks[network.version].append(network)
    return dict((v, list(ipaddress.collapse_addresses(n))) for v, n in networks.items())


@settings(max_examples=300, deadline=None)
@given(st.lists(source_entries(), max_size=30))
def test_merged_entries_cover_exactly_the_declared_addresses(entries):
    result = merge_sources([parse_source('sources', e) for e in entries])
    assert addresses([str(s) for s in result]) == addresses(entries)
    # Disjoint and not adjacent (else they would be one entry), in order, IPv4 first.
    for family in ('ipv4', 'ipv6'):
        spans = [s.span() for s in result if s.family == family]
        assert all(a[1] + 1 < b[0] for a, b in zip(spans, spans[1:]))
    assert [s.family for s in result] == sorted((s.family for s in result))
    # A network where the run is exactly one, else a range that is not.
    for source in result:
        first, last = source.span()
        one_network = len(list(ipaddress.summarize_address_range(
            ipaddress.ip_address(first if source.family == 'ipv4' else ipaddress.IPv6Address(first)),
            ipaddress.ip_address(last if source.family == 'ipv4' else ipaddress.IPv6Address(last))))) == 1
        assert (source.network is not None) == one_network


# --- rendered rules: idempotent, and what compliance and nftables build -----------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(source_entries(), max_size=20), st.randoms(use_true_random=False),
       st.lists(st.sampled_from(['443', '8000-8100']), max_size=2, unique=True))
def test_rules_depend_only_on_the_addresses_covered(entries, rng, ports):
    block = allowlist_block('eth0', entries, ports)
    shuffled = entries + entries[:len(entries) // 2]
    rng.shuffle(shuffled)
    again = allowlist_block('eth0', shuffled, ports)
    assert again.rules == block.rules
    # The merged entries, given again, are a fixed point: a converged run stays converged.
    respelt = allowlist_block('eth0', [str(s) for s in block.spec['sources']], ports)
    assert respelt.rules == block.rules
    for family in ('ipv4', 'ipv6'):
        applied = plan_chain(['-A DOCKER-USER -j RETURN'], family, {block.name: block})
        assert same_chain(plan_chain(applied, family, {again.name: again}), applied)
        # What iptables-save prints back for the rules is the same chain.
        save = '\n'.join(['*filter', ':DOCKER-USER - [0:0]'] + applied + ['COMMIT']) + '\n'
        read = [r.line for r in parse_save(save)['filter'].chain_rules('DOCKER-USER')]
        assert [Rule(line) for line in read] == [Rule(line) for line in applied]
    assert nft.same_table(nft.plan_table(None, {block.name: block}), nft.plan_table(None, {again.name: again}))


def test_one_rule_per_run_as_network_or_range():
    block = allowlist_block('eth0', ['198.51.100.0/25', '198.51.100.128-198.51.100.255', '192.0.2.10',
                                     '192.0.2.11-192.0.2.20', '192.0.2.15', '2001:db8::/49', '2001:db8:0:8000::/49'])
    assert block.rules['ipv4'][1:3] == [
        '-A DOCKER-USER -i eth0 -m iprange --src-range 192.0.2.10-192.0.2.20 -m comment --comment %s -j RETURN' % TAG,
        '-A DOCKER-USER -s 198.51.100.0/24 -i eth0 -m comment --comment %s -j RETURN' % TAG,
    ]
    assert block.rules['ipv6'][1] == '-A DOCKER-USER -s 2001:db8::/48 -i eth0 -m comment --comment %s -j RETURN' % TAG
    assert sources_count(block) == dict(declared=7, ipv4=2, ipv6=1, ipsets={})


def test_compliance_builds_the_same_rules_from_unmerged_input():
    entries = ['198.51.100.9', '198.51.100.8', '198.51.100.0/29', '2001:db8::1', '2001:db8::1', '192.0.2.1']
    block = allowlist_block('ext0', entries)
    # Merged: 198.51.100.0/29, .8 and .9 are one range; 2001:db8::1 once; in address order.
    tag = '-m comment --comment "netops.docker_firewall/allowlist:ext0"'
    rules = dict(ipv4=['-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % tag,
                       '-A DOCKER-USER -s 192.0.2.1/32 -i ext0 %s -j RETURN' % tag,
                       '-A DOCKER-USER -i ext0 -m iprange --src-range 198.51.100.0-198.51.100.9 %s -j RETURN' % tag,
                       '-A DOCKER-USER -i ext0 %s -j DROP' % tag],
                 ipv6=['-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % tag,
                       '-A DOCKER-USER -s 2001:db8::1/128 -i ext0 %s -j RETURN' % tag,
                       '-A DOCKER-USER -i ext0 %s -j DROP' % tag])
    assert block.rules == rules
    assert compliance.Host({}, dict(allowlists=[dict(interface='ext0', sources=list(reversed(entries)))])).wanted == rules
    assert compliance.Host({}, dict(allowlists=[dict(interface='ext0', sources=entries)])).wanted_table.key() == \
        nft.plan_table(None, {block.name: block}).key()


def test_ten_thousand_entries_from_a_file():
    rng = random.Random(12)
    # Even third octets: no two of these networks are adjacent, so each is one entry after merging.
    networks = ['%d.%d.%d.0/24' % (rng.randrange(1, 224), rng.randrange(256), 2 * rng.randrange(128))
                for _index in range(9000)]
    hosts = ['2001:db8:%x::%x' % (rng.randrange(65536), rng.randrange(65536)) for _index in range(1000)]
    lines = ['# generated'] + networks + hosts + networks[:500]  # 500 duplicates
    entries = [source for _entry, source in parse_sources_text('sources_file', 'big.txt', '\n'.join(lines) + '\n')]
    block = allowlist_block('eth0', entries, source_sets='never')
    counts = sources_count(block)
    assert counts['declared'] == 10500
    assert counts['ipv4'] == len(set(networks)) and counts['ipv6'] == len(set(hosts))
    assert len(block.rules['ipv4']) == counts['ipv4'] + 2 and len(block.rules['ipv6']) == counts['ipv6'] + 2
    # By default (auto) each family is one set, matched by one rule: replies guard, set, DROP.
    in_sets = allowlist_block('eth0', entries)
    assert sources_count(in_sets)['ipsets'] == {'netops-dfw-eth0-v4': counts['ipv4'], 'netops-dfw-eth0-v6': counts['ipv6']}
    assert len(in_sets.rules['ipv4']) == 3 and len(in_sets.rules['ipv6']) == 3
