# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ipset engine (_ipset): set names, networks from merged spans, `ipset save` read back, the
`ipset restore` lines that put sets in place, and when an allowlist keeps a family in a set.
Properties over generated allowlists (hypothesis): the set holds exactly the declared addresses,
reads back as itself, and the chain holds the same few rules whatever the number of sources.

The `ipset save` text is what ipset v7.17 prints (Debian bookworm lab image): a create line with
the kernel's bucketsize and initval, and the elements in hash order, not in address order."""

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    allowlist_block,
    sources_count,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import InputError
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset

V4 = 'netops-dfw-ext0-v4'
T4 = 'netops-dfw-ext0-t4'
V6 = 'netops-dfw-ext0-v6'
T6 = 'netops-dfw-ext0-t6'
# ipset v7.17's `ipset save` of two sets of ours, verbatim.
CAPTURE = ('create netops-dfw-ext0-v4 hash:net family inet hashsize 2048 maxelem 131072 bucketsize 12 '
           'initval 0xef0e10e5\n'
           'add netops-dfw-ext0-v4 0.0.0.0/1\n'
           'create netops-dfw-wan+-v6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 '
           'initval 0x9869541f\n'
           'add netops-dfw-wan+-v6 2001:db8::1\n'
           'add netops-dfw-wan+-v6 2001:db8:1::/48\n')
# Sets of others, as ipset prints them: options without a value, element options, other types.
OTHERS = ('create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600 bucketsize 12 '
          'initval 0x1d2c3b4a\n'
          'add f2b-sshd 203.0.113.5 timeout 412\n'
          'create blocklist hash:net family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x0\n'
          'add blocklist 192.0.2.0/24 packets 0 bytes 0\n'
          'create netops-dfw-archive hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\n'
          'add netops-dfw-archive 198.51.100.1\n'
          'create groups list:set size 8\n'
          'add groups f2b-sshd\n')


def span(first, last):
    return int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))


def saved_by_ipset(sets, hashsize=None, seed=0):
    """`ipset save` as ipset v7.17 prints the IpSets `sets`: the kernel's hash size (by default the
    set's), bucketsize and initval on the create line, and the elements in hash order."""
    shuffle = random.Random(seed).shuffle
    lines = []
    for number, found in enumerate(sets):
        lines.append('create %s %s family %s hashsize %d maxelem %d bucketsize 12 initval 0x%08x'
                     % (found.name, found.set_type, 'inet' if found.family == 'ipv4' else 'inet6',
                        hashsize or found.hashsize, found.maxelem, 0x9869541f + number))
        adds = ['add %s %s' % (found.name, entry) for entry in found.entries]
        shuffle(adds)
        lines.extend(adds)
    return ''.join(line + '\n' for line in lines)


def one_set(name, entries, **limits):
    family = 'ipv6' if name.endswith('6') else 'ipv4'
    return ipset.IpSet(name, family, list(entries), **limits)


# ---------------------------------------------------------------------------------------------
# Names


def test_names_of_a_set_and_its_staging_twin():
    assert ipset.set_name('ext0', 'ipv4') == V4
    assert ipset.set_name('ext0', 'ipv6') == V6
    assert ipset.set_name('wan+', 'ipv6') == 'netops-dfw-wan+-v6'
    assert ipset.staging_name(V4) == T4 and ipset.staging_name(V6) == T6


@pytest.mark.parametrize('interface', ['enp0s31f6.4094x', 'wwwwwwwwwwwwww+'])
def test_a_15_character_interface_gives_names_ipset_accepts(interface):
    # ipset names have at most 31 characters; an interface name at most 15.
    assert len(interface) == 15
    for family in ('ipv4', 'ipv6'):
        name = ipset.set_name(interface, family)
        assert len(name) == 29 and len(ipset.staging_name(name)) == 29
        assert ipset.is_ours(name) and ipset.is_ours(ipset.staging_name(name))
        assert ipset.live_family(name) == family and ipset.live_family(ipset.staging_name(name)) is None


@pytest.mark.parametrize('name, ours, family', [
    (V4, True, 'ipv4'),
    ('netops-dfw-wan+-v6', True, 'ipv6'),
    (T4, True, None),
    (T6, True, None),
    ('netops-dfw-archive', False, None),
    ('netops-dfw-ext0-v5', False, None),
    ('netops-dfw-ext0-x4', False, None),
    ('f2b-sshd', False, None),
    ('docker-ext0-v4', False, None),
])
def test_which_names_are_ours(name, ours, family):
    assert ipset.is_ours(name) is ours
    assert ipset.live_family(name) == family


