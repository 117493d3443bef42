# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_publish: the exact commands it issues, what it returns, how it fails."""

import json

import pytest

from fake_runner import Call, Tool
from ansible_collections.netops.docker_firewall.plugins.modules import docker_publish

DOCKER_PS = ['/usr/sbin/docker', 'ps', '--quiet', '--no-trunc']
V4_SAVE = ['/usr/sbin/iptables-nft-save']
V6_SAVE = ['/usr/sbin/ip6tables-nft-save']
V4_TEST = ['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush', '--test']
V4_RESTORE = ['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush']
KUBE_V4 = '\n'.join([
    '*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', 'COMMIT',
    '*filter', ':FORWARD ACCEPT [0:0]', 'COMMIT', ''])


def inspect(name, address, port='8081', network='lab-standalone', mode=None):
    return {
        'Name': '/' + name, 'Config': {'Labels': {}},
        'HostConfig': {'NetworkMode': mode or network,
                       'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': port}]}},
        'NetworkSettings': {'Networks': {network: {'IPAddress': address, 'GlobalIPv6Address': ''}}},
    }


def docker_commands(*containers):
    ids = ['%064d' % n for n in range(len(containers))]
    commands = [Call(DOCKER_PS, stdout='\n'.join(ids) + '\n')]
    if ids:
        commands.append(Call(['/usr/sbin/docker', 'inspect'] + ids, stdout=json.dumps(list(containers))))
    return commands


WEB = inspect('kube-web', '198.51.100.130')
# What docker_publish writes for WEB on KUBE_V4 (host port 8081 to 198.51.100.130:80): our chain in
# nat (the DNAT) and in filter (the DNATed connections and their replies), each jumped to first.
PUBLISH_WEB = (
    '*nat\n'
    ':NETOPS-DFW-PUBLISH - [0:0]\n'
    '-A NETOPS-DFW-PUBLISH -p tcp -m tcp --dport 8081 -m comment --comment "netops.docker_firewall/publish:kube-web"'
    ' -j DNAT --to-destination 198.51.100.130:80\n'
    '-I PREROUTING 1 -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH\n'
    '-I OUTPUT 1 ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish"'
    ' -j NETOPS-DFW-PUBLISH\n'
    'COMMIT\n'
    '*filter\n'
    ':NETOPS-DFW-PUBLISH - [0:0]\n'
    '-A NETOPS-DFW-PUBLISH -d 198.51.100.130/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT'
    ' -m comment --comment "netops.docker_firewall/publish:kube-web" -j ACCEPT\n'
    '-A NETOPS-DFW-PUBLISH -s 198.51.100.130/32 -p tcp -m tcp --sport 80 -m conntrack --ctstate RELATED,ESTABLISHED'
    ' -m comment --comment "netops.docker_firewall/publish:kube-web" -j ACCEPT\n'
    '-I FORWARD 1 -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH\n'
    'COMMIT\n')
# KUBE_V4 with PUBLISH_WEB written, as iptables-save prints it.
KUBE_V4_WEB = '\n'.join([
    '*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':NETOPS-DFW-PUBLISH - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH',
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH',
    '-A NETOPS-DFW-PUBLISH -p tcp -m tcp --dport 8081 -m comment --comment "netops.docker_firewall/publish:kube-web"'
    ' -j DNAT --to-destination 198.51.100.130:80',
    'COMMIT',
    '*filter', ':FORWARD ACCEPT [0:0]', ':NETOPS-DFW-PUBLISH - [0:0]',
    '-A FORWARD -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH',
    '-A NETOPS-DFW-PUBLISH -d 198.51.100.130/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT'
    ' -m comment --comment "netops.docker_firewall/publish:kube-web" -j ACCEPT',
    '-A NETOPS-DFW-PUBLISH -s 198.51.100.130/32 -p tcp -m tcp --sport 80 -m conntrack --ctstate RELATED,ESTABLISHED'
    ' -m comment --comment "netops.docker_firewall/publish:kube-web" -j ACCEPT',
    'COMMIT', ''])
