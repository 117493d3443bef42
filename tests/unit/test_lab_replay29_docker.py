# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The replay platform's docker CLI answers (molecule/shared/files/replay29.py, `lab-replay29 docker`):
shaped from the two captures the platform loads, they give docker_firewall_info the containers,
published ports and networks Docker 29 had when it wrote them. The bindings and networks the
collection reads from them are written out here by hand, from the captures' DNAT and MASQUERADE rules."""

import importlib.util
import json
import os

import pytest

from conftest import ROOT

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import published
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._firewall_info_host import network_summary

CAPTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'docker-iptables', 'docker29')
WRITTEN = os.path.join(ROOT, 'molecule', 'shared', 'files', 'replay29')


def load_replay():
    spec = importlib.util.spec_from_file_location('lab_replay29', os.path.join(ROOT, 'molecule', 'shared', 'files', 'replay29.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


replay = load_replay()


def text(path):
    with open(path) as handle:
        return handle.read()


def iptables_networks():
    """What `start` parses on the iptables backend."""
    return replay.merge_networks(replay.networks_from_save(text(os.path.join(CAPTURES, 'q6-usernet-published.iptables-save.txt'))),
                                 replay.networks_from_save(text(os.path.join(WRITTEN, 'ipv6-iptables.rules'))))


def nftables_networks():
    """What `start` parses on the nftables backend (the tables as it loads them, counters reset)."""
    tables = [replay.nft_table(text(os.path.join(CAPTURES, 'n4-nftables-usernet-published.nft-ruleset.txt')), 'ip'),
              replay.nft_table(text(os.path.join(WRITTEN, 'ipv6-nftables.nft')), 'ip6')]
    return replay.merge_networks(*(replay.networks_from_nft(table) for table in tables))


def bindings_of(objects):
    return sorted((binding.as_dict() for inspect in objects['containers'] for binding in _publish.bindings(inspect)),
                  key=lambda b: (b['container'], b['family']))


def binding(container, family, address, host_port):
    return dict(container=container, family=family, address=address, host_ip=None, host_port=host_port,
                container_port='80', protocol='tcp')


# `-p 8080:80` on the default bridge (IPv4 only), `-p 8081:80` on the user network (dual-stack here).
BACKENDS = {
    'iptables': (iptables_networks, 'br-b5480e245898', [
        binding('ctr-br-b5480e245898', 'ipv4', '198.51.100.130', '8081'),
        binding('ctr-br-b5480e245898', 'ipv6', '2001:db8:3::2', '8081'),
        binding('ctr-docker0', 'ipv4', '172.17.0.2', '8080'),
    ]),
    'nftables': (nftables_networks, 'br-b3ecdfc169bc', [
        binding('ctr-br-b3ecdfc169bc', 'ipv4', '198.51.100.130', '8081'),
        binding('ctr-br-b3ecdfc169bc', 'ipv6', '2001:db8:3::2', '8081'),
        binding('ctr-docker0', 'ipv4', '172.17.0.2', '8080'),
    ]),
}


@pytest.mark.parametrize('backend', sorted(BACKENDS))
def test_the_published_ports_read_from_the_answers(backend):
    networks, _user, expected = BACKENDS[backend]
    objects = replay.docker_objects(networks(), {})
    assert bindings_of(objects) == expected
    # What `-p HOST_PORT:80` records: no host address.
    assert [inspect['HostConfig']['PortBindings'] for inspect in objects['containers']] == [
        {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}, {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}]
    # The engine's questions: these ports (no docker-proxy: daemon.json's userland-proxy is false), and
    # each container address with its published container port for routed access.
    ports, routed = published(objects['containers'], userland_proxy=False)
    assert sorted(ports, key=lambda b: (b['container'], b['family'])) == expected
    assert sorted((r['address'], r['port']) for r in routed) == [
        ('172.17.0.2', '80'), ('198.51.100.130', '80'), ('2001:db8:3::2', '80')]


@pytest.mark.parametrize('backend', sorted(BACKENDS))
def test_the_networks_read_from_the_answers(backend):
    networks, user, _expected = BACKENDS[backend]
    objects = replay.docker_objects(networks(), {user: ['vpn0'], 'ext0': ['vpn0']})
    summaries = dict((n['name'], n) for n in (network_summary(inspect) for inspect in objects['networks']))
    nat = {'ipv4': 'nat', 'ipv6': 'nat'}
    assert summaries == {
        'bridge': dict(name='bridge', id=summaries['bridge']['id'], driver='bridge', bridge='docker0',
                       subnets=['172.17.0.0/16'], gateway_mode=nat, trusted_host_interfaces=[], internal=False),
        # Docker names a user network's bridge after its id: no bridge name option.
        user: dict(name=user, id=user[3:], driver='bridge', bridge=user,
                   subnets=['198.51.100.128/26', '2001:db8:3::/64'], gateway_mode=nat,
                   trusted_host_interfaces=['vpn0'], internal=False),
        'host': dict(name='host', id=summaries['host']['id'], driver='host', bridge=None, subnets=[],
                     gateway_mode={'ipv4': None, 'ipv6': None}, trusted_host_interfaces=[], internal=False),
        'none': dict(name='none', id=summaries['none']['id'], driver='null', bridge=None, subnets=[],
                     gateway_mode={'ipv4': None, 'ipv6': None}, trusted_host_interfaces=[], internal=False),
    }
    enabled = dict((inspect['Name'], inspect['EnableIPv6']) for inspect in objects['networks'])
    assert enabled == {'bridge': False, user: True, 'host': False, 'none': False}
    gateways = [c['Gateway'] for inspect in objects['networks'] for c in inspect['IPAM']['Config']]
    assert sorted(gateways) == ['172.17.0.1', '198.51.100.129', '2001:db8:3::1']


def test_the_commands_answered():
    objects = replay.docker_objects(iptables_networks(), {})
    ids = [c['Id'] for c in objects['containers']]
    rc, out, err = replay.docker_answer(['ps', '--quiet', '--no-trunc'], objects)
    assert (rc, sorted(out.split()), err) == (0, sorted(ids), '')
    rc, out, err = replay.docker_answer(['inspect'] + out.split(), objects)
    assert (rc, err) == (0, '') and sorted(c['Id'] for c in json.loads(out)) == sorted(ids)
    rc, out, err = replay.docker_answer(['network', 'ls', '--quiet', '--no-trunc'], objects)
    assert rc == 0 and len(out.split()) == 4 and all(len(i) == 64 for i in out.split())
    rc, out, err = replay.docker_answer(['network', 'inspect'] + out.split(), objects)
    assert (rc, err) == (0, '') and sorted(n['Name'] for n in json.loads(out)) == ['br-b5480e245898', 'bridge', 'host', 'none']
    # A container gone since `docker ps`: the others printed, rc 1, "No such object" (as the docker CLI does).
    rc, out, err = replay.docker_answer(['inspect', ids[0], 'gone'], objects)
    assert (rc, [c['Id'] for c in json.loads(out)], err) == (1, ids[:1], 'Error: No such object: gone\n')
    rc, out, err = replay.docker_answer(['network', 'inspect', 'gone'], objects)
    assert (rc, json.loads(out), err) == (1, [], 'Error: No such network: gone\n')
    # docker_firewall_info asks `docker info` first; it answers without a version or firewall backend.
    rc, out, err = replay.docker_answer(['info', '--format', '{{json .}}'], objects)
    info = json.loads(out)
    assert rc == 0 and info['ContainersRunning'] == 2 and 'ServerVersion' not in info and 'FirewallBackend' not in info
    # Everything else goes to the real CLI, which finds no dockerd.
    for args in (['info', '--format', '{{.ServerVersion}}'], ['version'], ['ps', '-aq'], ['inspect', '--format', '{{.Id}}', ids[0]],
                 ['network', 'ls', '--format', '{{.Name}}'], ['run', '--rm', 'busybox'], ['restart', ids[0]], []):
        assert replay.docker_answer(args, objects) is None, args


def test_after_stop_no_container_runs():
    objects = replay.docker_objects(iptables_networks(), {}, running=False)
    assert replay.docker_answer(['ps', '--quiet', '--no-trunc'], objects) == (0, '', '')
    assert bindings_of(objects) == []
    assert [inspect['State']['Running'] for inspect in objects['containers']] == [False, False]
    assert all(inspect['Containers'] == {} for inspect in objects['networks'])


def test_the_cli(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(replay, 'DOCKER_OBJECTS', str(tmp_path / 'docker.json'))
    monkeypatch.setattr(replay, 'REPLAYED', str(tmp_path / 'replayed.json'))
    monkeypatch.setattr(replay, 'REAL_DOCKER', str(tmp_path / 'no-docker-cli'))
    # Before the replay ran (and with no docker CLI to hand the command to): no dockerd.
    assert replay.main(['lab-replay29', 'docker', 'ps', '--quiet', '--no-trunc']) == 1
    assert capsys.readouterr().err == replay.NO_DAEMON
    replay.write_docker(iptables_networks(), {}, running=True)
    assert replay.main(['lab-replay29', 'docker', 'ps', '--quiet', '--no-trunc']) == 0
    assert len(capsys.readouterr().out.split()) == 2
    assert replay.main(['lab-replay29', 'docker', 'version']) == 1
    assert capsys.readouterr().err == replay.NO_DAEMON
    replayed = json.loads(text(str(tmp_path / 'replayed.json')))
    replay.write_docker(replayed['networks'], replayed['trusted'], running=False)
    assert replay.main(['lab-replay29', 'docker', 'ps', '--quiet', '--no-trunc']) == 0
    assert capsys.readouterr().out == ''
