# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info: only reading commands, and what it makes of real captures."""

import json
import os

import pytest

from conftest import FIXTURES
from plugins.modules.conftest import Command
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

READ_ONLY = ('--version', 'info', 'ps', 'inspect')


def capture(suite, name):
    with open(os.path.join(FIXTURES, 'docker-iptables', suite, name + '.txt')) as handle:
        return handle.read()


def commands(v4, v6, version='Docker version 28.5.2+dfsg4, build 1', containers=(), legacy=None):
    table = [
        Command(['/usr/sbin/dockerd', '--version'], stdout=version + '\n'),
        Command(['/usr/sbin/docker', 'info', '--format', '{{json .LiveRestoreEnabled}}'], stdout='true\n'),
        Command(['/usr/sbin/docker', 'ps', '--quiet', '--no-trunc'],
                stdout=''.join('%064d\n' % n for n in range(len(containers)))),
    ]
    if containers:
        table.append(Command(['/usr/sbin/docker', 'inspect'] + ['%064d' % n for n in range(len(containers))],
                             stdout=json.dumps(list(containers))))
    table += [Command(['/usr/sbin/iptables-nft-save'], stdout=v4), Command(['/usr/sbin/ip6tables-nft-save'], stdout=v6)]
    if legacy is not None:
        table += [Command(['/usr/sbin/iptables-legacy-save'], stdout=legacy),
                  Command(['/usr/sbin/ip6tables-legacy-save'], stdout='')]
    return table


def run(run_module, tmp_path, table, settings=None, legacy_tables=False):
    path = tmp_path / 'daemon.json'
    if settings is not None:
        path.write_text(json.dumps(settings))
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path)), table,
                             legacy_tables=legacy_tables)
    for argv, data in ran.ran:
        assert data is None and (argv[0].endswith('-save') or argv[1] in READ_ONLY), argv
    return result


def test_docker_28_managing_iptables(run_module, tmp_path):
    result = run(run_module, tmp_path, commands(capture('sid', 'q4a-after-restart.iptables-save'),
                                                capture('sid', 'q2-published-default.ip6tables-save')))
    assert result['changed'] is False
    assert result['docker']['major'] == 28 and result['docker']['manages_iptables'] is True
    assert result['docker']['manages_ip6tables'] is True  # the default from Docker 27 on
    assert result['docker_backend'] == 'nft' and result['backends_in_use'] == ['nft']
    ipv4 = result['iptables']['nft']['ipv4']
    assert ipv4['forward_jumps'] == ['DOCKER-USER', 'DOCKER-FORWARD'] and ipv4['docker_user_first']
    assert ipv4['docker_user']['foreign'] and ipv4['docker_user']['blocks'] == []
    assert ipv4['kube_chains'] == [] and ipv4['docker_rules']
    assert result['persistence']['docker_user_unit'] in (True, False)


def test_kube_node_with_the_preset_and_a_lost_container(run_module, tmp_path):
    kube_v4 = '*nat\n:PREROUTING ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n' \
              '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\nCOMMIT\n'
    lost = {'Name': '/web', 'Config': {'Labels': {}},
            'HostConfig': {'NetworkMode': 'default', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
            'NetworkSettings': {'Networks': {'bridge': {'IPAddress': ''}}}}
    result = run(run_module, tmp_path, commands(kube_v4, '', version='Docker version 20.10.24+dfsg1, build 1',
                                                containers=[lost]),
                 settings={'iptables': False, 'bridge': 'none'})
    assert result['docker']['manages_iptables'] is False and result['docker']['manages_ip6tables'] is False
    assert result['docker_backend'] is None
    assert result['iptables']['nft']['ipv4']['kube_chains'] == ['KUBE-SERVICES']
    assert result['iptables']['nft']['ipv4']['docker_rules'] == []
    assert result['containers'] == [{'name': 'web', 'network': 'default', 'addresses': {}, 'ports': '8080/tcp->80',
                                     'standalone': True}]
    assert 'bridge: none' in result['findings'][0]['problem']


def test_rules_in_both_backends_are_reported(run_module, tmp_path):
    stale = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 198.51.100.9/32 -j DROP\nCOMMIT\n'
    result = run(run_module, tmp_path, commands(capture('trixie', 'q1-fwd0-after-start.iptables-save'), '',
                                                legacy=stale), legacy_tables=True)
    assert result['backends_in_use'] == ['legacy', 'nft'] and result['docker_backend'] == 'nft'


def test_unreadable_daemon_json_is_reported_not_fatal(run_module, tmp_path):
    path = tmp_path / 'daemon.json'
    path.write_text('{"iptables": false,')
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path)), commands('', ''))
    assert 'not valid JSON' in result['daemon_json_error'] and result['daemon_json'] == {}
    assert result['iptables'] == {} and result['docker_backend'] is None


@pytest.mark.parametrize('name', ['q2-published-default', 'q4a-after-restart', 'q4c-with-container'])
def test_docker_s_chains_hold_nothing_foreign_in_real_captures(run_module, tmp_path, name):
    result = run(run_module, tmp_path, commands(capture('bookworm', name + '.iptables-save'), ''))
    assert result['iptables']['nft']['ipv4']['foreign_in_docker_chains'] == []


def test_a_commented_rule_in_a_docker_chain_is_foreign(run_module, tmp_path):
    text = capture('bookworm', 'q2-published-default.iptables-save').replace(
        'COMMIT', '-A DOCKER -s 198.51.100.9/32 -m comment --comment "added by hand" -j DROP\nCOMMIT', 1)
    result = run(run_module, tmp_path, commands(text, ''))
    assert result['iptables']['nft']['ipv4']['foreign_in_docker_chains'] == [
        '-A DOCKER -s 198.51.100.9/32 -m comment --comment "added by hand" -j DROP']