# ---------------------------------------------------------------------------------------------
# Networks from merged spans


@pytest.mark.parametrize('family, spans, networks', [
    pytest.param('ipv4', [span('198.51.100.7', '198.51.100.7')], ['198.51.100.7'], id='host-without-32'),
    pytest.param('ipv4', [span('198.51.100.0', '198.51.100.255')], ['198.51.100.0/24'], id='network'),
    pytest.param('ipv4', [span('192.0.2.10', '192.0.2.20')],
                 ['192.0.2.10/31', '192.0.2.12/30', '192.0.2.16/30', '192.0.2.20'], id='range-split'),
    pytest.param('ipv4', [span('192.0.2.255', '192.0.3.0')], ['192.0.2.255', '192.0.3.0'], id='range-over-a-boundary'),
    pytest.param('ipv4', [span('0.0.0.0', '255.255.255.255')], ['0.0.0.0/1', '128.0.0.0/1'], id='slash-0-halves'),
    pytest.param('ipv4', [span('0.0.0.0', '127.255.255.255')], ['0.0.0.0/1'], id='one-half'),
    pytest.param('ipv4', [span('192.0.2.1', '192.0.2.1'), span('198.51.100.0', '198.51.100.3')],
                 ['192.0.2.1', '198.51.100.0/30'], id='spans-in-order'),
    pytest.param('ipv6', [span('2001:db8::1', '2001:db8::1')], ['2001:db8::1'], id='ipv6-host-without-128'),
    pytest.param('ipv6', [span('2001:db8::1', '2001:db8::6')],
                 ['2001:db8::1', '2001:db8::2/127', '2001:db8::4/127', '2001:db8::6'], id='ipv6-range-split'),
    pytest.param('ipv6', [span('2001:db8:1::', '2001:db8:1:ffff:ffff:ffff:ffff:ffff')], ['2001:db8:1::/48'],
                 id='ipv6-network'),
    pytest.param('ipv6', [span('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')], ['::/1', '8000::/1'],
                 id='ipv6-slash-0-halves'),
])
def test_entries_cover_exactly_the_spans(family, spans, networks):
    assert ipset.entries(family, spans) == networks


def test_everything_but_the_first_address_is_32_networks_down_to_a_half():
    found = ipset.entries('ipv4', [span('0.0.0.1', '255.255.255.255')])
    assert found[:3] == ['0.0.0.1', '0.0.0.2/31', '0.0.0.4/30'] and found[-1] == '128.0.0.0/1'
    assert len(found) == 32


def test_a_source_set_is_named_typed_and_sized_from_its_entries():
    found = ipset.source_set('ext0', 'ipv6', [span('2001:db8::1', '2001:db8::1')])
    assert (found.name, found.family, found.set_type, found.entries) == (V6, 'ipv6', 'hash:net', ['2001:db8::1'])
    assert (found.hashsize, found.maxelem) == (1024, 65536)


@pytest.mark.parametrize('count, hashsize, maxelem', [
    (0, 1024, 65536), (1024, 1024, 65536), (1025, 2048, 65536), (65536, 65536, 65536), (65537, 131072, 131072),
])
def test_the_limits_grow_by_powers_of_two_from_ipset_s_defaults(count, hashsize, maxelem):
    found = ipset.IpSet(V4, 'ipv4', ['198.51.100.1'] * count)
    assert (found.hashsize, found.maxelem) == (hashsize, maxelem)


def test_spans_of_a_set_merge_adjacent_entries():
    found = one_set(V4, ['192.0.2.10/31', '192.0.2.12/30', '192.0.2.16/30', '192.0.2.20', '198.51.100.0/24'])
    assert found.spans() == [span('192.0.2.10', '192.0.2.20'), span('198.51.100.0', '198.51.100.255')]


# ---------------------------------------------------------------------------------------------
# `ipset save` read back


