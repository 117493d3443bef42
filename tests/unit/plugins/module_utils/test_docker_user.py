# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The DOCKER-USER engine: validation, blocks, planning and the restore payload."""

import pytest

from captures import capture as read_capture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._docker_user import (
    InputError,
    accept_block,
    allowlist_block,
    blocks_in,
    holds_plan,
    plan_chain,
    restore_payload,
    same_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_user as engine
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save

TAG = '"netops.docker_firewall/%s"'


def docker_user(suite, capture, family_file='iptables-save'):
    save = read_capture(suite, '%s.%s' % (capture, family_file))
    return [rule.line for rule in parse_save(save)['filter'].chain_rules('DOCKER-USER')]


# --- blocks ------------------------------------------------------------------------------------

def test_accept_block_both_directions():
    block = accept_block('int0', 'ext0')
    assert block.name == 'accept:int0:ext0'
    assert block.rules['ipv4'] == [
        '-A DOCKER-USER -i int0 -o ext0 -m comment --comment %s -j ACCEPT' % (TAG % 'accept:int0:ext0'),
        '-A DOCKER-USER -i ext0 -o int0 -m comment --comment %s -j ACCEPT' % (TAG % 'accept:int0:ext0'),
    ]
    assert block.rules['ipv6'] == block.rules['ipv4']


def test_accept_block_one_way_lets_replies_back():
    rules = accept_block('lan0', 'eth0', bidirectional=False).rules['ipv4']
    assert rules[1] == ('-A DOCKER-USER -i eth0 -o lan0 -m conntrack --ctstate RELATED,ESTABLISHED '
                        '-m comment --comment %s -j ACCEPT' % (TAG % 'accept:lan0:eth0'))


def test_allowlist_splits_families_and_orders_guard_sources_drop():
    block = allowlist_block('eth0', ['198.51.100.7', '2001:db8::/48', '198.51.100.16-198.51.100.30'])
    tag = TAG % 'allowlist:eth0'
    assert block.rules['ipv4'] == [
        '-A DOCKER-USER -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment %s -j RETURN' % tag,
        '-A DOCKER-USER -s 198.51.100.7/32 -i eth0 -m comment --comment %s -j RETURN' % tag,
        '-A DOCKER-USER -i eth0 -m iprange --src-range 198.51.100.16-198.51.100.30 -m comment --comment %s -j RETURN' % tag,
        '-A DOCKER-USER -i eth0 -m comment --comment %s -j DROP' % tag,
    ]
    assert block.rules['ipv6'][1] == '-A DOCKER-USER -s 2001:db8::/48 -i eth0 -m comment --comment %s -j RETURN' % tag
    assert len(block.rules['ipv6']) == 3


def test_allowlist_without_ipv6_entries_denies_ipv6():
    rules = allowlist_block('eth0', ['198.51.100.7']).rules['ipv6']
    assert [r.split('-j ')[-1] for r in rules] == ['RETURN', 'DROP']
    assert 'RELATED,ESTABLISHED' in rules[0]


def test_empty_allowlist_denies_everything():
    for family in ('ipv4', 'ipv6'):
        assert allowlist_block('eth0', []).rules[family][-1].endswith('-j DROP')


def test_allowlist_ports_match_the_original_destination_port():
    rules = allowlist_block('eth0', ['198.51.100.7'], ports=['8080', '9000-9010'], protocol='udp').rules['ipv4']
    tag = TAG % 'allowlist:eth0'
    assert rules[1:] == [
        # routed straight into a container bridge without DNAT: dropped for every source
        '-A DOCKER-USER -i eth0 -o docker+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP' % tag,
        '-A DOCKER-USER -i eth0 -o br-+ -m conntrack ! --ctstate DNAT -m comment --comment %s -j DROP' % tag,
        '-A DOCKER-USER -s 198.51.100.7/32 -i eth0 -p udp -m conntrack --ctorigdstport 8080 -m comment --comment %s -j RETURN' % tag,
        '-A DOCKER-USER -s 198.51.100.7/32 -i eth0 -p udp -m conntrack --ctorigdstport 9000:9010 -m comment --comment %s -j RETURN' % tag,
        '-A DOCKER-USER -i eth0 -p udp -m conntrack --ctorigdstport 8080 -m comment --comment %s -j DROP' % tag,
        '-A DOCKER-USER -i eth0 -p udp -m conntrack --ctorigdstport 9000:9010 -m comment --comment %s -j DROP' % tag,
    ]


def test_duplicate_sources_and_ports_are_written_once():
    rules = allowlist_block('eth0', ['198.51.100.7', '198.51.100.7/32'], ports=['80', '80', '80-80']).rules['ipv4']
    assert len(rules) == 3 + 2  # guard, the source, the port's DROP; the two direct-routing DROPs


# --- bad input: every case names the field and the value ---------------------------------------

BAD_ALLOWLISTS = [
    ('interface', dict(interface='docker0')),
    ('interface', dict(interface='docker1')),
    ('interface', dict(interface='br-0123456789ab')),
    ('interface', dict(interface='veth1234')),
    ('interface', dict(interface='docker_gwbridge')),
    ('interface', dict(interface='')),
    ('interface', dict(interface='eth0 ')),
    ('interface', dict(interface='a' * 16)),
    ('interface', dict(interface='eth/0')),
    ('interface', dict(interface='eth"0')),
    ('interface', dict(interface='eth0\n-A FORWARD -j ACCEPT')),
    ('interface', dict(interface="eth'0")),
    ('interface', dict(interface='eth+0')),
    ('interface', dict(interface='..')),
    ('interface', dict(interface='eth:0')),
    ('interface', dict(interface='eth0\n')),
    ('sources', dict(sources=['198.51.100.300'])),
    ('sources', dict(sources=['198.51.100.0/33'])),
    ('sources', dict(sources=['198.51.100.1/24'])),
    ('sources', dict(sources=['2001:db8::1/32'])),
    ('sources', dict(sources=['198.51.100.20-198.51.100.10'])),
    ('sources', dict(sources=['198.51.100.1-2001:db8::1'])),
    ('sources', dict(sources=['198.51.100.1-'])),
    ('sources', dict(sources=['-198.51.100.1'])),
    ('sources', dict(sources=['example.com'])),
    ('sources', dict(sources=[''])),
    ('sources', dict(sources=['198.51.100.1 -j ACCEPT'])),
    ('sources', dict(sources=['198.51.100.1\n-A FORWARD -j ACCEPT'])),
    ('sources', dict(sources=['"198.51.100.1"'])),
    ('sources', dict(sources=['198.51.100.0/24,192.0.2.0/24'])),
    ('sources', dict(sources=['2001:db8::g'])),
    ('sources', dict(sources=['198.51.100'])),
    ('sources', dict(sources=['198.51.100.7\n'])),
    ('sources', dict(sources=['2001:db8::1%eth0'])),
    ('sources', dict(sources=['fe80::1%2/64'])),
    ('sources', dict(sources=['::ffff:198.51.100.1'])),
    ('sources', dict(sources=['::ffff:198.51.100.0/120'])),
    ('sources', dict(sources=['::ffff:198.51.100.1-::ffff:198.51.100.9'])),
    ('sources', dict(sources=['0.0.0.0/-1'])),
    ('ports', dict(ports=['0'])),
    ('ports', dict(ports=['65536'])),
    ('ports', dict(ports=['-1'])),
    ('ports', dict(ports=['http'])),
    ('ports', dict(ports=['90-80'])),
    ('ports', dict(ports=['80-'])),
    ('ports', dict(ports=['80 443'])),
    ('ports', dict(ports=['80\n-A FORWARD'])),
    ('ports', dict(ports=['1:2:3'])),
    ('ports', dict(ports=['80\n'])),
    ('ports', dict(ports=['\u0668\u0660'])),
    ('ports', dict(ports=[True])),
    ('protocol', dict(protocol='icmp')),
    ('protocol', dict(protocol='TCP')),
]


@pytest.mark.parametrize('field, override', BAD_ALLOWLISTS, ids=[repr(c[1]) for c in BAD_ALLOWLISTS])
def test_bad_allowlist_input_names_field_and_value(field, override):
    args = dict(interface='eth0', sources=['198.51.100.0/24'], ports=None, protocol='tcp')
    args.update(override)
    with pytest.raises(InputError) as error:
        allowlist_block(**args)
    assert error.value.field == field
    assert str(error.value).startswith('%s: %r' % (field, override[field] if field != 'sources' and field != 'ports'
                                                   else override[field][0]))


@pytest.mark.parametrize('field, in_interface, out_interface', [
    ('in_interface', '', 'eth0'),
    ('in_interface', 'wg 0', 'eth0'),
    ('out_interface', 'wg0', 'x' * 16),
    ('out_interface', 'wg0', 'wg0'),
])
def test_bad_accept_input_names_field(field, in_interface, out_interface):
    with pytest.raises(InputError) as error:
        accept_block(in_interface, out_interface)
    assert error.value.field == field


@pytest.mark.parametrize('mapped, ipv4_form', [
    ('::ffff:198.51.100.1', '198.51.100.1/32'),
    ('::ffff:198.51.100.0/120', '198.51.100.0/24'),
    ('::ffff:198.51.100.1-::ffff:198.51.100.9', '198.51.100.1-198.51.100.9'),
])
def test_ipv4_mapped_sources_are_refused_with_their_ipv4_form(mapped, ipv4_form):
    with pytest.raises(InputError) as error:
        allowlist_block('eth0', [mapped])
    assert str(error.value).endswith('write the IPv4 form %s' % ipv4_form)


def test_every_address_is_written_without_a_source_match_as_iptables_save_prints_it():
    block = allowlist_block('eth0', ['0.0.0.0/0', '::/0'], ports=['8080'])
    tag = TAG % 'allowlist:eth0'
    for family in ('ipv4', 'ipv6'):
        assert block.rules[family][3] == (
            '-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -m comment --comment %s -j RETURN' % tag)
    # What the host prints back for the same rule, with or without the redundant match, is the same rule.
    printed = list(block.rules['ipv4'])
    printed[3] = printed[3].replace('-i eth0', '-s 0.0.0.0/0 -i eth0')
    assert same_chain(block.rules['ipv4'], printed)


def test_container_side_error_explains_why():
    with pytest.raises(InputError) as error:
        allowlist_block('docker0', ['198.51.100.7'])
    assert 'external interface' in str(error.value) and 'outgoing traffic' in str(error.value)


# --- planning ------------------------------------------------------------------------------------

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


@pytest.mark.parametrize('first, second', [
    ('wan+', 'wan0'), ('wan0', 'wan+'), ('wan+', 'wa+'), ('eth+', 'eth10+'),
])
def test_allowlists_on_overlapping_interfaces_are_refused(first, second):
    with pytest.raises(engine.InputError) as error:
        engine.declared_blocks([], [{'interface': first, 'sources': ['198.51.100.1']},
                                    {'interface': second, 'sources': ['203.0.113.1']}])
    assert error.value.field == 'allowlists[1].interface'
    assert error.value.value == second
    assert 'allowlist on %s' % first in str(error.value)


@pytest.mark.parametrize('first, second', [('wan+', 'lan0'), ('wan0', 'wan1'), ('wan1+', 'wan2+'), ('wan0', 'wan01+')])
def test_allowlists_on_separate_interfaces_are_accepted(first, second):
    blocks = engine.declared_blocks([], [{'interface': first, 'sources': []}, {'interface': second, 'sources': []}])
    assert sorted(blocks) == sorted(['allowlist:%s' % first, 'allowlist:%s' % second])
