# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""kube-proxy's mode read from the kernel (_kube_proxy.detect), on kube-proxy's layouts in each mode
(tests/unit/fixtures/kube-proxy: the lab's stand-ins as iptables-save and nft print them, the IPVS
capture) and Docker's leftovers beside them; and what a FORWARD DROP policy does under each mode."""

import pytest

from captures import fixture
from plugins.module_utils.kube_node import NO_IPVS, family, ipvs_read, kube, node_facts, nftables_mode
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save

IPTABLES_V4 = kube('iptables.iptables-save.txt')
IPVS_V4 = kube('ipvs.iptables-save.txt')
PUBLISHED = '*filter\n-A FORWARD -m comment --comment netops.docker_firewall/publish -j NETOPS-DFW-PUBLISH\nCOMMIT\n'


def detected(facts):
    return facts['kube_proxy']


class TestModes:
    def test_iptables_mode(self):
        found = detected(node_facts(IPTABLES_V4, kube('iptables.ip6tables-save.txt')))
        assert (found['mode'], found['seen'], found['missing'], found['ours'], found['errors']) == (
            'iptables', ['iptables'], [], [], [])

    def test_the_jumps_both_iptables_and_ipvs_mode_hang_on_the_built_in_chains(self):
        for text in (IPTABLES_V4, IPVS_V4):
            assert set(kube_proxy.JUMPS) <= set(kube_proxy.family_structures(parse_save(text))['jumps'])

    def test_ipvs_mode_with_its_interface_and_sets(self):
        found = detected(node_facts(IPVS_V4, ipvs=ipvs_read()))
        assert (found['mode'], found['missing'], found['errors']) == ('ipvs', [], [])
        assert found['ipvs']['addresses'] == ['198.51.100.200', '198.51.100.201']
        assert 'KUBE-CLUSTER-IP' in found['ipvs']['sets'] and 'KUBE-IPVS-IPS' in found['ipvs']['sets']
        assert family(IPVS_V4)['kube_proxy']['sets'] == [
            'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL', 'KUBE-HEALTH-CHECK-NODE-PORT', 'KUBE-IPVS-IPS',
            'KUBE-LOAD-BALANCER', 'KUBE-LOOP-BACK', 'KUBE-NODE-PORT-TCP']

    def test_ipvs_mode_without_its_interface_or_sets(self):
        found = detected(node_facts(IPVS_V4, ipvs=dict(NO_IPVS, sets=['KUBE-LOOP-BACK'])))
        assert found['mode'] == 'ipvs'
        assert found['missing'] == ['no interface kube-ipvs0 (IPVS binds the service addresses to it)',
                                    'no ipset KUBE-CLUSTER-IP']

    def test_ipvs_seen_by_its_interface_alone(self):
        found = detected(node_facts('', ipvs=ipvs_read()))
        assert found['mode'] == 'ipvs'
        assert found['missing'] == ['no KUBE-* chain of IPVS mode (KUBE-IPVS-FILTER, KUBE-NODE-PORT) in any backend']

    def test_nftables_mode_with_kubelet_s_iptables_chains_and_docker_s_leftovers(self):
        v4 = kube('leftovers/nftables-node.docker26.iptables-save.txt')
        assert ':KUBE-KUBELET-CANARY' in v4 and ':KUBE-IPTABLES-HINT' in v4  # kubelet's: no mode
        found = detected(nftables_mode(v4))
        assert (found['mode'], found['seen'], found['missing'], found['ours']) == ('nftables', ['nftables'], [], [])
        assert found['nftables']['ip kube-proxy']['chains']['nat-prerouting'] == 'nat prerouting dstnat'
        assert found['nftables']['ip6 kube-proxy']['chains']['filter-forward'] == 'filter forward filter'

    def test_nothing_of_kube_proxy_s(self):
        found = detected(node_facts(fixture('docker-iptables', 'trixie', 'q5b-usernet-published.iptables-save.txt')))
        assert (found['mode'], found['seen'], found['missing']) == ('none', [], [])

    def test_two_modes_at_once(self):
        found = detected(nftables_mode(IPTABLES_V4))
        assert (found['mode'], found['seen']) == ('several', ['iptables', 'nftables'])

    def test_a_missing_base_chain_and_a_rule_of_ours_in_table_kube_proxy(self):
        listing = kube('nftables.ip.nft-terse.txt')
        broken = listing.replace('chain nat-postrouting {', 'chain renamed {').replace(
            'jump services\n', 'jump services comment "netops.docker_firewall/publish"\n', 1)
        found = detected(node_facts('', nft_tables=['ip kube-proxy'], kube_tables={'ip kube-proxy': broken}))
        assert found['missing'] == ['ip kube-proxy: no base chain nat-postrouting']
        assert found['ours'] == ['ip kube-proxy: jump services comment "netops.docker_firewall/publish"']

    def test_a_missing_jump_in_iptables_mode(self):
        v4 = '\n'.join(line for line in IPTABLES_V4.splitlines() if line != '-A FORWARD -m comment --comment '
                       '"kubernetes forwarding rules" -j KUBE-FORWARD') + '\n'
        found = detected(node_facts(v4))
        assert found['missing'] == ['nft ipv4: no jump filter FORWARD KUBE-FORWARD']

    @pytest.mark.parametrize('tables, listings, error', [
        (None, {}, "the nftables tables could not be listed: kube-proxy's nftables mode cannot be told"),
        (['ip kube-proxy'], {'ip kube-proxy': None}, 'table ip kube-proxy could not be listed'),
    ])
    def test_a_failed_read_is_no_mode_at_all(self, tables, listings, error):
        found = detected(node_facts('', nft_tables=tables, kube_tables=listings))
        assert (found['mode'], found['errors']) == (None, [error])

    def test_without_nft_on_the_node_nftables_mode_cannot_be_told(self):
        found = detected(node_facts('', nft_tables=[], nft_installed=False))
        assert (found['mode'], found['errors']) == (None, [
            'nft is not installed on the node: whether kube-proxy runs in nftables mode cannot be told (install the '
            'nftables package)'])
        assert detected(node_facts(IPTABLES_V4, nft_tables=[], nft_installed=False))['mode'] == 'iptables'

    def test_a_failed_ipvs_read_is_no_mode_at_all(self):
        found = detected(node_facts(IPVS_V4, ipvs=dict(NO_IPVS, error='ipset is not installed')))
        assert (found['mode'], found['errors']) == (None, ['ipset is not installed'])