def test_the_capture_is_read_with_its_limits():
    sets = ipset.parse_save(CAPTURE)
    assert sorted(sets) == [V4, 'netops-dfw-wan+-v6']
    v4, v6 = sets[V4], sets['netops-dfw-wan+-v6']
    assert (v4.family, v4.set_type, v4.hashsize, v4.maxelem, v4.entries) == (
        'ipv4', 'hash:net', 2048, 131072, ['0.0.0.0/1'])
    assert (v6.family, v6.set_type, v6.hashsize, v6.maxelem, v6.entries) == (
        'ipv6', 'hash:net', 1024, 65536, ['2001:db8::1', '2001:db8:1::/48'])


def test_sets_of_others_are_skipped_wherever_they_are():
    ours, others = CAPTURE.splitlines(True), OTHERS.splitlines(True)
    mixed = ''.join(others[:4] + ours[:2] + others[4:] + ours[2:])
    assert ipset.parse_save(OTHERS) == {}
    assert dict((n, s.entries) for n, s in ipset.parse_save(mixed).items()) == dict(
        (n, s.entries) for n, s in ipset.parse_save(CAPTURE).items())


def test_elements_in_hash_order_are_read_in_address_order_and_hosts_without_their_prefix():
    text = ('create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\n'
            'add netops-dfw-ext0-v4 198.51.100.0/24\n'
            'add netops-dfw-ext0-v4 192.0.2.20/32\n'
            'add netops-dfw-ext0-v4 192.0.2.10/31\n'
            'create netops-dfw-ext0-t6 hash:net family inet6 hashsize 1024 maxelem 65536 bucketsize 12 initval 0x2\n'
            'add netops-dfw-ext0-t6 2001:db8:0:0::7/128\n')
    sets = ipset.parse_save(text)
    assert sets[V4].entries == ['192.0.2.10/31', '192.0.2.20', '198.51.100.0/24']
    assert (sets[T6].family, sets[T6].entries) == ('ipv6', ['2001:db8::7'])


def test_nothing_saved_is_no_set():
    assert ipset.parse_save('') == {}


@pytest.mark.parametrize('text, message', [
    ('create netops-dfw-ext0-v4 hash:net family inet hashsize many maxelem 65536\n',
     'line 1: create netops-dfw-ext0-v4 hash:net family inet hashsize many maxelem 65536'),
    (CAPTURE + 'add netops-dfw-eth9-v4 198.51.100.7\n', 'line 6: add netops-dfw-eth9-v4 198.51.100.7'),
    (CAPTURE + 'del netops-dfw-ext0-v4 0.0.0.0/1\n', 'line 6: del netops-dfw-ext0-v4 0.0.0.0/1'),
    (CAPTURE + 'add netops-dfw-ext0-v4 198.51.100.300\n', 'set netops-dfw-ext0-v4: '),
    (CAPTURE + 'add netops-dfw-ext0-v4 2001:db8::7\n', 'set netops-dfw-ext0-v4: '),
])
def test_a_malformed_line_of_ours_is_a_syntax_error(text, message):
    with pytest.raises(ipset.IpsetSyntaxError) as raised:
        ipset.parse_save(text)
    assert str(raised.value).startswith(message)
    assert isinstance(raised.value, ValueError)


def test_render_creates_and_fills_the_set():
    found = one_set(V4, ['192.0.2.10/31', '198.51.100.7'])
    assert ipset.render(found) == [
        'create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536',
        'add netops-dfw-ext0-v4 192.0.2.10/31',
        'add netops-dfw-ext0-v4 198.51.100.7',
    ]
    assert ipset.render(one_set(T6, ['2001:db8::/48'], maxelem=131072)) == [
        'create netops-dfw-ext0-t6 hash:net family inet6 hashsize 1024 maxelem 131072',
        'add netops-dfw-ext0-t6 2001:db8::/48',
    ]


def test_restore_text_is_lines_ending_in_a_newline_or_nothing():
    assert ipset.restore_text([]) == ''
    assert ipset.restore_text(['destroy a', 'destroy b']) == 'destroy a\ndestroy b\n'


def test_what_is_rendered_reads_back_as_the_same_set():
    found = ipset.source_set('ext0', 'ipv4', [span('192.0.2.10', '192.0.2.20'), span('198.51.100.7', '198.51.100.7')])
    back = ipset.parse_save(ipset.restore_text(ipset.render(found)))[V4]
    assert back.entries == found.entries and ipset.same_set(back, found)
    kernel = ipset.parse_save(saved_by_ipset([found], hashsize=4096))[V4]
    assert kernel.entries == found.entries and kernel.hashsize == 4096 and ipset.same_set(kernel, found)