# What state=absent writes on KUBE_V4_WEB: our jumps deleted, our chains flushed and removed.
UNPUBLISH = (
    '*nat\n'
    '-D PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH\n'
    '-D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish"'
    ' -j NETOPS-DFW-PUBLISH\n'
    '-F NETOPS-DFW-PUBLISH\n'
    '-X NETOPS-DFW-PUBLISH\n'
    'COMMIT\n'
    '*filter\n'
    '-D FORWARD -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH\n'
    '-F NETOPS-DFW-PUBLISH\n'
    '-X NETOPS-DFW-PUBLISH\n'
    'COMMIT\n')


def test_publishes_a_listed_container_in_one_tested_restore(run_module, tmp_path):
    commands = docker_commands(WEB) + [
        Tool(V4_SAVE, stdout=KUBE_V4),  # auto: the backend holding KUBE-*; read once
        Tool(V6_SAVE, stdout=''),
        Tool(V4_TEST, data=PUBLISH_WEB), Tool(V4_RESTORE, data=PUBLISH_WEB),
        Tool(V4_SAVE, stdout=KUBE_V4_WEB),  # read back
    ]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'none')),
                               commands, diff=True)
    assert result['changed'] and result['backend'] == 'nft' and result['waiting'] == []
    payload = table.ran[-2][1]
    assert payload == table.ran[-3][1]
    assert '-A NETOPS-DFW-PUBLISH -p tcp -m tcp --dport 8081 ' in payload
    assert '--to-destination 198.51.100.130:80' in payload
    assert 'KUBE' not in payload
    assert result['published'][0]['host_port'] == '8081'
    assert 'NETOPS-DFW-PUBLISH' in result['diff']['after'] and 'DNAT' not in result['diff']['before']


def test_converged_host_is_read_and_not_written(run_module, tmp_path):
    commands = docker_commands(WEB) + [Tool(V4_SAVE, stdout=KUBE_V4_WEB), Tool(V6_SAVE)]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands)
    assert not result['changed'] and result['commands'] == []


def test_check_mode_reports_the_new_address_and_writes_nothing(run_module, tmp_path):
    moved = inspect('kube-web', '198.51.100.131')
    commands = docker_commands(moved) + [Tool(V4_SAVE, stdout=KUBE_V4_WEB), Tool(V6_SAVE)]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands, check_mode=True)
    assert result['changed'] and result['commands'] == []
    assert any('198.51.100.131:80' in line for line in result['rules']['ipv4']['nat'])


def test_listed_container_that_does_not_run_is_waiting(run_module, tmp_path):
    commands = docker_commands() + [Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE)]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands)
    assert result['waiting'] == ['kube-web'] and not result['changed']


def test_findings_follow_daemon_json_and_are_warned(run_module, tmp_path):
    daemon_json = tmp_path / 'daemon.json'
    daemon_json.write_text(json.dumps({'iptables': False, 'bridge': 'none', 'userland-proxy': False}))
    lost = inspect('web-default', '', port='8080', network='bridge', mode='default')
    commands = docker_commands(WEB, lost) + [Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE)]
    result, table = run_module(docker_publish.main, dict(containers=[], daemon_json=str(daemon_json)), commands)
    assert [f['container'] for f in result['findings']] == ['kube-web', 'web-default']
    assert len(result['warnings']) == 2


def test_absent_removes_only_our_chains_and_jumps(run_module, tmp_path):
    commands = docker_commands(WEB) + [
        Tool(V4_SAVE, stdout=KUBE_V4_WEB), Tool(V6_SAVE), Tool(V4_TEST, data=UNPUBLISH), Tool(V4_RESTORE, data=UNPUBLISH),
        Tool(V4_SAVE, stdout=KUBE_V4)]  # read back: nothing of ours
    result, table = run_module(docker_publish.main, dict(state='absent', daemon_json=str(tmp_path / 'x')), commands)
    payload = table.ran[-2][1].splitlines()
    assert result['changed'] and '-X NETOPS-DFW-PUBLISH' in payload
    assert not any('KUBE' in line for line in payload)


def test_bad_container_name_fails_before_any_command(run_module):
    result, table = run_module(docker_publish.main, dict(containers=['kube-web', 'web;reboot']), [])
    assert result['failed'] and result['field'] == 'containers[1]' and result['value'] == 'web;reboot'
    assert 'web;reboot' in result['msg'] and table.ran == []


