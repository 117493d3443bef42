# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Properties of the reachability engine over generated DOCKER-USER chains on the real captures
(hypothesis): an ACCEPT inserted at the top of FORWARD never takes reachability away. On nftables
(Docker 29's capture n4 with the collection's table beside it), an accept at the top of Docker's
filter-FORWARD never takes reachability away either, and, as it ends only that base chain, never lets
on a source the allowlist of the collection's table (an earlier base chain) drops."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from captures import capture
from plugins.module_utils.test_reachability import DOCKERS, SUITES, addresses, binding, v4
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import reachability

INTERFACES = ['eth0', 'wg0', 'docker0', 'veth1']
networks = st.builds(lambda address, prefix: str(ipaddress.ip_network((address, prefix), strict=False)),
                     st.integers(0, 2 ** 32 - 1), st.integers(0, 32))


@st.composite
def matches(draw, wildcards=True, unknown=True):
    parts = []
    if draw(st.booleans()):
        parts += (['!'] if draw(st.booleans()) else []) + ['-s', draw(networks)]
    if draw(st.booleans()):
        names = INTERFACES + (['eth+', 'docker+', 'br-+'] if wildcards else [])
        parts += (['!'] if draw(st.booleans()) else []) + ['-i', draw(st.sampled_from(names))]
    if draw(st.booleans()):
        parts += ['-p', draw(st.sampled_from(['tcp', 'udp']))]
        if parts[-1] == 'tcp' and draw(st.booleans()):
            parts += ['-m', 'tcp', '--dport', draw(st.sampled_from(['80', '8080', '22']))]
    if draw(st.booleans()):
        parts += ['-m', 'conntrack'] + (['!'] if draw(st.booleans()) else []) + [
            '--ctstate', draw(st.sampled_from(['NEW', 'DNAT', 'RELATED,ESTABLISHED']))]
    if draw(st.booleans()):
        parts += ['-m', 'iprange', '--src-range', '198.51.100.%d-198.51.100.%d' % tuple(sorted(draw(
            st.tuples(st.integers(0, 255), st.integers(0, 255)))))]
    if unknown and draw(st.integers(0, 4)) == 0:
        parts += ['-m', 'physdev', '--physdev-in', 'veth1']
    return parts


@st.composite
def docker_user(draw):
    lines = []
    if draw(st.booleans()):
        block = allowlist_block('eth0', draw(st.lists(networks, max_size=3)), draw(st.sampled_from([None, ['8080']])))
        lines += block.rules['ipv4']
    for parts in draw(st.lists(matches(), max_size=4)):
        lines.append(' '.join(['-A', 'DOCKER-USER'] + parts + ['-j', draw(st.sampled_from(['DROP', 'RETURN', 'ACCEPT', 'REJECT']))]))
    return lines


def reachable_points(text, suite):
    """{(interface, destination): reachable sources as collapsed networks} of the published port and
    of routed access to the container."""
    found = reachability(text, 'ipv4', [binding(suite)], addresses(suite), interfaces=INTERFACES,
                         routed=[dict(address=DOCKERS[suite][0], port=80)])
    points = {}
    for answer in found['ports'] + found['routed']:
        for piece in answer['slices']:
            assert piece['source_ports'] is None  # no rule here matches a source port
            if piece['verdict'] == 'reachable':
                for destination in piece['destinations']:
                    points.setdefault((piece['interface'], destination), []).extend(
                        ipaddress.ip_network(s) for s in piece['sources'])
    return dict((key, list(ipaddress.collapse_addresses(value))) for key, value in points.items())


def covered(inner, outer):
    return all(any(network.subnet_of(other) for other in outer) for network in inner)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(SUITES), docker_user(), matches(wildcards=False, unknown=False))
def test_an_accept_at_the_top_of_forward_never_shrinks_the_reachable_set(suite, lines, accept):
    before_text = v4(suite, lines)
    top = ' '.join(['-A', 'FORWARD'] + accept + ['-j', 'ACCEPT'])
    after_text = before_text.replace('-A FORWARD -j DOCKER-USER', top + '\n-A FORWARD -j DOCKER-USER', 1)
    assert after_text != before_text
    before, after = reachable_points(before_text, suite), reachable_points(after_text, suite)
    for key, networks_before in before.items():
        assert covered(networks_before, after.get(key, [])), (key, top)


# --- nftables: Docker 29.7's nftables backend (n4) and the collection's table --------------------

N4_HEADER = 'chain filter-FORWARD {\n\t\ttype filter hook forward priority filter; policy accept;\n'
N4_ADDRESSES = {'lo': ['127.0.0.1/8'], 'ext0': ['192.0.2.10/24'], 'docker0': ['172.17.0.1/16'],
                'br-b3ecdfc169bc': ['198.51.100.129/26']}
N4_INTERFACES = ['ext0', 'wg0', 'docker0', 'br-b3ecdfc169bc']
N4_WEB = dict(container='web', family='ipv4', address='172.17.0.2', host_ip=None, host_port='8080',
              container_port='80', protocol='tcp')