# ---------------------------------------------------------------------------------------------
# same_set


WANT = ipset.source_set('ext0', 'ipv4', [span('198.51.100.0', '198.51.100.255'), span('192.0.2.7', '192.0.2.7')])


@pytest.mark.parametrize('have, same', [
    pytest.param(one_set(V4, ['192.0.2.7', '198.51.100.0/24']), True, id='same'),
    pytest.param(one_set(V4, ['192.0.2.7', '198.51.100.0/25', '198.51.100.128/25']), True, id='same-addresses-split'),
    pytest.param(one_set(V4, ['192.0.2.7', '198.51.100.0/24'], hashsize=8192), True, id='grown-hashsize'),
    pytest.param(one_set(V4, ['192.0.2.7', '198.51.100.0/24'], maxelem=2), True, id='maxelem-just-enough'),
    pytest.param(one_set(V4, ['192.0.2.7', '198.51.100.0/24'], maxelem=1), False, id='maxelem-too-small'),
    pytest.param(one_set(V4, ['198.51.100.0/24']), False, id='an-address-removed'),
    pytest.param(one_set(V4, ['192.0.2.7', '192.0.2.8', '198.51.100.0/24']), False, id='an-address-added'),
    pytest.param(ipset.IpSet(V4, 'ipv4', ['192.0.2.7', '198.51.100.0/24'], set_type='hash:ip'), False,
                 id='another-type'),
    pytest.param(ipset.IpSet(V4, 'ipv6', ['192.0.2.7', '198.51.100.0/24']), False, id='another-family'),
    pytest.param(None, False, id='no-set'),
])
def test_same_set_compares_addresses_kind_and_room(have, same):
    assert ipset.same_set(have, WANT) is same


def test_a_set_too_small_for_the_new_entries_is_replaced():
    # The same addresses, but the set holds at most two.
    have = one_set(V4, ['192.0.2.7', '192.0.2.9', '192.0.2.11'], maxelem=2)
    want = ipset.IpSet(V4, 'ipv4', ['192.0.2.7', '192.0.2.9', '192.0.2.11'])
    assert have.spans() == want.spans() and not ipset.same_set(have, want)
    assert ipset.plan({V4: have}, {V4: want}, []) == (ipset.render(want.renamed(T4)) + [
        'swap %s %s' % (T4, V4), 'destroy %s' % T4], [])


def test_an_element_added_by_hand_as_nomatch_is_not_the_declared_set():
    text = ('create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\n'
            'add netops-dfw-ext0-v4 198.51.100.0/24\n'
            'add netops-dfw-ext0-v4 198.51.100.7 nomatch\n')
    want = ipset.source_set('ext0', 'ipv4', [span('198.51.100.0', '198.51.100.255')])
    try:
        have = ipset.parse_save(text).get(V4)
    except ipset.IpsetSyntaxError:
        return
    assert not ipset.same_set(have, want)


# ---------------------------------------------------------------------------------------------
# plan: the `ipset restore` lines before the iptables write and after it


NEW = ipset.IpSet(V4, 'ipv4', ['192.0.2.7', '198.51.100.0/24'])
OLD = one_set(V4, ['192.0.2.7', '203.0.113.0/24'], hashsize=2048)


def test_a_new_set_is_created_before_the_rules():
    assert ipset.plan({}, {V4: NEW}, []) == ([
        'create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536',
        'add netops-dfw-ext0-v4 192.0.2.7',
        'add netops-dfw-ext0-v4 198.51.100.0/24',
    ], [])


def test_a_set_in_place_as_ipset_saves_it_plans_nothing():
    current = ipset.parse_save(saved_by_ipset([NEW], hashsize=2048) + OTHERS)
    assert ipset.plan(current, {V4: NEW}, [V4]) == ([], [])


def test_a_differing_set_is_filled_aside_swapped_in_and_its_old_content_destroyed():
    assert ipset.plan({V4: OLD}, {V4: NEW}, []) == ([
        'create netops-dfw-ext0-t4 hash:net family inet hashsize 1024 maxelem 65536',
        'add netops-dfw-ext0-t4 192.0.2.7',
        'add netops-dfw-ext0-t4 198.51.100.0/24',
        'swap netops-dfw-ext0-t4 netops-dfw-ext0-v4',
        'destroy netops-dfw-ext0-t4',
    ], [])


