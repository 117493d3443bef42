# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info with `reachability_forwarded`: addresses and ports asked about besides the
published ports and the containers' addresses, as packets the host forwards (the lab's oracle asks
its probes' destinations this way). The same commands as `reachability: true`; on Docker 28.5's
capture after `docker run -d -p 8080:80`, with the host of test_docker_firewall_info_reachability.py
(eth0 192.0.2.10/24 and 2001:db8::10/64, docker0 172.18.0.1/16). Expected values written by hand."""

import json

from fake_runner import Call
from plugins.modules.test_docker_firewall_info import commands
from plugins.modules.test_docker_firewall_info_reachability import DOCKER28_V4, DOCKER28_V6, IP_ADDR, LINKS, WEB
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info
from plugins.modules.test_docker_firewall_info_reachability import host  # noqa: F401 pylint: disable=unused-import

TARGETS = [dict(address='192.0.2.99', port=443), dict(address='2001:db8::99', port=443, protocol='tcp'),
           dict(address='192.0.2.10', port=22), dict(address='172.18.0.2', port=81)]


def run(run_module, tmp_path, targets, table):
    path = tmp_path / 'daemon.json'
    path.write_text(json.dumps({'userland-proxy': False}))
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path), reachability_forwarded=targets), table)
    return result, [argv for argv, _data, _binary_data, _environ in ran.ran]


def test_forwarded_targets_are_answered_per_family_and_imply_reachability(run_module, tmp_path):
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, stdout=json.dumps(LINKS))]
    result, ran = run(run_module, tmp_path, TARGETS, table)
    assert 'failed' not in result and result['changed'] is False
    assert ran == [c.argv for c in commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB])] + [IP_ADDR]
    v4 = result['reachability']['families']['ipv4']['forwarded']
    assert [(f['target'], f['local']) for f in v4] == [
        (dict(address='192.0.2.99', port=443, protocol='tcp'), False),
        (dict(address='192.0.2.10', port=22, protocol='tcp'), True),
        (dict(address='172.18.0.2', port=81, protocol='tcp'), False)]
    # Routed from eth0 to a neighbour on eth0: through Docker's chains, none of which is about it, to
    # FORWARD's policy ACCEPT (this capture's).
    assert [(s['interface'], s['verdict'], s['to'], [step['rule'] for step in s['path']]) for s in v4[0]['slices']
            if s['interface'] == 'eth0'] == [
        ('eth0', 'reachable', 'target', ['-P PREROUTING ACCEPT', '-P PREROUTING ACCEPT', '-A FORWARD -j DOCKER-USER',
                                         '-A FORWARD -j DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-CT',
                                         '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
                                         '-A DOCKER-FORWARD -j DOCKER-BRIDGE', '-P FORWARD ACCEPT'])]
    assert v4[1]['slices'] == []
    # A container port nothing publishes: Docker 28's raw drop from every interface but the bridge.
    assert set((s['verdict'], (s['reason'] or {}).get('rule')) for s in v4[2]['slices'] if s['interface'] != 'docker0') == set(
        [('unreachable', '-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP')])
    [v6] = result['reachability']['families']['ipv6']['forwarded']
    assert v6['target'] == dict(address='2001:db8::99', port=443, protocol='tcp') and v6['local'] is False
    assert set(s['verdict'] for s in v6['slices']) == set(['reachable'])


def test_without_forwarded_targets_the_answer_has_no_forwarded_key(run_module, tmp_path):
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, stdout=json.dumps(LINKS))]
    path = tmp_path / 'daemon.json'
    path.write_text('{}')
    result, _ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path), reachability=True), table)
    assert sorted(result['reachability']['families']['ipv4']) == ['family', 'ports', 'routed']


def test_a_target_that_is_no_address_fails_before_anything_is_read(run_module, tmp_path):
    result, ran = run(run_module, tmp_path, [dict(address='wan1', port=8000)], [])
    assert result['failed'] is True and ran == []
    assert result['msg'] == "reachability_forwarded: 'wan1' is not an address"