class TestForwarding:
    def test_nftables_mode_behind_docker_s_forward_drop_is_blocked(self):
        found = detected(nftables_mode(kube('leftovers/nftables-node.docker26.iptables-save.txt')))
        assert [(f['backend'], f['family'], f['blocked'], f['docker_left']) for f in found['forwarding']] == [
            ('nft', 'ipv4', True, True)]
        assert 'nftables mode adds none' in found['forwarding'][0]['reason']

    def test_iptables_mode_gets_past_it_through_kube_forward(self):
        found = detected(node_facts(kube('leftovers/iptables-node.docker26.iptables-save.txt')))
        assert [(f['blocked'], f['accepting']) for f in found['forwarding']] == [
            (False, ['-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD'])]

    def test_ipvs_mode_gets_past_it_through_kube_forward(self):
        facts = node_facts(IPVS_V4.replace(':FORWARD ACCEPT', ':FORWARD DROP'), ipvs=ipvs_read())
        assert [f['blocked'] for f in detected(facts)['forwarding']] == [False]

    def test_our_publisher_s_accepts_are_not_a_way_past_it(self):
        v4 = kube('leftovers/nftables-node.docker26.iptables-save.txt') + PUBLISHED
        facts = nftables_mode(v4)
        assert facts['iptables']['nft']['ipv4']['forward_accepting'] == []
        assert [f['blocked'] for f in detected(facts)['forwarding']] == [True]

    def test_a_drop_policy_on_the_legacy_side_counts_too(self):
        legacy = kube('leftovers/nftables-node.docker20-legacy.legacy-save.txt').replace(
            ':FORWARD ACCEPT', ':FORWARD DROP')
        found = detected(nftables_mode('', legacy=legacy))
        assert [(f['backend'], f['blocked']) for f in found['forwarding']] == [('legacy', True)]

    def test_no_drop_policy_nothing_to_say(self):
        assert detected(nftables_mode(''))['forwarding'] == []