def test_a_staging_set_left_by_an_interrupted_run_is_destroyed_first():
    staging = one_set(T4, ['192.0.2.7'])
    assert ipset.plan({V4: NEW, T4: staging}, {V4: NEW}, []) == (['destroy netops-dfw-ext0-t4'], [])
    before, after = ipset.plan({V4: OLD, T4: staging}, {V4: NEW}, [])
    assert before[:2] == ['destroy netops-dfw-ext0-t4',
                          'create netops-dfw-ext0-t4 hash:net family inet hashsize 1024 maxelem 65536']
    assert before[-2:] == ['swap netops-dfw-ext0-t4 netops-dfw-ext0-v4', 'destroy netops-dfw-ext0-t4'] and after == []
    before, after = ipset.plan({T4: staging}, {V4: NEW}, [])
    assert before == ['destroy netops-dfw-ext0-t4'] + ipset.render(NEW) and after == []


def test_removable_sets_are_destroyed_after_the_rules_and_only_when_they_exist():
    other = one_set('netops-dfw-eth1-v4', ['203.0.113.1'])
    current = {V4: NEW, 'netops-dfw-eth1-v4': other, V6: one_set(V6, ['2001:db8::1'])}
    assert ipset.plan(current, {V4: NEW}, ['netops-dfw-eth1-v4', V6, 'netops-dfw-gone-v4', V4]) == (
        [], ['destroy netops-dfw-eth1-v4', 'destroy netops-dfw-ext0-v6'])
    # A set that is not removable stays, even when nothing wants it.
    assert ipset.plan(current, {V4: NEW}, []) == ([], [])


def test_the_staging_set_of_a_set_no_longer_wanted_is_destroyed_after_the_rules():
    current = {V4: OLD, T4: one_set(T4, ['192.0.2.7']), 'netops-dfw-eth1-t6': one_set('netops-dfw-eth1-t6', ['::1'])}
    assert ipset.plan(current, {}, [V4]) == (
        [], ['destroy netops-dfw-ext0-v4', 'destroy netops-dfw-eth1-t6', 'destroy netops-dfw-ext0-t4'])
    # Wanted again: the staging set goes before, and nothing after.
    assert ipset.plan(current, {V4: NEW}, [])[1] == ['destroy netops-dfw-eth1-t6']


def test_sets_are_planned_in_name_order():
    v6 = ipset.IpSet(V6, 'ipv6', ['2001:db8::1'])
    before, after = ipset.plan({}, {V6: v6, V4: NEW}, [])
    assert [line for line in before if line.startswith('create')] == [
        'create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536',
        'create netops-dfw-ext0-v6 hash:net family inet6 hashsize 1024 maxelem 65536']


# ---------------------------------------------------------------------------------------------
# uses_set: when a family of an allowlist keeps its sources in a set


@pytest.mark.parametrize('mode, count, used', [
    ('auto', 0, False), ('auto', 1, False), ('auto', 64, False), ('auto', 65, True), ('auto', 100000, True),
    ('always', 0, False), ('always', 1, True), ('always', 64, True),
    ('never', 0, False), ('never', 65, False), ('never', 100000, False),
])
def test_uses_set(mode, count, used):
    assert ipset.SET_THRESHOLD == 64
    assert ipset.uses_set(mode, count) is used


def hosts(count):
    """`count` IPv4 addresses no two of which merge: every other one from 10.0.0.0."""
    return [str(ipaddress.IPv4Address(0x0a000000 + 2 * index)) for index in range(count)]


def test_at_the_threshold_an_allowlist_keeps_rules_and_above_it_a_set():
    at = allowlist_block('ext0', hosts(64) + ['2001:db8::1'], ['80'])
    above = allowlist_block('ext0', hosts(65) + ['2001:db8::1'], ['80'])
    assert at.sets == {} and len(at.rules['ipv4']) == 64 + 4
    assert not any('--match-set' in line for line in at.rules['ipv4'])
    assert list(above.sets) == [V4] and above.sets[V4].family == 'ipv4' and len(above.sets[V4].entries) == 65
    assert len(above.rules['ipv4']) == 5 and above.rules['ipv4'][3] == (
        '-A DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack --ctorigdstport 80 '
        '-m comment --comment "netops.docker_firewall/allowlist:ext0" -j RETURN')
    # The other family decides for itself.
    assert above.rules['ipv6'] == at.rules['ipv6'] and '-s 2001:db8::1/128' in at.rules['ipv6'][3]
    assert sources_count(above) == dict(declared=66, ipv4=65, ipv6=1, ipsets={V4: 65})


