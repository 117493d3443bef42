# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The nftables table of the collection: render, read back as nft prints it, compare, replace."""

import ipaddress

import pytest
from hypothesis import given, settings, strategies as st

from captures import capture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    accept_block,
    allowlist_block,
)


def listed():
    """`nft list table` of a table this engine rendered, as nft 1.1.x printed it in the docker29 lab."""
    return capture('docker29', 'our-table-listed.nft')


LISTED_BLOCKS = {
    'allowlist:ext0': allowlist_block('ext0', ['198.51.100.18', '198.51.100.0/28', '198.51.100.40-198.51.100.50',
                                               '2001:db8:2::18', '198.51.100.1'], ports=['8080', '9000-9010']),
    'allowlist:eth0.100': allowlist_block('eth0.100', []),
    'allowlist:wg+': allowlist_block('wg+', ['::/0']),
}


def test_what_nft_prints_back_is_the_table_we_rendered():
    printed = nft.parse_table(listed())
    assert nft.same_table(printed, nft.plan_table(None, LISTED_BLOCKS))
    assert printed.blocks() == ['allowlist:eth0.100', 'allowlist:ext0', 'allowlist:wg+']
    # Wrapped element lines are read whole: five spans, the .1 inside the /28 merged away.
    assert [str(ipaddress.IPv4Address(a)) for a, _b in printed.sets['allowlist-ext0-ipv4'].intervals] == [
        '198.51.100.0', '198.51.100.18', '198.51.100.40']


def test_allowlist_chain_shape():
    table = nft.plan_table(None, {'allowlist:ext0': allowlist_block('ext0', ['198.51.100.18'], ports=['8080'])})
    chain = table.chains['allowlist-ext0']
    assert chain.rules == [
        'ct state established,related return',
        'oifname "docker*" ct status ! dnat drop',
        'oifname "br-*" ct status ! dnat drop',
        'ip saddr @allowlist-ext0-ipv4 return',
        'ip6 saddr @allowlist-ext0-ipv6 return',
        'meta l4proto tcp ct original proto-dst 8080 drop',
    ]
    assert table.chains['forward'].header == 'type filter hook forward priority filter - 10; policy accept;'
    assert table.chains['forward'].rules == [
        'iifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0"']


def test_whole_interface_allowlist_drops_everything_else_and_an_empty_family_denies_it():
    table = nft.plan_table(None, {'allowlist:ext0': allowlist_block('ext0', ['198.51.100.18'])})
    assert table.chains['allowlist-ext0'].rules[-1] == 'drop'
    assert table.sets['allowlist-ext0-ipv6'].intervals == []
    assert 'elements' not in nft.render(table).split('set allowlist-ext0-ipv6')[1].split('}')[0]


def test_router_pairs_come_first_in_the_base_chain_and_no_block_means_no_table():
    pairs = dict((b.name, b) for b in (accept_block('wg0', 'eth0'), accept_block('lan+', 'eth0', bidirectional=False)))
    table = nft.plan_table(nft.plan_table(None, LISTED_BLOCKS), pairs)
    assert table.chains['forward'].rules[:4] == [
        'iifname "lan*" oifname "eth0" accept comment "netops.docker_firewall/accept:lan+:eth0"',
        'iifname "eth0" oifname "lan*" ct state established,related accept comment '
        '"netops.docker_firewall/accept:lan+:eth0"',
        'iifname "wg0" oifname "eth0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
        'iifname "eth0" oifname "wg0" accept comment "netops.docker_firewall/accept:wg0:eth0"',
    ]
    assert table.blocks()[:2] == ['accept:lan+:eth0', 'accept:wg0:eth0']
    assert nft.same_table(nft.plan_table(table, {}), table)
    current = nft.plan_table(None, LISTED_BLOCKS)
    assert nft.plan_table(current, {}, purge=True) is None
    assert nft.payload(None) == 'table inet netops-docker-firewall\ndelete table inet netops-docker-firewall\n'


def test_block_mode_keeps_other_blocks_and_purge_drops_them():
    current = nft.plan_table(None, LISTED_BLOCKS)
    eth1 = allowlist_block('eth1', ['198.51.100.9'])
    assert nft.plan_table(current, {eth1.name: eth1}).blocks() == [
        'allowlist:eth0.100', 'allowlist:eth1', 'allowlist:ext0', 'allowlist:wg+']
    assert nft.plan_table(current, {eth1.name: eth1}, purge=True).blocks() == ['allowlist:eth1']
    assert nft.plan_table(current, {'allowlist:ext0': None}).blocks() == ['allowlist:eth0.100', 'allowlist:wg+']


