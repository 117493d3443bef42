# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info on Kubernetes nodes: kube-proxy's mode as the module decides and returns it
(kube_proxy), from the commands it runs in each mode, all of them read-only; Docker's leftovers per
family; and the same facts the compliance tests build (plugins/module_utils/kube_node.py)."""

import json

from fake_runner import Call, Tool
from plugins.modules.test_docker_firewall_info import commands
from plugins.module_utils import kube_node
from plugins.module_utils.kube_node import ipvs_read, kube
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

READ_ONLY = (['list', 'tables'], ['-t', 'list', 'table'], ['addr', 'show', 'dev'], ['list', '-n'], ['network', 'ls'],
             ['network', 'inspect'])
DOCKER26 = kube('leftovers/nftables-node.docker26.iptables-save.txt')
K8S = {'iptables': False, 'ip6tables': False, 'bridge': 'none'}


def read_only(argv):
    return argv[0].endswith('-save') or argv[1] in ('--version', 'info', 'ps') or any(
        argv[1:1 + len(words)] == words for words in READ_ONLY)


def run(run_module, tmp_path, table):
    path = tmp_path / 'daemon.json'
    path.write_text(json.dumps(K8S))
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path)), table)
    for argv, data, _binary_data, _environ in ran.ran:
        assert data is None and read_only(argv), argv
    return result


def nft_listings():
    return [Tool(['/usr/sbin/nft', '-t', 'list', 'table', 'ip', 'kube-proxy'], stdout=kube('nftables.ip.nft-terse.txt')),
            Tool(['/usr/sbin/nft', '-t', 'list', 'table', 'ip6', 'kube-proxy'],
                 stdout=kube('nftables.ip6.nft-terse.txt'))]


def test_nftables_mode_beside_docker_s_leftovers(run_module, tmp_path):
    table = commands(DOCKER26, '', nft_tables=kube('nftables.nft-list-tables.txt')) + nft_listings()
    result = run(run_module, tmp_path, table)
    found = result['kube_proxy']
    assert (found['mode'], found['missing'], found['ours'], found['errors']) == ('nftables', [], [], [])
    assert [(f['backend'], f['family'], f['blocked'], f['docker_left']) for f in found['forwarding']] == [
        ('nft', 'ipv4', True, True)]
    left = result['iptables']['nft']['ipv4']['docker_leftovers']
    assert (len(left['chains']), len(left['rules']), left['forward_policy']) == (5, 9, 'DROP -> ACCEPT')
    # What the compliance tests build from the same captures is what the module returns.
    assert found == kube_node.nftables_mode(DOCKER26)['kube_proxy']


def test_ipvs_mode_reads_its_interface_and_sets(run_module, tmp_path):
    names = ''.join(name + '\n' for name in ipvs_read()['sets'])
    table = commands(kube('ipvs.iptables-save.txt'), '') + [
        Call(['/usr/sbin/ip', 'addr', 'show', 'dev', 'kube-ipvs0'], stdout=kube('ipvs.ip-addr-kube-ipvs0.txt')),
        Tool(['/usr/sbin/ipset', 'list', '-n'], stdout=names)]
    found = run(run_module, tmp_path, table)['kube_proxy']
    assert (found['mode'], found['missing'], found['errors']) == ('ipvs', [], [])
    assert found['ipvs'] == ipvs_read()


def test_ipvs_chains_without_the_interface(run_module, tmp_path):
    table = commands(kube('ipvs.iptables-save.txt'), '') + [
        Call(['/usr/sbin/ip', 'addr', 'show', 'dev', 'kube-ipvs0'], rc=1,
             stderr='Device "kube-ipvs0" does not exist.\n'),
        Tool(['/usr/sbin/ipset', 'list', '-n'], rc=1, stderr='ipset v7.17: Kernel error received: Operation not permitted\n')]
    found = run(run_module, tmp_path, table)['kube_proxy']
    assert found['mode'] is None
    assert found['errors'] == ['listing the ipsets failed: ipset v7.17: Kernel error received: Operation not permitted']


def test_iptables_mode_reads_neither_nft_tables_nor_ipvs(run_module, tmp_path):
    table = commands(kube('iptables.iptables-save.txt'), kube('iptables.ip6tables-save.txt'))
    found = run(run_module, tmp_path, table)['kube_proxy']
    assert (found['mode'], found['missing'], found['forwarding']) == ('iptables', [], [])


def test_a_table_kube_proxy_that_cannot_be_listed(run_module, tmp_path):
    table = commands('', '', nft_tables='table ip kube-proxy\n') + [
        Tool(['/usr/sbin/nft', '-t', 'list', 'table', 'ip', 'kube-proxy'], rc=1, stderr='Operation not permitted\n')]
    found = run(run_module, tmp_path, table)['kube_proxy']
    assert (found['mode'], found['errors']) == (None, ['table ip kube-proxy could not be listed'])