def test_the_threshold_counts_merged_entries_not_declared_ones():
    # 200 declared addresses that merge into 64 entries stay rules.
    declared = ['10.%d.0.%d' % (run, host) for run in range(64) for host in (1, 2, 3)] + ['10.0.0.2'] * 8
    block = allowlist_block('ext0', declared)
    assert sources_count(block)['ipv4'] == 64 and block.sets == {}


def test_always_and_never_and_a_family_without_sources():
    always = allowlist_block('ext0', ['198.51.100.7'], source_sets='always')
    assert list(always.sets) == [V4] and always.sets[V4].entries == ['198.51.100.7']
    assert always.rules['ipv4'][1] == ('-A DOCKER-USER -i ext0 -m set --match-set netops-dfw-ext0-v4 src -m comment '
                                       '--comment "netops.docker_firewall/allowlist:ext0" -j RETURN')
    # No IPv6 source: no set, the family is denied (replies pass, then a DROP).
    assert len(always.rules['ipv6']) == 2 and not any('--match-set' in line for line in always.rules['ipv6'])
    never = allowlist_block('ext0', hosts(1000), source_sets='never')
    assert never.sets == {} and len(never.rules['ipv4']) == 1002


def test_a_bad_source_sets_value_is_an_input_error():
    with pytest.raises(InputError) as raised:
        allowlist_block('ext0', ['198.51.100.7'], source_sets='sometimes')
    assert raised.value.field == 'source_sets' and 'one of auto, always, never' in str(raised.value)


# ---------------------------------------------------------------------------------------------
# match_sets


def test_match_sets_names_ours_once_in_order_of_appearance():
    lines = [
        '-A DOCKER-USER -i wan+ -m set --match-set netops-dfw-wan+-v6 src -j RETURN',
        '-A DOCKER-USER -m set --match-set f2b-sshd src -j DROP',
        '-A DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack --ctorigdstport 80 '
        '-m comment --comment "netops.docker_firewall/allowlist:ext0" -j RETURN',
        '-A DOCKER-USER -i ext0 -p tcp -m set --match-set netops-dfw-ext0-v4 src -m conntrack --ctorigdstport 443 '
        '-m comment --comment "netops.docker_firewall/allowlist:ext0" -j RETURN',
        '-A DOCKER-USER -m set ! --match-set netops-dfw-ext0-t4 src -j DROP',
        '-A DOCKER-USER -j RETURN',
    ]
    assert ipset.match_sets(lines) == ['netops-dfw-wan+-v6', V4, T4]
    assert ipset.match_sets(line for line in lines[1:2]) == []
    assert ipset.match_sets(['-A DOCKER-USER -j RETURN --match-set']) == []


# ---------------------------------------------------------------------------------------------
# Properties


BITS = {'ipv4': 32, 'ipv6': 128}
_MAPPED = ipaddress.ip_network('::ffff:0:0/96')
# Anchors near which sources are drawn, so that they overlap, adjoin and leave gaps.
_ANCHORS = {'ipv4': [0, int(ipaddress.ip_address('198.51.100.0')), 2 ** 32 - 4097],
            'ipv6': [0, int(ipaddress.ip_address('2001:db8::')), 2 ** 128 - 4097]}


def _allowed(family, number):
    return family == 'ipv4' or not int(_MAPPED.network_address) <= number <= int(_MAPPED.broadcast_address)


def addresses(family):
    near = st.tuples(st.sampled_from(_ANCHORS[family]), st.integers(0, 4096)).map(sum)
    anywhere = st.integers(0, 2 ** BITS[family] - 1)
    return st.one_of(near, near, anywhere).filter(lambda number: _allowed(family, number))


