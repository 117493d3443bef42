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
    """saves: {save command: output, or a list of outputs returned in turn (before and after a write)}."""
    ran = []
    saves = dict((cmd, list(out) if isinstance(out, list) else [out]) for cmd, out in saves.items())

    def run(cmd, data=None):
        ran.append((cmd, data))
        if cmd[0].endswith('-save'):
            outputs = saves[cmd[0]]
            return outputs.pop(0) if len(outputs) > 1 else outputs[0]
        return ''

    monkeypatch.setattr(watcher, 'run', run)
    monkeypatch.setattr(watcher, 'running_containers', lambda: containers)
    return ran


def published_save(after):
    """EMPTY with the publisher's chains holding `after` (a plan_family result's second item)."""
    return EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                         % '\n'.join(after['nat'])).replace(
        ':FORWARD ACCEPT [0:0]\n', ':FORWARD ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n' % '\n'.join(after['filter']))


def test_sync_dry_runs_writes_the_engine_s_plan_and_reads_it_back(monkeypatch, watcher, capsys):
    before, after, expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')
    assert before['nat'] == []
    ran = fake_host(monkeypatch, watcher, [WEB], {'iptables-nft-save': [EMPTY, published_save(after)],
                                                  'ip6tables-nft-save': ''})
    watcher.sync({'backend': 'nft', 'containers': ['kube-web']})
    restore = ['iptables-nft-restore', '-w', '10', '--noflush']
    assert ran == [(['iptables-nft-save'], None), (restore + ['--test'], expected), (restore, expected),
                   (['iptables-nft-save'], None), (['ip6tables-nft-save'], None)]
    assert 'kube-web 8081->198.51.100.130:80' in capsys.readouterr().out


def test_sync_fails_when_the_read_back_differs(monkeypatch, watcher):
    fake_host(monkeypatch, watcher, [WEB], {'iptables-nft-save': EMPTY, 'ip6tables-nft-save': ''})
    with pytest.raises(RuntimeError, match='ipv4: the rules read back differ'):
        watcher.sync({'backend': 'nft', 'containers': ['kube-web']})


class Done:
    def __init__(self, returncode, stdout, stderr=''):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def inspect_answers(monkeypatch, watcher, done):
    monkeypatch.setattr(watcher, 'run', lambda cmd, data=None: 'abc\ndef\n')
    monkeypatch.setattr(watcher.subprocess, 'run', lambda *args, **kwargs: done)


def test_a_failed_docker_inspect_is_an_error_never_no_containers(monkeypatch, watcher):
    inspect_answers(monkeypatch, watcher, Done(1, '', 'Cannot connect to the Docker daemon'))
    with pytest.raises(RuntimeError, match='docker inspect failed .rc 1.: Cannot connect'):
        watcher.running_containers()


def test_a_failed_inspect_leaves_the_rules_unwritten(monkeypatch, watcher):
    ran = []
    monkeypatch.setattr(watcher, 'run', lambda cmd, data=None: ran.append(cmd) or 'abc\n')
    monkeypatch.setattr(watcher.subprocess, 'run', lambda *args, **kwargs: Done(125, '', 'error during connect'))
    with pytest.raises(RuntimeError):
        watcher.sync({'backend': 'nft', 'containers': ['kube-web']})
    assert ran == [['docker', 'ps', '--quiet', '--no-trunc']]


def test_a_container_gone_since_docker_ps_is_left_out(monkeypatch, watcher):
    inspect_answers(monkeypatch, watcher, Done(1, json.dumps([WEB]), 'Error: No such object: def'))
    assert watcher.running_containers() == [WEB]


def test_sync_of_a_converged_host_writes_nothing(monkeypatch, watcher):
    converged = published_save(_publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[1])
    ran = fake_host(monkeypatch, watcher, [WEB], {'iptables-legacy-save': converged, 'ip6tables-legacy-save': ''})
    watcher.sync({'backend': 'legacy', 'containers': ['kube-web']})
    assert [cmd for cmd, data in ran] == [['iptables-legacy-save'], ['ip6tables-legacy-save']]


def test_a_stopped_container_loses_its_rules(monkeypatch, watcher):
    after = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[1]
    published = EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                              % '\n'.join(after['nat']))
    ran = fake_host(monkeypatch, watcher, [], {'iptables-nft-save': [published, EMPTY], 'ip6tables-nft-save': ''})
    watcher.sync({'backend': 'nft', 'containers': ['kube-web']})
    payload = ran[2][1]
    assert ran[2][0] == ['iptables-nft-restore', '-w', '10', '--noflush']
    assert 'DNAT' not in payload and ':NETOPS-DFW-PUBLISH - [0:0]' in payload


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


def test_the_watcher_exits_on_a_failed_sync_and_leaves_the_rules(monkeypatch, watcher):
    class Events:
        stdout = iter(['kube-web\n'])
        killed = False

        def kill(self):
            Events.killed = True

    monkeypatch.setattr(watcher.subprocess, 'Popen', lambda *args, **kwargs: Events())

    def failing_sync(config):
        raise RuntimeError('docker inspect failed (rc 1): Cannot connect')

    monkeypatch.setattr(watcher, 'sync', failing_sync)
    with pytest.raises(SystemExit, match='Cannot connect; the published rules were left as they were'):
        watcher.watch({'backend': 'nft', 'containers': ['kube-web']})
    assert Events.killed