def test_rejected_payload_changes_nothing(run_module, tmp_path):
    commands = docker_commands(WEB) + [
        Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE), Tool(V4_TEST, rc=2, stderr='line 3 failed', data=PUBLISH_WEB)]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands)
    assert result['failed'] and 'nothing was changed' in result['msg'] and result['stderr'] == 'line 3 failed'
    assert V4_RESTORE not in [argv for argv, data, _binary_data, _environ in table.ran]


def test_a_read_back_that_differs_fails_and_reports_the_write(run_module, tmp_path):
    commands = docker_commands(WEB) + [
        Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE), Tool(V4_TEST, data=PUBLISH_WEB), Tool(V4_RESTORE, data=PUBLISH_WEB),
        Tool(V4_SAVE, stdout=KUBE_V4)]  # read back: the write is not there
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands)
    assert result['failed'] and result['changed']
    assert result['msg'] == ('ipv4: the rules read back differ from what was written (did another tool change them at '
                             'the same time?)')
    assert result['commands'] == [['/usr/sbin/iptables-nft-restore', '-w', '10', '--noflush']]


def test_a_read_back_that_cannot_be_read_fails_and_reports_the_write(run_module, tmp_path):
    commands = docker_commands(WEB) + [
        Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE), Tool(V4_TEST, data=PUBLISH_WEB), Tool(V4_RESTORE, data=PUBLISH_WEB),
        Tool(V4_SAVE, rc=4, stderr='Another app is currently holding the xtables lock.')]
    result, table = run_module(docker_publish.main, dict(containers=['kube-web'], daemon_json=str(tmp_path / 'x')),
                               commands)
    assert result['failed'] and result['changed']
    assert (result['msg'], result['cmd'], result['rc']) == (
        'reading the ipv4 rules failed; ipv4 was written before it', V4_SAVE, 4)
    assert len(result['commands']) == 1  # the one write


def test_findings_are_returned_without_warnings_on_request(run_module, tmp_path):
    daemon_json = tmp_path / 'daemon.json'
    daemon_json.write_text(json.dumps({'iptables': False, 'bridge': 'none', 'userland-proxy': False}))
    commands = docker_commands(WEB) + [Tool(V4_SAVE, stdout=KUBE_V4), Tool(V6_SAVE)]
    result, table = run_module(docker_publish.main, dict(containers=[], daemon_json=str(daemon_json), warn=False),
                               commands)
    assert [f['container'] for f in result['findings']] == ['kube-web'] and 'warnings' not in result


# --- the iptables variant: kube-proxy's, else the one the iptables command runs ----------------------

V4_LEGACY_SAVE = ['/usr/sbin/iptables-legacy-save']
LEGACY_TABLES = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'


@pytest.mark.parametrize('version, variant', [
    ('iptables v1.8.9 (legacy)\n', 'legacy'),
    ('iptables v1.8.9 (nf_tables)\n', 'nft'),
    ('iptables v1.6.1\n', 'nft'),  # it does not say: the first variant installed
])
def test_without_kube_proxy_s_chains_the_variant_of_the_iptables_command_is_written(run_module, tmp_path, version,
                                                                                    variant):
    v6_save = ['/usr/sbin/ip6tables-%s-save' % variant]
    commands = docker_commands() + [
        Tool(V4_SAVE, stdout=''), Tool(V4_LEGACY_SAVE, stdout=LEGACY_TABLES),
        Call(['/usr/sbin/iptables', '--version'], stdout=version),
        Tool(v6_save, stdout=''),
    ]
    result, _table = run_module(docker_publish.main, dict(containers=[], daemon_json=str(tmp_path / 'x')), commands,
                                legacy_tables=True)
    assert result['backend'] == variant and not result['changed']


def test_kube_proxy_s_chains_decide_without_asking_the_iptables_command(run_module, tmp_path):
    commands = docker_commands() + [
        Tool(V4_SAVE, stdout=''), Tool(V4_LEGACY_SAVE, stdout=KUBE_V4), Tool(['/usr/sbin/ip6tables-legacy-save']),
    ]
    result, _table = run_module(docker_publish.main, dict(containers=[], daemon_json=str(tmp_path / 'x')), commands,
                                legacy_tables=True)
    assert result['backend'] == 'legacy'