@st.composite
def declared(draw, family):
    """One allowlist entry of `family`, as written in `sources`, and its (first, last)."""
    make = ipaddress.IPv4Address if family == 'ipv4' else ipaddress.IPv6Address
    base = draw(addresses(family))
    kind = draw(st.sampled_from(['address', 'network', 'range']))
    if kind == 'address':
        return str(make(base)), (base, base)
    if kind == 'network':
        prefix = draw(st.one_of(st.integers(BITS[family] - 12, BITS[family]), st.integers(0, BITS[family])))
        network = ipaddress.ip_network((make(base), prefix), strict=False)
        return str(network), (int(network.network_address), int(network.broadcast_address))
    last = min(base + draw(st.integers(0, 5000)), 2 ** BITS[family] - 1)
    return '%s-%s' % (make(base), make(last)), (base, last)


def union(spans):
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


def networks_of(found):
    return [ipaddress.ip_network(entry) for entry in found.entries]


both_families = st.tuples(st.lists(declared('ipv4'), min_size=1, max_size=25),
                          st.lists(declared('ipv6'), min_size=1, max_size=25))


@settings(max_examples=200, deadline=None)
@given(both_families, st.lists(addresses('ipv4'), max_size=20), st.lists(addresses('ipv6'), max_size=20))
def test_the_set_holds_exactly_the_declared_addresses(entries, probes_v4, probes_v6):
    block = allowlist_block('ext0', [text for family in entries for text, _span in family],
                            source_sets='always')
    for family, family_entries, random_probes in zip(('ipv4', 'ipv6'), entries, (probes_v4, probes_v6)):
        spans = [entry_span for _text, entry_span in family_entries]
        found = block.sets[ipset.set_name('ext0', family)]
        assert found.family == family
        networks = networks_of(found)
        # Each entry a network of the family as ipset prints it, no /0, none overlapping, in address order.
        for text, network in zip(found.entries, networks):
            assert network.version == (4 if family == 'ipv4' else 6) and network.prefixlen > 0
            assert ('/' in text) is (network.prefixlen < BITS[family])
        assert all(a.broadcast_address < b.network_address for a, b in zip(networks, networks[1:]))
        assert union((int(n.network_address), int(n.broadcast_address)) for n in networks) == union(spans)
        assert found.spans() == union(spans)
        # Addresses at and beside each declared edge, and anywhere: in the set exactly when declared.
        probes = set(random_probes)
        for first, last in spans:
            probes.update(n for n in (first - 1, first, last, last + 1) if 0 <= n < 2 ** BITS[family])
        for probe in probes:
            address = ipaddress.ip_address(probe) if family == 'ipv4' else ipaddress.IPv6Address(probe)
            in_set = any(address in network for network in networks)
            assert in_set is any(first <= probe <= last for first, last in spans), address


@settings(max_examples=200, deadline=None)
@given(both_families, st.integers(0, 2 ** 32), st.sampled_from([None, 4096, 131072]))
def test_a_set_saved_by_ipset_reads_back_as_itself_and_plans_nothing(entries, seed, hashsize):
    block = allowlist_block('ext0', [text for family in entries for text, _span in family],
                            source_sets='always')
    wanted = dict((found.name, found) for found in block.sets.values())
    rendered = ipset.parse_save(ipset.restore_text([line for name in sorted(wanted)
                                                    for line in ipset.render(wanted[name])]))
    kernel = ipset.parse_save(saved_by_ipset(list(wanted.values()), hashsize, seed) + OTHERS)
    for current in (rendered, kernel):
        assert sorted(current) == sorted(wanted)
        for name, want in wanted.items():
            assert ipset.same_set(current[name], want) and current[name].entries == want.entries
        assert ipset.plan(current, wanted, list(current)) == ([], [])


@settings(max_examples=200, deadline=None)
@given(both_families, st.lists(st.integers(1, 65535).map(str), max_size=4, unique=True),
       st.sampled_from(['tcp', 'udp', 'sctp']))
def test_with_sets_the_rule_count_of_a_family_does_not_depend_on_the_sources(entries, ports, protocol):
    many = allowlist_block('ext0', [text for family in entries for text, _span in family], ports, protocol,
                           source_sets='always')
    one = allowlist_block('ext0', ['198.51.100.7', '2001:db8::7'], ports, protocol, source_sets='always')
    for family in ('ipv4', 'ipv6'):
        destinations = max(len(ports), 1)
        # Replies, the two bridge drops with ports, one set rule and one drop per destination.
        assert len(many.rules[family]) == len(one.rules[family]) == 1 + (2 if ports else 0) + 2 * destinations
        matching = [line for line in many.rules[family] if '--match-set' in line]
        assert len(matching) == destinations
        assert all(' --match-set %s src ' % ipset.set_name('ext0', family) in line for line in matching)
        assert not any(' -s ' in line or '--src-range' in line for line in many.rules[family])


