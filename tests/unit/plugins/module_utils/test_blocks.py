# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""DOCKER-USER blocks (_blocks): the rules of each declaration, and bad input refused, naming the field and
the value."""

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    accept_block,
    allowlist_block,
    declared_blocks,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import same_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import InputError

TAG = '"netops.docker_firewall/%s"'


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


# --- one allowlist per interface ---------------------------------------------------------------

@pytest.mark.parametrize('first, second', [
    ('wan+', 'wan0'), ('wan0', 'wan+'), ('wan+', 'wa+'), ('eth+', 'eth10+'),
])
def test_allowlists_on_overlapping_interfaces_are_refused(first, second):
    with pytest.raises(InputError) as error:
        declared_blocks([], [{'interface': first, 'sources': ['198.51.100.1']},
                             {'interface': second, 'sources': ['203.0.113.1']}])
    assert error.value.field == 'allowlists[1].interface'
    assert error.value.value == second
    assert 'allowlist on %s' % first in str(error.value)


@pytest.mark.parametrize('first, second', [('wan+', 'lan0'), ('wan0', 'wan1'), ('wan1+', 'wan2+'), ('wan0', 'wan01+')])
def test_allowlists_on_separate_interfaces_are_accepted(first, second):
    blocks = declared_blocks([], [{'interface': first, 'sources': []}, {'interface': second, 'sources': []}])
    assert sorted(blocks) == sorted(['allowlist:%s' % first, 'allowlist:%s' % second])
