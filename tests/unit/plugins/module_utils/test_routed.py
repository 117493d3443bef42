# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Routed access: the block that says who may route to a container's own address, its guard, its
nftables chain and its ipsets. Exact rules per family, refused input, nft read back, and properties
over a small packet evaluator that reads the rendered rules as iptables would."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    CONTAINER_BRIDGES,
    allowlist_block,
    declared_blocks,
    routed_block,
    routed_summary,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import blocks_in, plan_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import InputError
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, tokenize

TAG = '-m comment --comment "netops.docker_firewall/routed"'
NEW = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT'
BETWEEN = [
    '-A DOCKER-USER -i docker+ -o br-+ %s %s -j RETURN' % (NEW, TAG),
    '-A DOCKER-USER -i br-+ -o docker+ %s %s -j RETURN' % (NEW, TAG),
]
GUARD = [
    '-A DOCKER-USER ! -i docker+ -o docker+ %s %s -j DROP' % (NEW, TAG),
    '-A DOCKER-USER ! -i br-+ -o br-+ %s %s -j DROP' % (NEW, TAG),
]


def returns(*parts):
    """The two RETURN lines (docker+ and br-+) of one match: `parts` before and after -o."""
    before, after = parts if len(parts) == 2 else (parts[0], '')
    return ['-A DOCKER-USER %s -o %s %s%s %s -j RETURN' % (before, bridges, after + ' ' if after else '', NEW, TAG)
            for bridges in ('docker+', 'br-+')]


# --- exact rules -------------------------------------------------------------------------------


def test_no_declaration_is_the_guard_alone_in_both_families():
    block = routed_block([])
    assert block.name == 'routed' and block.sets == {}
    assert block.rules == {'ipv4': BETWEEN + GUARD, 'ipv6': BETWEEN + GUARD}


def test_a_whole_interface_reaches_every_container_in_both_families():
    block = routed_block([{'interface': 'wg0'}])
    for family in ('ipv4', 'ipv6'):
        assert block.rules[family] == BETWEEN + returns('-i wg0') + GUARD
    assert routed_summary(block) == {'wg0': {'families': ['ipv4', 'ipv6'], 'ipsets': {}}}


def test_sources_networks_and_ports_of_one_family_deny_the_other():
    block = routed_block([{'interface': 'eth1', 'sources': ['198.51.100.0/25', '198.51.100.130-198.51.100.200'],
                           'networks': ['172.18.0.0/16', '172.19.0.0/16'], 'ports': ['80', '8000-8100', '80'],
                           'protocol': 'udp'}])
    ipv4 = []
    for source, match in (('-s 198.51.100.0/25 ', ''), ('', '-m iprange --src-range 198.51.100.130-198.51.100.200 ')):
        for port in ('80', '8000:8100'):
            ipv4 += returns('%s-d 172.18.0.0/15 -i eth1' % source, '-p udp %s-m udp --dport %s' % (match, port))
    assert block.rules['ipv4'] == BETWEEN + ipv4 + GUARD
    assert block.rules['ipv6'] == BETWEEN + GUARD
    assert routed_summary(block) == {'eth1': {'families': ['ipv4'], 'ipsets': {}}}


def test_ipv6_networks_alone_deny_ipv4_and_declarations_are_sorted_by_interface():
    block = routed_block([{'interface': 'wg1', 'networks': ['2001:db8:18::/64']}, {'interface': 'lan0'}])
    assert block.rules['ipv4'] == BETWEEN + returns('-i lan0') + GUARD
    assert block.rules['ipv6'] == BETWEEN + returns('-i lan0') + returns('-d 2001:db8:18::/64 -i wg1') + GUARD
    same = routed_block([{'interface': 'lan0'}, {'interface': 'wg1', 'networks': ['2001:db8:18::/64']}])
    assert same.rules == block.rules


