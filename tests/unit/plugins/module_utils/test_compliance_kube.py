# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance of Kubernetes nodes in each kube-proxy mode: the checks kube_proxy (the mode seen, the
inventory's expectation, the mode's structures, ours in them), kube_forwarding (a FORWARD DROP nothing
accepts past) and no_docker_rules (Docker's leftovers), on kube-proxy's layouts and Docker's captures."""

import pytest

from captures import fixture
from plugins.module_utils.kube_node import ipvs_read, kube, node_facts, nftables_mode
from ansible_collections.netops.docker_firewall.plugins.filter.compliance import compliance_checks
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible.errors import AnsibleFilterError

KUBE = 'docker_beside_kube_proxy'
DOCKER26_LEFT = kube('leftovers/nftables-node.docker26.iptables-save.txt')


def results(facts, expected=None):
    return dict((c['id'], (c['status'], c['details'])) for c in compliance.evaluate(KUBE, facts, expected or {}))


def failed(facts, expected=None):
    return sorted(check for check, (status, _details) in results(facts, expected).items() if status == 'fail')


class TestNftablesMode:
    def test_a_right_node_passes_every_check(self):
        """Docker 26's leftovers cleared (the planner's payload written by iptables-nft-restore)."""
        facts = nftables_mode(kube('leftovers/nftables-node.docker26.cleared.iptables-save.txt'))
        assert facts['kube_proxy']['mode'] == 'nftables'
        assert failed(facts) == [] and failed(facts, {'kube_proxy_mode': 'nftables'}) == []

    def test_docker_s_leftover_forward_drop_is_a_failure_of_its_own(self):
        checks = results(nftables_mode(DOCKER26_LEFT))
        assert [c for c, (status, _d) in sorted(checks.items()) if status == 'fail'] == [
            'kube_forwarding', 'no_docker_rules']
        assert checks['kube_forwarding'][1] == [
            "nft ipv4: FORWARD DROP and no rule that accepts: kube-proxy's nftables mode adds none (its accepts are "
            'not final), so service and pod traffic the node forwards is dropped; Docker left its chains here: '
            'docker_beside_kube_proxy_clear_docker_leftovers sets the policy back to ACCEPT']
        assert checks['no_docker_rules'][1] == [
            'nft ipv4: 15 rules written by Docker, e.g. -A FORWARD -j DOCKER-USER',
            'left from when Docker managed the firewall: they stay until the next reboot, or '
            'docker_beside_kube_proxy_clear_docker_leftovers removes them now']
        assert checks['kube_proxy'] == ('pass', [])

    def test_docker_29_s_nftables_tables_are_docker_s_rules(self):
        tables = ['ip docker-bridges', 'ip6 docker-bridges', 'ip kube-proxy', 'ip6 kube-proxy']
        facts = nftables_mode(kube('leftovers/nftables-node.docker29-nftables.iptables-save.txt'), nft_tables=tables)
        assert failed(facts) == ['kube_forwarding', 'no_docker_rules']
        assert results(facts)['no_docker_rules'][1][1:3] == [
            "nftables table ip docker-bridges: Docker's nftables backend",
            "nftables table ip6 docker-bridges: Docker's nftables backend"]

    def test_a_rule_of_ours_in_table_kube_proxy(self):
        listing = kube('nftables.ip.nft-terse.txt').replace(
            'jump masquerading\n', 'jump masquerading comment "netops.docker_firewall/publish"\n')
        facts = node_facts('', nft_tables=['ip kube-proxy'], kube_tables={'ip kube-proxy': listing})
        assert results(facts)['kube_proxy'] == ('fail', [
            "a rule of ours in kube-proxy's structures: ip kube-proxy: jump masquerading comment "
            '"netops.docker_firewall/publish"'])

    def test_an_unreadable_nftables_is_a_failure_not_no_kube_proxy(self):
        facts = node_facts('', nft_tables=None)
        assert results(facts)['kube_proxy'] == ('fail', [
            "the nftables tables could not be listed: kube-proxy's nftables mode cannot be told"])


class TestIptablesAndIpvsModes:
    def test_iptables_mode_behind_docker_s_drop_passes_forwarding_but_not_no_docker_rules(self):
        facts = node_facts(kube('leftovers/iptables-node.docker26.iptables-save.txt'))
        assert failed(facts, {'kube_proxy_mode': 'iptables'}) == ['no_docker_rules']

    def test_ipvs_mode(self):
        facts = node_facts(kube('ipvs.iptables-save.txt'), ipvs=ipvs_read())
        assert failed(facts) == [] and failed(facts, {'kube_proxy_mode': 'ipvs'}) == []
        assert results(facts, {'kube_proxy_mode': 'nftables'})['kube_proxy'] == ('fail', [
            'kube-proxy runs in ipvs mode, the inventory expects nftables (docker_beside_kube_proxy_kube_proxy_mode)'])

    def test_ipvs_mode_without_its_interface(self):
        facts = node_facts(kube('ipvs.iptables-save.txt'), ipvs=dict(ipvs_read(), interface=False, addresses=[]))
        assert results(facts)['kube_proxy'] == ('fail', [
            'missing: no interface kube-ipvs0 (IPVS binds the service addresses to it)'])


class TestModeSeen:
    def test_no_kube_proxy_at_all(self):
        facts = node_facts(fixture('docker-iptables', 'trixie', 'q5b-usernet-published.iptables-save.txt'))
        assert results(facts)['kube_proxy'][1][0].startswith('no structure of kube-proxy in any mode')

    def test_two_modes(self):
        assert results(nftables_mode(kube('iptables.iptables-save.txt')))['kube_proxy'] == ('fail', [
            'structures of several modes (iptables, nftables): leftovers of an earlier mode, or two proxies'])

    def test_facts_of_an_older_docker_firewall_info(self):
        facts = nftables_mode('')
        del facts['kube_proxy']
        assert results(facts)['kube_proxy'][0] == 'fail'

    def test_an_expected_mode_that_is_none_of_them_is_a_clear_error(self):
        with pytest.raises(AnsibleFilterError, match="kube_proxy_mode 'userspace' is not one of auto, iptables, ipvs"):
            compliance_checks(nftables_mode(''), KUBE, {'kube_proxy_mode': 'userspace'})

    def test_the_router_profile_does_not_read_the_kube_proxy_mode(self):
        assert all(status == 'skip' for check, (status, _d) in results(nftables_mode('')).items()
                   if check not in compliance.PROFILE_CHECKS[KUBE])