class SetsOnAHost:
    """What `ipset restore` does with the lines of a plan: {name: set of address spans}. Each line
    fails as ipset fails it (create of an existing set, add to, swap or destroy of a missing one)."""

    def __init__(self, current):
        self.sets = dict((name, list(found.spans())) for name, found in current.items())

    def spans(self):
        return dict((name, union(spans)) for name, spans in self.sets.items())

    def run(self, lines):
        for line in lines:
            words = line.split()
            if words[0] == 'create':
                assert words[1] not in self.sets, line
                self.sets[words[1]] = []
            elif words[0] == 'add':
                assert words[1] in self.sets, line
                network = ipaddress.ip_network(words[2])
                self.sets[words[1]].append((int(network.network_address), int(network.broadcast_address)))
            elif words[0] == 'swap':
                assert words[1] in self.sets and words[2] in self.sets, line
                self.sets[words[1]], self.sets[words[2]] = self.sets[words[2]], self.sets[words[1]]
            else:
                assert words[0] == 'destroy' and words[1] in self.sets, line
                del self.sets[words[1]]


def sets_of(draw, interfaces):
    found = {}
    for interface in interfaces:
        for family in ('ipv4', 'ipv6'):
            if draw(st.booleans()):
                drawn = draw(st.lists(declared(family), min_size=1, max_size=5))
                spans = union(entry_span for _text, entry_span in drawn)
                found[ipset.set_name(interface, family)] = ipset.source_set(interface, family, spans)
    return found


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_running_the_plan_leaves_exactly_the_wanted_sets(data):
    interfaces = ['ext0', 'ext1', 'wan+']
    wanted = sets_of(data.draw, interfaces)
    current = sets_of(data.draw, interfaces)
    # Staging sets an interrupted run left behind.
    for name in data.draw(st.lists(st.sampled_from(sorted(ipset.set_name(i, f) for i in interfaces
                                                          for f in ('ipv4', 'ipv6'))), unique=True)):
        current[ipset.staging_name(name)] = ipset.IpSet(ipset.staging_name(name), ipset.live_family(name),
                                                        ['2001:db8::1' if name.endswith('6') else '192.0.2.1'])
    removable = [name for name in current if ipset.live_family(name) and name not in wanted]
    before, after = ipset.plan(current, wanted, removable)
    host = SetsOnAHost(current)
    host.run(before)
    # Before the iptables write every wanted set holds its addresses (the removable ones are still there).
    assert all(host.spans()[name] == want.spans() for name, want in wanted.items())
    host.run(after)
    assert host.spans() == dict((name, want.spans()) for name, want in wanted.items())
    # A live set that is kept is only ever swapped: never destroyed, created or filled in place.
    kept = set(current) & set(wanted)
    for line in before:
        words = line.split()
        assert not (words[0] in ('create', 'add', 'destroy') and words[1] in kept), line


def test_split_commit_keeps_the_swaps_for_after_the_dry_run_and_the_old_contents_for_after_the_write():
    new = ipset.IpSet(V4, 'ipv4', ['192.0.2.7'])
    changed = ipset.IpSet(ipset.set_name('ext1', 'ipv4'), 'ipv4', ['192.0.2.8'])
    current = {ipset.staging_name(V4): new, changed.name: ipset.IpSet(changed.name, 'ipv4', ['192.0.2.9'])}
    before, _after = ipset.plan(current, {V4: new, changed.name: changed}, [])
    prepare, swaps, retired = ipset.split_commit(before)
    staging = ipset.staging_name(changed.name)
    assert prepare == (['destroy %s' % ipset.staging_name(V4)] + ipset.render(new)
                       + ipset.render(changed.renamed(staging)))
    # After the swap the staging set holds the old content: destroyed only once the chains are written.
    assert swaps == ['swap %s %s' % (staging, changed.name)]
    assert retired == ['destroy %s' % staging]
    assert prepare + swaps + retired == before
