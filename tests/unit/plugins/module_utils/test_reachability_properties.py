# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Properties of the reachability engine over generated DOCKER-USER chains on the real captures
(hypothesis): an ACCEPT inserted at the top of FORWARD never takes reachability away."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.module_utils.test_reachability import DOCKERS, SUITES, addresses, binding, v4
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block
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
