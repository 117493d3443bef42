# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DOCKER-USER chain planned (_chain_plan): our blocks first in canonical order and the rules of others
kept in theirs, on real chains too; the restore payload; the read-back."""

import pytest

from captures import capture as read_capture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    accept_block,
    allowlist_block,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import (
    blocks_in,
    holds_plan,
    plan_chain,
    restore_payload,
    same_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save


def docker_user(suite, capture, family_file='iptables-save'):
    save = read_capture(suite, '%s.%s' % (capture, family_file))
    return [rule.line for rule in parse_save(save)['filter'].chain_rules('DOCKER-USER')]


DOCKER_RETURN = '-A DOCKER-USER -j RETURN'
FOREIGN = '-A DOCKER-USER -s 198.51.100.99/32 -m comment --comment other-tool -j DROP'


def test_plan_puts_ours_first_in_canonical_order_and_keeps_others_in_order():
    current = [FOREIGN, DOCKER_RETURN]
    blocks = {'allowlist:eth0': allowlist_block('eth0', ['198.51.100.7']), 'accept:wg0:eth0': accept_block('wg0', 'eth0')}
    after = plan_chain(current, 'ipv4', blocks)
    assert blocks_in(after) == ['accept:wg0:eth0', 'allowlist:eth0']
    assert after[-2:] == [FOREIGN, DOCKER_RETURN]


def test_plan_order_does_not_depend_on_call_order():
    accept = {'accept:wg0:eth0': accept_block('wg0', 'eth0')}
    allow = {'allowlist:eth0': allowlist_block('eth0', ['198.51.100.7'])}
    one = plan_chain(plan_chain([DOCKER_RETURN], 'ipv4', accept), 'ipv4', allow)
    two = plan_chain(plan_chain([DOCKER_RETURN], 'ipv4', allow), 'ipv4', accept)
    assert one == two


def test_plan_replaces_one_block_and_keeps_the_others():
    eth0 = allowlist_block('eth0', ['198.51.100.7'])
    eth1 = allowlist_block('eth1', ['198.51.100.8'])
    current = plan_chain([DOCKER_RETURN], 'ipv4', {eth0.name: eth0, eth1.name: eth1})
    new_eth0 = allowlist_block('eth0', ['198.51.100.9'])
    after = plan_chain(current, 'ipv4', {eth0.name: new_eth0})
    assert after == new_eth0.rules['ipv4'] + eth1.rules['ipv4'] + [DOCKER_RETURN]


def test_absent_removes_exactly_one_block():
    eth0 = allowlist_block('eth0', ['198.51.100.7'])
    eth1 = allowlist_block('eth1', ['198.51.100.8'])
    current = plan_chain([FOREIGN, DOCKER_RETURN], 'ipv4', {eth0.name: eth0, eth1.name: eth1})
    after = plan_chain(current, 'ipv4', {eth0.name: None})
    assert after == eth1.rules['ipv4'] + [FOREIGN, DOCKER_RETURN]


def test_purge_removes_undeclared_blocks_of_ours_only():
    eth0 = allowlist_block('eth0', ['198.51.100.7'])
    eth1 = allowlist_block('eth1', ['198.51.100.8'])
    current = plan_chain([FOREIGN, DOCKER_RETURN], 'ipv4', {eth0.name: eth0, eth1.name: eth1})
    assert plan_chain(current, 'ipv4', {eth1.name: eth1}, purge=True) == eth1.rules['ipv4'] + [FOREIGN, DOCKER_RETURN]
    assert plan_chain(current, 'ipv4', {}, purge=True) == [FOREIGN, DOCKER_RETURN]


@pytest.mark.parametrize('suite, capture', [
    ('bookworm', 'q2-published-default'), ('trixie', 'q2-published-default'), ('sid', 'q2-published-default'),
    ('bookworm', 'q4a-after-restart'), ('trixie', 'q4a-after-restart'), ('sid', 'q4a-after-restart'),
    ('docker29', 'q2-published-default'), ('docker29', 'q4a-after-restart'), ('docker29', 'q6-usernet-published'),
    ('docker29', 'n1-switched-fwd0'),
])
def test_plan_on_real_chains_is_converged_after_one_apply(suite, capture):
    current = docker_user(suite, capture)
    blocks = {'accept:wg0:eth0': accept_block('wg0', 'eth0'),
              'allowlist:eth0': allowlist_block('eth0', ['198.51.100.0/24', '2001:db8::/32'])}
    after = plan_chain(current, 'ipv4', blocks)
    assert not same_chain(current, after)
    assert plan_chain(after, 'ipv4', blocks) == after
    assert same_chain(plan_chain(after, 'ipv4', blocks), after)
    # Everything that was there before is still there, in its order, after ours.
    assert after[len(after) - len(current):] == current


def test_a_reordered_chain_of_ours_is_not_converged():
    block = allowlist_block('eth0', ['198.51.100.7', '198.51.100.9'])
    rules = block.rules['ipv4']
    shuffled = [rules[0], rules[2], rules[1], rules[3]]
    assert not same_chain(shuffled, plan_chain(shuffled, 'ipv4', {block.name: block}))


def test_saved_spelling_of_our_rules_counts_as_converged():
    block = allowlist_block('eth0', ['198.51.100.7'])
    saved = [line.replace('198.51.100.7/32', '198.51.100.7') for line in block.rules['ipv4']]
    assert same_chain(saved, block.rules['ipv4'])


def test_payload_changes_our_rules_and_never_flushes_the_chain():
    old = allowlist_block('eth0', ['198.51.100.7']).rules['ipv4']
    new = allowlist_block('eth0', ['198.51.100.8']).rules['ipv4']
    payload = restore_payload(old + [DOCKER_RETURN], new + [DOCKER_RETURN]).splitlines()
    assert payload[0] == '*filter' and payload[-1] == 'COMMIT'
    assert ':DOCKER-USER - [0:0]' not in payload
    assert payload[1:1 + len(old)] == ['-D' + line[2:] for line in old]
    assert payload[1 + len(old):-1] == ['-I DOCKER-USER %d %s' % (n, line[len('-A DOCKER-USER '):])
                                        for n, line in enumerate(new, 1)]
    assert not any(DOCKER_RETURN[3:] in line for line in payload)


def test_payload_creates_a_missing_chain_with_its_forward_jump():
    lines = allowlist_block('eth0', ['198.51.100.7']).rules['ipv4']
    payload = restore_payload(None, lines).splitlines()
    assert payload[:3] == ['*filter', ':DOCKER-USER - [0:0]', '-I FORWARD 1 -j DOCKER-USER']
    assert payload[3:-1] == lines
    assert '-I FORWARD 1 -j DOCKER-USER' not in restore_payload([], lines)


def test_payload_of_a_purge_deletes_the_rules_of_others_by_spec():
    other = '-A DOCKER-USER -s 198.51.100.99/32 -j DROP'
    assert restore_payload([other], []).splitlines() == ['*filter', '-D DOCKER-USER -s 198.51.100.99/32 -j DROP',
                                                         'COMMIT']


def test_read_back_tolerates_rules_another_tool_added_but_not_a_lost_rule():
    ours = allowlist_block('eth0', ['198.51.100.7']).rules['ipv4']
    theirs = '-A DOCKER-USER -s 198.51.100.99/32 -j DROP'
    assert holds_plan([theirs] + ours + [DOCKER_RETURN], ours + [DOCKER_RETURN])
    assert not holds_plan(ours, ours + [DOCKER_RETURN])
    assert not holds_plan(ours[1:] + [DOCKER_RETURN], ours + [DOCKER_RETURN])
    assert not holds_plan(ours[:1] + [theirs] + ours[1:], ours)


def test_read_back_refuses_a_planned_rule_of_others_above_ours():
    # Docker's RETURN above our rules would keep them from ever running.
    ours = allowlist_block('eth0', ['198.51.100.7']).rules['ipv4']
    assert not holds_plan([DOCKER_RETURN] + ours, ours + [DOCKER_RETURN])
    # A second RETURN that another tool inserted meanwhile is theirs.
    assert holds_plan([DOCKER_RETURN] + ours + [DOCKER_RETURN], ours + [DOCKER_RETURN])
