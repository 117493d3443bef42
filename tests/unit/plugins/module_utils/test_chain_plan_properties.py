# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Properties of the DOCKER-USER chain planned (_chain_plan) over generated blocks and chains (hypothesis)."""

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    ROUTED,
    accept_block,
    allowlist_block,
    routed_block,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import (
    blocks_in,
    holds_plan,
    plan_chain,
    restore_payload,
    same_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, parse_save

interfaces = st.from_regex(r'(eth|wg|lan|ens|bond)[0-9]{1,3}', fullmatch=True)


@st.composite
def sources(draw):
    version = draw(st.sampled_from([4, 6]))
    if version == 4:
        base = ipaddress.IPv4Address(draw(st.integers(0, 2 ** 32 - 1)))
        max_prefix = 32
    else:
        # IPv4-mapped addresses (::ffff:0:0/96) are refused as sources: they match no packet.
        base = ipaddress.IPv6Address(draw(st.integers(0, 2 ** 128 - 1).filter(
            lambda n: not 0xFFFF00000000 <= n <= 0xFFFFFFFFFFFF)))
        max_prefix = 128
    kind = draw(st.sampled_from(['address', 'network', 'range']))
    if kind == 'address':
        return str(base)
    if kind == 'network':
        prefix = draw(st.integers(0, max_prefix))
        return str(ipaddress.ip_network('%s/%d' % (base, prefix), strict=False))
    last = base + draw(st.integers(0, 1000)) if int(base) + 1000 < 2 ** max_prefix else base
    return '%s-%s' % (base, last)


ports = st.one_of(
    st.integers(1, 65535).map(str),
    st.tuples(st.integers(1, 65535), st.integers(1, 65535)).map(lambda p: '%d-%d' % tuple(sorted(p))),
)


@st.composite
def block_sets(draw):
    blocks = {}
    for in_if, out_if in draw(st.lists(st.tuples(interfaces, interfaces), max_size=3)):
        if in_if != out_if:
            block = accept_block(in_if, out_if, draw(st.booleans()))
            blocks[block.name] = block
    for interface in draw(st.lists(interfaces, max_size=3, unique=True)):
        block = allowlist_block(interface, draw(st.lists(sources(), max_size=6)),
                                draw(st.lists(ports, max_size=3)), draw(st.sampled_from(['tcp', 'udp', 'sctp'])))
        blocks[block.name] = block
    if draw(st.booleans()):
        routed = [dict(interface=interface, sources=draw(st.one_of(st.none(), st.lists(sources(), max_size=3))),
                       ports=draw(st.lists(ports, max_size=2)))
                  for interface in draw(st.lists(interfaces, max_size=2, unique=True))]
        blocks[ROUTED] = routed_block(routed)
    return blocks


foreign_rules = st.lists(st.sampled_from([
    '-A DOCKER-USER -j RETURN',
    '-A DOCKER-USER -s 198.51.100.99/32 -m comment --comment other-tool -j DROP',
    '-A DOCKER-USER -i eth9 -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A DOCKER-USER -m conntrack --ctstate INVALID -j DROP',
]), max_size=4)

families = st.sampled_from(['ipv4', 'ipv6'])


@settings(max_examples=200, deadline=None)
@given(block_sets(), foreign_rules, families)
def test_parse_of_render_is_identity(blocks, others, family):
    lines = plan_chain(others, family, blocks)
    save = '\n'.join(['*filter', ':DOCKER-USER - [0:0]'] + lines + ['COMMIT']) + '\n'
    parsed = parse_save(save)['filter'].chain_rules('DOCKER-USER')
    assert [rule.line for rule in parsed] == lines
    assert parsed == [Rule(line) for line in lines]


@settings(max_examples=200, deadline=None)
@given(block_sets(), block_sets(), foreign_rules, families, st.booleans())
def test_planning_again_after_applying_yields_nothing(first, second, others, family, purge):
    applied = plan_chain(plan_chain(others, family, first), family, second, purge=purge)
    again = plan_chain(applied, family, second, purge=purge)
    assert again == applied
    assert same_chain(again, applied)


@settings(max_examples=200, deadline=None)
@given(block_sets(), foreign_rules, families)
def test_rules_of_others_are_kept_in_order(blocks, others, family):
    lines = plan_chain(others, family, blocks)
    assert lines[len(lines) - len(others):] == others
    assert set(blocks_in(lines)) == set(name for name, block in blocks.items() if block.rules[family])


def apply_restore(chain, payload):
    """What iptables-restore --noflush does to DOCKER-USER (`chain`: its lines, None when absent).
    A -D of a rule that is not there fails, as it does in iptables."""
    chain = None if chain is None else list(chain)
    for line in payload.splitlines():
        if line in ('*filter', 'COMMIT', '-I FORWARD 1 -j DOCKER-USER'):
            continue
        if line == ':DOCKER-USER - [0:0]':
            chain = []
            continue
        op, name, rest = line.split(' ', 2)
        assert name == 'DOCKER-USER', line
        if op == '-A':
            chain.append(line)
        elif op == '-I':
            position, spec = rest.split(' ', 1)
            chain.insert(int(position) - 1, '-A DOCKER-USER ' + spec)
        else:
            assert op == '-D', line
            target = Rule('-A DOCKER-USER ' + rest)
            index = [Rule(l) for l in chain].index(target)
            del chain[index]
    return chain


@settings(max_examples=300, deadline=None)
@given(block_sets(), block_sets(), foreign_rules, families, st.booleans())
def test_applying_the_payload_gives_the_plan(first, second, others, family, purge):
    before = plan_chain(others, family, first)
    after = plan_chain(before, family, second, purge=purge)
    assert apply_restore(before, restore_payload(before, after)) == after
    assert apply_restore(None, restore_payload(None, after)) == after


@settings(max_examples=300, deadline=None)
@given(block_sets(), block_sets(), foreign_rules, families, st.booleans(), st.data())
def test_a_rule_inserted_between_read_and_write_stays(first, second, others, family, purge, data):
    before = plan_chain(others, family, first)
    after = plan_chain(before, family, second, purge=purge)
    foreign = '-A DOCKER-USER -s 198.51.100.250/32 -m comment --comment concurrent -j DROP'
    position = data.draw(st.integers(0, len(before)))
    at_write = before[:position] + [foreign] + before[position:]
    result = apply_restore(at_write, restore_payload(before, after))
    assert foreign in result
    assert holds_plan(result, after)
    assert [line for line in result if line != foreign] == after


@settings(max_examples=200, deadline=None)
@given(block_sets(), foreign_rules, families, st.booleans())
def test_no_rendered_line_touches_another_chain(blocks, others, family, exists):
    before = others if exists else None
    payload = restore_payload(before, plan_chain(others, family, blocks)).splitlines()
    created = [] if exists else [':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER']
    for line in payload:
        assert line in ['*filter', 'COMMIT'] + created \
            or line.split(' ', 2)[:2] in (['-A', 'DOCKER-USER'], ['-I', 'DOCKER-USER'], ['-D', 'DOCKER-USER'])
