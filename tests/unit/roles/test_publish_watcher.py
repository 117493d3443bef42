# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publisher watcher the docker_beside_kube_proxy role installs: it loads the engine file
it is installed next to, and writes exactly what the engine plans, only when something changed."""

import importlib.util
import json
import os
import sys

import pytest

from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils import _publish

WATCHER = os.path.join(ROOT, 'roles', 'docker_beside_kube_proxy', 'files', 'netops_docker_publish.py')
WEB = {'Name': '/kube-web', 'Config': {'Labels': {}},
       'HostConfig': {'NetworkMode': 'net', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}},
       'NetworkSettings': {'Networks': {'net': {'IPAddress': '198.51.100.130', 'GlobalIPv6Address': ''}}}}
EMPTY = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'


@pytest.fixture
def watcher(monkeypatch):
    # Installed as netops_publish.py next to the watcher: the same file as the module's engine.
    monkeypatch.setitem(sys.modules, 'netops_publish', _publish)
    spec = importlib.util.spec_from_file_location('netops_docker_publish', WATCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_host(monkeypatch, watcher, containers, saves):
    ran = []

    def run(cmd, data=None):
        ran.append((cmd, data))
        if cmd[0].endswith('-save'):
            return saves[cmd[0]]
        return ''

    monkeypatch.setattr(watcher, 'run', run)
    monkeypatch.setattr(watcher, 'running_containers', lambda: containers)
    return ran


def test_sync_writes_the_engine_s_plan_for_listed_running_containers(monkeypatch, watcher, capsys):
    ran = fake_host(monkeypatch, watcher, [WEB], {'iptables-nft-save': EMPTY, 'ip6tables-nft-save': ''})
    watcher.sync({'backend': 'nft', 'containers': ['kube-web']})
    expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[2]
    assert ran == [(['iptables-nft-save'], None), (['iptables-nft-restore', '-w', '10', '--noflush'], expected),
                   (['ip6tables-nft-save'], None)]
    assert 'kube-web 8081->198.51.100.130:80' in capsys.readouterr().out


def test_sync_of_a_converged_host_writes_nothing(monkeypatch, watcher):
    after = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[1]
    converged = EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                              % '\n'.join(after['nat'])).replace(
        ':FORWARD ACCEPT [0:0]\n', ':FORWARD ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n' % '\n'.join(after['filter']))
    ran = fake_host(monkeypatch, watcher, [WEB], {'iptables-legacy-save': converged, 'ip6tables-legacy-save': ''})
    watcher.sync({'backend': 'legacy', 'containers': ['kube-web']})
    assert [cmd for cmd, data in ran] == [['iptables-legacy-save'], ['ip6tables-legacy-save']]


def test_a_stopped_container_loses_its_rules(monkeypatch, watcher):
    after = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[1]
    published = EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                              % '\n'.join(after['nat']))
    ran = fake_host(monkeypatch, watcher, [], {'iptables-nft-save': published, 'ip6tables-nft-save': ''})
    watcher.sync({'backend': 'nft', 'containers': ['kube-web']})
    payload = ran[1][1]
    assert ran[1][0][0] == 'iptables-nft-restore' and 'DNAT' not in payload and ':NETOPS-DFW-PUBLISH - [0:0]' in payload


def test_usage(watcher, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['netops_docker_publish.py', 'publish'])
    with pytest.raises(SystemExit, match='usage'):
        watcher.main()


def test_config_written_by_the_role_is_what_the_watcher_reads(tmp_path, monkeypatch, watcher):
    config = tmp_path / 'publish.json'
    config.write_text(json.dumps({'backend': 'nft', 'containers': ['kube-web']}, indent=4) + '\n')
    seen = []
    monkeypatch.setattr(watcher, 'CONFIG', str(config))
    monkeypatch.setattr(watcher, 'sync', seen.append)
    monkeypatch.setattr(sys, 'argv', ['netops_docker_publish.py', 'sync'])
    watcher.main()
    assert seen == [{'backend': 'nft', 'containers': ['kube-web']}]