@pytest.mark.parametrize('block, name', [
    ('allowlist:eth0', 'allowlist-eth0'),
    ('allowlist:eth0.100', 'allowlist-eth0_2E100'),
    ('allowlist:wg+', 'allowlist-wg_2B'),
    ('allowlist:ppp@1', 'allowlist-ppp_401'),
    ('allowlist:a_b', 'allowlist-a_5Fb'),
])
def test_object_names_are_nft_identifiers_and_unambiguous(block, name):
    assert nft.object_name(block) == name


def test_a_hand_added_set_element_is_drift():
    printed = nft.parse_table(listed().replace('elements = { 2001:db8:2::18 }', 'elements = { 2001:db8:2::18, 2001:db8:9::1 }'))
    assert not nft.same_table(printed, nft.plan_table(None, LISTED_BLOCKS))


# The read-back of a write names what differs (the table read back: the capture, changed by hand).
@pytest.mark.parametrize('changed, differences', [
    pytest.param(lambda text: text, [], id='the-same'),
    pytest.param(lambda text: text.replace('elements = { 2001:db8:2::18 }', 'elements = { 2001:db8:2::19 }'),
                 ['set allowlist-ext0-ipv6 holds other elements'], id='other-elements'),
    pytest.param(lambda text: text.replace('comment "netops.docker_firewall/allowlist:wg+"\n\t\telements',
                                           'comment "someone else"\n\t\telements'),
                 ['set allowlist-wg_2B-ipv6 differs'], id='other-comment'),
    pytest.param(lambda text: text.replace('\t\tiifname "ext0" jump allowlist-ext0 comment '
                                           '"netops.docker_firewall/allowlist:ext0"\n', ''),
                 ['chain forward holds other rules'], id='a-jump-gone'),
    pytest.param(lambda text: text.replace('\tset allowlist-eth0_2E100-ipv4 {', '\tset allowlist-eth9-ipv4 {'),
                 ['set allowlist-eth0_2E100-ipv4 is missing', 'set allowlist-eth9-ipv4 was not written'],
                 id='a-set-renamed'),
    pytest.param(lambda text: '', ['the table is missing'], id='no-table'),
])
def test_the_differences_of_a_table_read_back_name_each_set_and_chain(changed, differences):
    assert nft.table_differences(nft.plan_table(None, LISTED_BLOCKS), nft.parse_table(changed(listed()))) == differences


def test_a_table_read_back_where_none_was_written_is_still_there():
    assert nft.table_differences(None, nft.parse_table(listed())) == ['the table is still there']
    assert nft.table_differences(None, None) == []


def test_a_table_that_is_not_ours_is_refused():
    with pytest.raises(nft.NftSyntaxError):
        nft.parse_table('table ip docker-bridges {\n}\n')


_V4 = st.integers(min_value=int(ipaddress.IPv4Address('198.51.100.0')),
                  max_value=int(ipaddress.IPv4Address('198.51.100.255'))).map(ipaddress.IPv4Address)
_SOURCE = st.one_of(
    _V4.map(str),
    st.tuples(_V4, st.integers(min_value=24, max_value=32)).map(
        lambda t: str(ipaddress.ip_network('%s/%d' % t, strict=False))),
    st.tuples(_V4, _V4).map(lambda t: '%s-%s' % (min(t), max(t))),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_SOURCE, max_size=12), st.lists(st.integers(min_value=1, max_value=65535).map(str), max_size=3))
def test_the_set_holds_exactly_the_declared_addresses_and_a_replan_is_a_no_op(sources, ports):
    block = allowlist_block('ext0', sources, ports=ports)
    table = nft.plan_table(None, {block.name: block})
    printed = nft.parse_table(nft.render(table))
    assert nft.same_table(printed, table)
    assert nft.same_table(nft.plan_table(printed, {block.name: block}), table)
    declared = set()
    for source in sources:
        if '-' in source:
            first, last = (int(ipaddress.IPv4Address(a)) for a in source.split('-'))
        else:
            network = ipaddress.ip_network(source)
            first, last = int(network.network_address), int(network.broadcast_address)
        declared.update(range(first, last + 1))
    held = set()
    for first, last in printed.sets['allowlist-ext0-ipv4'].intervals:
        held.update(range(first, last + 1))
    assert held == declared


@pytest.mark.parametrize('ports, printed', [
    (['8080'], '8080'),
    (['9000-9010'], '9000-9010'),
    (['8080', '8081', '9000-9010', '9005'], '{ 8080-8081, 9000-9010 }'),
    (['443', '80'], '{ 80, 443 }'),
])
def test_ports_are_written_as_nft_prints_them_back(ports, printed):
    """nft merges an interval set's adjacent and overlapping ranges when it prints it (measured)."""
    table = nft.plan_table(None, {'allowlist:ext0': allowlist_block('ext0', ['198.51.100.18'], ports=ports)})
    assert table.chains['allowlist-ext0'].rules[-1] == 'meta l4proto tcp ct original proto-dst %s drop' % printed