@st.composite
def nft_matches(draw):
    parts = []
    if draw(st.booleans()):
        parts += ['ip saddr', draw(st.sampled_from(['', '!= '])) + draw(networks)]
    if draw(st.booleans()):
        parts += ['iifname', draw(st.sampled_from(['', '!= '])) + '"%s"' % draw(st.sampled_from(
            N4_INTERFACES + ['eth*', 'docker*', 'br-*']))]
    if draw(st.booleans()):
        parts += ['tcp dport', draw(st.sampled_from(['80', '8080', '22', '{ 22, 80 }']))]
    if draw(st.booleans()):
        parts += ['ct state', draw(st.sampled_from(['new', 'established,related', '{ new, established }']))]
    return ' '.join(parts)


def nft_reachable(ruleset):
    """{(interface, destination): reachable sources as collapsed networks} of the published port and
    of routed access to the container."""
    found = reachability('', 'ipv4', [N4_WEB], N4_ADDRESSES, interfaces=N4_INTERFACES, userland_proxy=False,
                         routed=[dict(address='172.17.0.2', port=80)], nftables_ruleset=ruleset)
    assert found['nftables']['not_modelled'] == []
    points = {}
    for answer in found['ports'] + found['routed']:
        for piece in answer['slices']:
            assert piece['verdict'] != 'unknown', piece['reason']
            if piece['verdict'] == 'reachable':
                for destination in piece['destinations']:
                    points.setdefault((piece['interface'], destination), []).extend(
                        ipaddress.ip_network(s) for s in piece['sources'])
    return dict((key, list(ipaddress.collapse_addresses(value))) for key, value in points.items())


@settings(max_examples=60, deadline=None)
@given(st.lists(networks, max_size=3), nft_matches())
def test_an_accept_at_the_top_of_docker_s_forward_chain_never_shrinks_nor_beats_our_allowlist(allowed, accept):
    ours = nft.render(nft.plan_table(None, {'allowlist:ext0': allowlist_block('ext0', allowed)}))
    before_text = capture('docker29', 'n4-nftables-usernet-published.nft-ruleset') + ours
    after_text = before_text.replace(N4_HEADER, N4_HEADER + '\t\t%s accept\n' % accept, 1)
    assert after_text != before_text
    before, after = nft_reachable(before_text), nft_reachable(after_text)
    for key, networks_before in before.items():
        assert covered(networks_before, after.get(key, [])), (key, accept)
    # Our base chain (priority filter - 10) drops every new connection from ext0 outside the allowlist, whatever
    # Docker's base chain accepts after it.
    allowlist = list(ipaddress.collapse_addresses(ipaddress.ip_network(n) for n in allowed))
    for (interface, _destination), networks_after in after.items():
        if interface == 'ext0':
            assert covered(networks_after, allowlist), (networks_after, allowed, accept)


# --- concatenations: a verdict map, or a set, is its elements one rule each -------------------------

EXTRA_FORWARD = ('table inet extra {\n\tchain forward {\n\t\ttype filter hook forward priority filter - 5; '
                 'policy accept;\n%s\t}\n}\n')
elements = st.lists(st.tuples(st.sampled_from(['198.51.100.0/24', '203.0.113.0/25', '203.0.113.128/26', '192.0.2.7',
                                               '10.0.0.0/8']),
                              st.sampled_from(['80', '8080', '22', '79-90']), st.sampled_from(['drop', 'accept'])),
                    min_size=1, max_size=5, unique_by=lambda element: element[0])


@settings(max_examples=60, deadline=None)
@given(elements, st.booleans())
def test_a_concatenated_key_is_its_elements_one_rule_each(keyed, negated):
    """Disjoint sources (unique networks of a pool that do not overlap), so that the order of the elements
    does not matter: `ip saddr . tcp dport vmap {...}` is one rule per element, `ip saddr . tcp dport {...}
    drop` too, and `!= {...} drop` lets the elements' packets go (accept: this base chain ends) and drops
    the rest."""
    vmap = '\t\tiifname "ext0" ip saddr . tcp dport vmap { %s }\n' % ', '.join(
        '%s . %s : %s' % element for element in keyed)
    one_each = ''.join('\t\tiifname "ext0" ip saddr %s tcp dport %s %s\n' % element for element in keyed)
    base = capture('docker29', 'n4-nftables-usernet-published.nft-ruleset')
    assert nft_reachable(base + EXTRA_FORWARD % vmap) == nft_reachable(base + EXTRA_FORWARD % one_each)
    pairs = '{ %s }' % ', '.join('%s . %s' % (network, port) for network, port, _verdict in keyed)
    if negated:
        member = '\t\tiifname "ext0" ip saddr . tcp dport != %s drop\n' % pairs
        one_each = ''.join('\t\tiifname "ext0" ip saddr %s tcp dport %s accept\n' % (network, port)
                           for network, port, _verdict in keyed) + '\t\tiifname "ext0" drop\n'
    else:
        member = '\t\tiifname "ext0" ip saddr . tcp dport %s drop\n' % pairs
        one_each = ''.join('\t\tiifname "ext0" ip saddr %s tcp dport %s drop\n' % (network, port)
                           for network, port, _verdict in keyed)
    assert nft_reachable(base + EXTRA_FORWARD % member) == nft_reachable(base + EXTRA_FORWARD % one_each)