def test_an_empty_source_list_lets_nothing_through():
    block = routed_block([{'interface': 'wg0', 'sources': []}])
    assert block.rules['ipv4'] == BETWEEN + GUARD and block.rules['ipv6'] == BETWEEN + GUARD
    # A sources_text (as a sources file's entries come) without an entry is no source either, not any.
    assert routed_block([{'interface': 'wg0', 'sources_text': '# none yet\n'}]).rules == block.rules


def test_sources_text_adds_its_lines_to_the_sources():
    block = routed_block([{'interface': 'eth1', 'sources': ['198.51.100.0/25'],
                           'sources_text': '# more\n198.51.100.130-198.51.100.200\n'}])
    same = routed_block([{'interface': 'eth1', 'sources': ['198.51.100.0/25', '198.51.100.130-198.51.100.200']}])
    assert block.rules == same.rules


def test_long_sources_go_into_an_ipset_of_their_own_kind():
    sources = ['10.0.%d.%d' % (n // 250, 2 * (n % 125)) for n in range(100)] + ['2001:db8::1']
    block = routed_block([{'interface': 'wg0', 'sources': sources, 'ports': ['443']}])
    name = 'netops-dfwr-wg0-v4'
    assert list(block.sets) == [name] and block.sets[name].family == 'ipv4'
    assert block.rules['ipv4'] == BETWEEN + returns('-i wg0', '-p tcp -m set --match-set %s src -m tcp --dport 443'
                                                    % name) + GUARD
    assert block.rules['ipv6'] == BETWEEN + returns('-s 2001:db8::1/128 -i wg0', '-p tcp -m tcp --dport 443') + GUARD
    assert routed_summary(block)['wg0']['ipsets'] == {name: len(block.sets[name].entries)}
    always = routed_block([{'interface': 'wg0', 'sources': ['198.51.100.7'], 'source_sets': 'always'}])
    assert list(always.sets) == [name]


def test_the_block_sits_between_the_router_pairs_and_the_allowlists():
    blocks = declared_blocks([{'in_interface': 'wg0', 'out_interface': 'eth0'}],
                             [{'interface': 'eth0', 'sources': ['198.51.100.7']}], [{'interface': 'wg0'}])
    lines = plan_chain(['-A DOCKER-USER -j RETURN'], 'ipv4', blocks)
    assert blocks_in(lines) == ['accept:wg0:eth0', 'routed', 'allowlist:eth0']
    assert lines[-1] == '-A DOCKER-USER -j RETURN'
    assert 'routed' not in declared_blocks([], [])


# --- refused input -------------------------------------------------------------------------------


@pytest.mark.parametrize('declarations, field, value', [
    ([{'interface': 'docker0'}], 'routed[0].interface', 'docker0'),
    ([{'interface': 'br-+'}], 'routed[0].interface', 'br-+'),
    ([{'interface': 'wg0'}, {'interface': 'eth0"'}], 'routed[1].interface', 'eth0"'),
    ([{'interface': 'wg0', 'sources': ['198.51.100.7/24']}], 'routed[0].sources', '198.51.100.7/24'),
    ([{'interface': 'wg0', 'sources': ['::ffff:198.51.100.7']}], 'routed[0].sources', '::ffff:198.51.100.7'),
    ([{'interface': 'wg0', 'networks': ['172.18.0.1/16']}], 'routed[0].networks', '172.18.0.1/16'),
    ([{'interface': 'wg0', 'networks': ['172.18.0.1-172.18.0.9']}], 'routed[0].networks', '172.18.0.1-172.18.0.9'),
    ([{'interface': 'wg0', 'networks': ['fe80::1%eth0']}], 'routed[0].networks', 'fe80::1%eth0'),
    ([{'interface': 'wg0', 'ports': ['0']}], 'routed[0].ports', '0'),
    ([{'interface': 'wg0', 'ports': ['90-80']}], 'routed[0].ports', '90-80'),
    ([{'interface': 'wg0', 'protocol': 'icmp'}], 'routed[0].protocol', 'icmp'),
    ([{'interface': 'wg0', 'source_sets': 'sometimes'}], 'routed[0].source_sets', 'sometimes'),
    ([{'interface': 'wg0', 'sources_file': '/srv/vpn.txt'}], 'routed[0].sources_file', '/srv/vpn.txt'),
    ([{'interface': 'wg0'}, {'interface': 'wg0', 'ports': ['80']}], 'routed[1].interface', 'wg0'),
    ([{'interface': 'wg+'}, {'interface': 'wg0'}], 'routed[1].interface', 'wg0'),
    (['wg0'], 'routed[0]', 'wg0'),
])
def test_bad_input_names_the_field_and_the_value(declarations, field, value):
    with pytest.raises(InputError) as error:
        routed_block(declarations)
    assert (error.value.field, error.value.value) == (field, value)
    assert str(error.value).startswith('%s: %r is not valid: ' % (field, value))


def test_the_same_interface_twice_says_to_merge_and_overlapping_wildcards_say_so():
    with pytest.raises(InputError, match='one declaration per interface'):
        routed_block([{'interface': 'wg0'}, {'interface': 'wg0'}])
    with pytest.raises(InputError, match='matches interfaces of the declaration on wg[+]'):
        routed_block([{'interface': 'wg+'}, {'interface': 'wg1'}])


# --- ipset names of both kinds ------------------------------------------------------------------


def test_routed_sets_have_a_prefix_no_interface_name_can_make_an_allowlist_set():
    routed = ipset.set_name('wg0', 'ipv4', kind='routed')
    assert routed == 'netops-dfwr-wg0-v4' and ipset.set_name('wg0', 'ipv6', kind='routed') == 'netops-dfwr-wg0-v6'
    # An allowlist on an interface named r-wg0 would have taken netops-dfw-r-wg0-v4.
    assert ipset.set_name('r-wg0', 'ipv4') == 'netops-dfw-r-wg0-v4' != routed
    longest = ipset.set_name('a' * 15, 'ipv6', kind='routed')
    assert len(longest) == 30 and len(ipset.staging_name(longest)) <= 31
    for name in (routed, 'netops-dfw-wg0-v4'):
        assert ipset.is_ours(name) and ipset.is_ours(ipset.staging_name(name))
        assert ipset.live_family(name) == 'ipv4' and ipset.live_family(ipset.staging_name(name)) is None
    assert ipset.staging_name(routed) == 'netops-dfwr-wg0-t4'
    assert not ipset.is_ours('netops-dfwx-wg0-v4') and not ipset.is_ours('docker-dfwr-wg0-v4')


def test_both_kinds_are_read_matched_and_planned():
    allowlist = allowlist_block('wg0', ['198.51.100.7'], source_sets='always')
    routed = routed_block([{'interface': 'wg0', 'sources': ['198.51.100.8'], 'source_sets': 'always'}])
    wanted = dict(list(allowlist.sets.items()) + list(routed.sets.items()))
    assert sorted(wanted) == ['netops-dfw-wg0-v4', 'netops-dfwr-wg0-v4']
    saved = ipset.restore_text([line for name in sorted(wanted) for line in ipset.render(wanted[name])])
    assert sorted(ipset.parse_save(saved)) == sorted(wanted)
    assert ipset.match_sets(allowlist.rules['ipv4'] + routed.rules['ipv4']) == sorted(wanted)
    assert ipset.plan(ipset.parse_save(saved), wanted, ()) == ([], [])


# --- nftables ------------------------------------------------------------------------------------

EXAMPLE = [
    {'interface': 'wg0', 'networks': ['172.18.0.0/16']},
    {'interface': 'eth1', 'sources': ['198.51.100.0/24', '2001:db8:1::/64'], 'ports': ['443', '8000-8100']},
    {'interface': 'tun+', 'sources': ['10.0.0.0/8']}]


def example_table():
    blocks = declared_blocks([{'in_interface': 'wg0', 'out_interface': 'eth0'}],
                             [{'interface': 'eth0', 'sources': ['198.51.100.7']}], EXAMPLE)
    return nft.plan_table(None, blocks)


def test_the_routed_chain_and_its_jumps():
    table = example_table()
    tag = 'comment "netops.docker_firewall/routed"'
    assert table.chains['forward'].rules == [
        'iifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        'iifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        'oifname "docker*" iifname != "docker*" ct state new ct status ! dnat jump routed %s' % tag,
        'oifname "br-*" iifname != "br-*" ct state new ct status ! dnat jump routed %s' % tag,
        'iifname "eth0" jump allowlist-eth0 comment "netops.docker_firewall/allowlist:eth0"',
    ]
    routed = table.chains['routed']
    assert routed.comment == 'netops.docker_firewall/routed' and routed.header == ''
    assert routed.rules == [
        'iifname "docker*" return',
        'iifname "br-*" return',
        'iifname "eth1" ip saddr @routed-eth1-sources-ipv4 tcp dport { 443, 8000-8100 } accept',
        'iifname "eth1" ip6 saddr @routed-eth1-sources-ipv6 tcp dport { 443, 8000-8100 } accept',
        'iifname "tun*" ip saddr @routed-tun_2B-sources-ipv4 accept',
        'iifname "wg0" ip daddr @routed-wg0-networks-ipv4 accept',
        'drop',
    ]
    # Only the sets a rule matches: tun+ has no IPv6 source, wg0 no IPv6 network.
    assert sorted(name for name in table.sets if name.startswith('routed-')) == [
        'routed-eth1-sources-ipv4', 'routed-eth1-sources-ipv6', 'routed-tun_2B-sources-ipv4',
        'routed-wg0-networks-ipv4']
    assert all(table.sets[name].comment == 'netops.docker_firewall/routed' for name in table.sets
               if name.startswith('routed-'))
    assert table.blocks() == ['accept:wg0:eth0', 'allowlist:eth0', 'routed']


def test_the_guard_alone_in_nftables():
    table = nft.plan_table(None, {'routed': routed_block([])})
    assert table.chains['routed'].rules == ['iifname "docker*" return', 'iifname "br-*" return', 'drop']
    assert table.sets == {} and len(table.chains['forward'].rules) == 2


def listed_by_nft(table):
    """The table as nft 1.1 lists it (see docker29/our-table-listed.nft.txt): a blank line between
    objects, handles (nft -a), and a set's elements printed another way that holds the same addresses
    (a range and a network, wrapped over two lines)."""
    text = nft.render(table).replace('\t}\n\t', '\t}\n\n\t')
    wrapped = 'elements = { 198.51.100.0-198.51.100.127,\n\t\t\t     198.51.100.128/25 }'
    text = text.replace('elements = { 198.51.100.0/24 }', wrapped)
    return ''.join(line + (' # handle %d' % number if line.startswith('\t\t') and line.endswith(('accept', 'drop'))
                           else '') + '\n' for number, line in enumerate(text.splitlines(), 3))


def test_what_nft_prints_back_is_the_table_rendered():
    table = example_table()
    printed = nft.parse_table(listed_by_nft(table))
    assert nft.same_table(printed, table)
    assert printed.blocks() == ['accept:wg0:eth0', 'allowlist:eth0', 'routed']
    assert nft.same_table(nft.plan_table(printed, {}), table)
    # Our routed chain and sets go with the block; the others stay.
    assert sorted(nft.plan_table(printed, {'routed': None}).chains) == ['allowlist-eth0', 'forward']
    drifted = nft.parse_table(listed_by_nft(table).replace('\t\tiifname "wg0" ip daddr', '\t\tiifname "wg1" ip daddr'))
    assert not nft.same_table(drifted, table)


# --- properties over a packet evaluator ----------------------------------------------------------


class Packet:
    def __init__(self, iif, oif, src, dst, proto, dport, ctstate):
        self.iif, self.oif, self.src, self.dst = iif, oif, ipaddress.ip_address(src), ipaddress.ip_address(dst)
        self.proto, self.dport, self.ctstate = proto, dport, ctstate  # ctstate: NEW, ESTABLISHED, NEW+DNAT...


def _iface(pattern, name):
    return name.startswith(pattern[:-1]) if pattern.endswith('+') else name == pattern


def matches(line, packet, sets):
    """Whether an iptables rule line of the routed block matches `packet`, read as iptables reads it."""
    tokens = [text for text, _quoted in tokenize(line)][2:]
    index, negate = 0, False
    while index < len(tokens):
        word = tokens[index]
        if word == '!':
            negate, index = True, index + 1
            continue
        value = tokens[index + 1] if index + 1 < len(tokens) else None
        if word == '-s':
            ok = packet.src in ipaddress.ip_network(value)
        elif word == '-d':
            ok = packet.dst in ipaddress.ip_network(value)
        elif word in ('-i', '-o'):
            ok = _iface(value, packet.iif if word == '-i' else packet.oif)
        elif word == '-p':
            ok = packet.proto == value
        elif word == '--dport':
            first, _colon, last = value.partition(':')
            ok = packet.dport is not None and int(first) <= packet.dport <= int(last or first)
        elif word == '--src-range':
            first, last = (ipaddress.ip_address(a) for a in value.split('-'))
            ok = packet.src.version == first.version and first <= packet.src <= last
        elif word == '--match-set':
            ok = any(packet.src in ipaddress.ip_network(entry) for entry in sets[value].entries
                     if ipaddress.ip_network(entry).version == packet.src.version)
            index += 1  # 'src'
        elif word == '--ctstate':
            ok = value in packet.ctstate.split('+')
        elif word in ('-m', '--comment', '-j'):
            index += 2
            continue
        else:
            raise AssertionError('unexpected %s in %s' % (word, line))
        if ok == negate:
            return False
        negate, index = False, index + 2
    return True


def verdict(block, family, packet):
    for line in block.rules[family]:
        if matches(line, packet, block.sets):
            return line.rsplit(' ', 1)[1]
    return None  # on to the rest of DOCKER-USER


INTERFACES = ['wg0', 'wg1', 'eth0', 'lan0', 'tun7']
BRIDGES = ['docker0', 'br-1a2b3c4d5e6f', 'docker_gwbridge']
declarations = st.lists(st.fixed_dictionaries({'interface': st.sampled_from(INTERFACES + ['tun+'])}, optional={
    'sources': st.lists(st.sampled_from(['198.51.100.0/28', '198.51.100.20-198.51.100.40', '2001:db8:1::/64',
                                         '2001:db8:2::5'])),
    'networks': st.lists(st.sampled_from(['172.18.0.0/16', '172.17.0.0/16', '2001:db8:18::/64'])),
    'ports': st.lists(st.sampled_from(['80', '443', '8000-8100']), max_size=2),
    'protocol': st.sampled_from(['tcp', 'udp']),
    'source_sets': st.sampled_from(['auto', 'always', 'never']),
}), unique_by=lambda d: d['interface'].rstrip('+')[:3], max_size=3)
addresses = {'ipv4': st.sampled_from(['198.51.100.5', '198.51.100.30', '198.51.100.99']),
             'ipv6': st.sampled_from(['2001:db8:1::9', '2001:db8:2::5', '2001:db8:3::1'])}
destinations = {'ipv4': st.sampled_from(['172.18.0.2', '172.17.0.3', '172.30.0.4']),
                'ipv6': st.sampled_from(['2001:db8:18::2', '2001:db8:99::2'])}


@st.composite
def packets(draw, family):
    # Mostly new connections from outside for a container bridge: the cases that decide.
    iif = draw(st.one_of(st.sampled_from(INTERFACES), st.sampled_from(INTERFACES + BRIDGES)))
    oif = draw(st.one_of(st.sampled_from(BRIDGES), st.sampled_from(INTERFACES + BRIDGES)))
    states = ['NEW', 'ESTABLISHED', 'RELATED', 'NEW+DNAT', 'ESTABLISHED+DNAT']
    ctstate = draw(st.one_of(st.just('NEW'), st.sampled_from(states)))
    return Packet(iif, oif, draw(addresses[family]), draw(destinations[family]), draw(st.sampled_from(['tcp', 'udp'])),
                  draw(st.sampled_from([80, 443, 8050, 22])), ctstate)


def declared(declaration, family, packet):
    """Whether a declaration lets `packet` through, from its declaration alone."""
    def within(entries, address):
        for entry in entries:
            if '-' in entry:
                first, last = (ipaddress.ip_address(a) for a in entry.split('-'))
                if address.version == first.version and first <= address <= last:
                    return True
            elif address in ipaddress.ip_network(entry):
                return True
        return False
    ports = [tuple(int(p) for p in port.split('-')) if '-' in port else (int(port), int(port))
             for port in declaration.get('ports') or []]
    return (_iface(declaration['interface'], packet.iif)
            and ('sources' not in declaration or within(declaration['sources'], packet.src))
            and ('networks' not in declaration or within(declaration['networks'], packet.dst))
            and (not ports or (packet.proto == declaration.get('protocol', 'tcp')
                               and any(a <= packet.dport <= b for a, b in ports))))


def is_container_bridge(name):
    return name.startswith(('docker', 'br-'))


@settings(max_examples=300, deadline=None)
@given(declarations, st.sampled_from(['ipv4', 'ipv6']), st.data())
def test_only_declared_new_connections_without_dnat_reach_containers_from_outside(found, family, data):
    block = routed_block(found)
    packet = data.draw(packets(family))
    result = verdict(block, family, packet)
    new_not_dnat = packet.ctstate == 'NEW'
    if not new_not_dnat or not is_container_bridge(packet.oif):
        # Replies, DNAT'd published ports and traffic that is not for a container: never matched.
        assert result is None
    elif is_container_bridge(packet.iif):
        # Between containers: Docker's business (within one pattern not matched, across returned).
        assert result in (None, 'RETURN')
    elif any(declared(d, family, packet) for d in found):
        assert result == 'RETURN'
    else:
        assert result == 'DROP'


@settings(max_examples=200, deadline=None)
@given(declarations, st.sampled_from(['ipv4', 'ipv6']))
def test_every_return_is_new_without_dnat_and_the_guard_is_always_last(found, family):
    lines = routed_block(found).rules[family]
    assert lines[-2:] == GUARD
    for line in lines[:-2]:
        assert line.endswith('%s %s -j RETURN' % (NEW, TAG)), line
        assert Rule(line).option_values('-o')[0] in CONTAINER_BRIDGES
    assert routed_block(list(reversed(found))).rules == routed_block(found).rules


def spans_of(entries):
    """The addresses of source or network entries as merged (first, last) integers, by hand."""
    spans = []
    for entry in entries:
        if '-' in entry:
            first, last = (int(ipaddress.ip_address(a)) for a in entry.split('-'))
        else:
            network = ipaddress.ip_network(entry)
            first, last = int(network.network_address), int(network.broadcast_address)
        spans.append((first, last))
    merged = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


@settings(max_examples=200, deadline=None)
@given(declarations)
def test_the_nft_table_reads_back_as_rendered_and_its_sets_hold_the_declared_addresses(found):
    block = routed_block(found)
    table = nft.plan_table(None, {block.name: block})
    assert nft.same_table(nft.parse_table(nft.render(table)), table)
    assert table.chains['routed'].rules[-1] == 'drop'
    for declaration in found:
        name = nft._escaped(declaration['interface'])
        for family in ('ipv4', 'ipv6'):
            for what in ('sources', 'networks'):
                entries = [e for e in declaration.get(what) or [] if (':' in e) == (family == 'ipv6')]
                held = table.sets.get('routed-%s-%s-%s' % (name, what, family))
                if held is not None:
                    assert held.intervals == spans_of(entries)
