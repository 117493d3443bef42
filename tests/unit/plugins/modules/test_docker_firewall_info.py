# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info: only reading commands, and what it makes of real captures."""

import json

import pytest

import plugins.modules.conftest as modules_conftest
from captures import capture
from fake_runner import Call, Tool
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _firewall_info as firewall_info_module
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

READ_ONLY = ('--version', 'info', 'ps', 'inspect', 'list', 'network ls', 'network inspect')
NETWORK_LS = ['/usr/sbin/docker', 'network', 'ls', '--quiet', '--no-trunc']


def commands(v4, v6, version='28.5.2+dfsg4', containers=(), legacy=None, info=None, nft_tables='', networks=()):
    """The commands of a run on a host whose dockerd answers (`version`: its ServerVersion in `docker info`,
    so that `dockerd --version` never runs)."""
    info = dict(LiveRestoreEnabled=True, FirewallBackend=dict(Driver='iptables')) if info is None else info
    table = [
        Call(['/usr/sbin/docker', 'info', '--format', '{{json .}}'], stdout=json.dumps(dict(info, ServerVersion=version))
             + '\n'),
        Call(['/usr/sbin/docker', 'ps', '--quiet', '--no-trunc'],
             stdout=''.join('%064d\n' % n for n in range(len(containers)))),
    ]
    if containers:
        table.append(Call(['/usr/sbin/docker', 'inspect'] + ['%064d' % n for n in range(len(containers))],
                          stdout=json.dumps(list(containers))))
    table.append(Call(NETWORK_LS, stdout=''.join(n['Id'] + '\n' for n in networks)))
    if networks:
        table.append(Call(['/usr/sbin/docker', 'network', 'inspect'] + [n['Id'] for n in networks],
                          stdout=json.dumps(list(networks), indent=4) + '\n'))
    table += [Tool(['/usr/sbin/iptables-nft-save'], stdout=v4), Tool(['/usr/sbin/ip6tables-nft-save'], stdout=v6)]
    if legacy is not None:
        table += [Tool(['/usr/sbin/iptables-legacy-save'], stdout=legacy),
                  Tool(['/usr/sbin/ip6tables-legacy-save'], stdout='')]
    table.append(Tool(['/usr/sbin/nft', 'list', 'tables'], stdout=nft_tables))
    return table


DOCKER_PS_STOPPED = ['/usr/sbin/docker', 'ps', '--all', '--filter', 'status=created', '--filter', 'status=exited',
                     '--quiet', '--no-trunc']


def stopped_calls(containers):
    """The last commands of a run where a container publishing a port twice cannot start again (Docker 29
    on its nftables backend): `docker ps` of the stopped containers, and their `docker inspect`."""
    ids = ['%064x' % (0xdead + n) for n in range(len(containers))]
    calls = [Call(DOCKER_PS_STOPPED, stdout=''.join(i + '\n' for i in ids))]
    if containers:
        calls.append(Call(['/usr/sbin/docker', 'inspect'] + ids, stdout=json.dumps(list(containers))))
    return calls


def run(run_module, tmp_path, table, settings=None, legacy_tables=False, stopped=None):
    """docker_firewall_info's result on `table`; `stopped`: the stopped containers it reads last (a list,
    where Docker 29 on its nftables backend is found), None where it reads none."""
    path = tmp_path / 'daemon.json'
    if settings is not None:
        path.write_text(json.dumps(settings))
    if stopped is not None:
        table = table + stopped_calls(stopped)
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path)), table,
                             legacy_tables=legacy_tables)
    for argv, data, _binary_data, _environ in ran.ran:
        assert data is None and (argv[0].endswith('-save') or argv[1] in READ_ONLY
                                 or ' '.join(argv[1:3]) in READ_ONLY), argv
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
    result = run(run_module, tmp_path, commands(kube_v4, '', version='20.10.24+dfsg1',
                                                containers=[lost]),
                 settings={'iptables': False, 'bridge': 'none'})
    assert result['docker']['manages_iptables'] is False and result['docker']['manages_ip6tables'] is False
    assert result['docker_backend'] is None
    assert result['iptables']['nft']['ipv4']['kube_chains'] == ['KUBE-SERVICES']
    assert result['iptables']['nft']['ipv4']['docker_rules'] == []
    assert result['containers'] == [{'name': 'web', 'network': 'default', 'addresses': {}, 'ports': '8080/tcp->80',
                                     'standalone': True, 'ports_published_twice': []}]
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


def test_docker_29_on_its_nftables_backend(run_module, tmp_path):
    info = dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver='nftables'))
    # What an earlier iptables run leaves until the next reboot: the DROP policy and the jump.
    leftover = '*filter\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n'
    ours = capture('docker29', 'our-table-listed.nft')
    table = commands(leftover, '', version='29.7.2', info=info,
                     nft_tables='table ip docker-bridges\ntable ip6 docker-bridges\ntable inet netops-docker-firewall\n')
    table.append(Tool(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], stdout=ours))
    result = run(run_module, tmp_path, table, settings={'firewall-backend': 'nftables'}, stopped=[])
    assert result['docker']['firewall_backend'] == 'nftables' and result['docker']['live_restore'] is False
    assert result['stopped_published_twice'] == []
    assert result['nftables']['tables'] == ['ip docker-bridges', 'ip6 docker-bridges', 'inet netops-docker-firewall']
    assert result['nftables']['ours'] == {'text': ours, 'blocks': ['allowlist:eth0.100', 'allowlist:ext0', 'allowlist:wg+'],
                                          'error': None}
    assert result['iptables']['nft']['ipv4']['forward_policy'] == 'DROP'


def test_docker_before_28_1_reports_no_firewall_backend(run_module, tmp_path):
    result = run(run_module, tmp_path, commands(capture('bookworm', 'q2-published-default.iptables-save'), '',
                                                version='20.10.24+dfsg1',
                                                info=dict(LiveRestoreEnabled=True)))
    assert result['docker']['firewall_backend'] is None and result['docker']['live_restore'] is True


DOCKER26 = capture('trixie', 'q2-published-default.iptables-save')


@pytest.mark.parametrize('forward, jump, in_force, accepting', [
    # As Docker writes it.
    (None, 1, True, []),
    # firewalld reloads: Docker puts its isolation jump back above DOCKER-USER; that chain only drops.
    (['-A FORWARD -j DOCKER-ISOLATION-STAGE-1', '-A FORWARD -j DOCKER-USER'], 2, True, []),
    # A rule that accepts before the jump: the allowlist never sees what it accepts.
    (['-A FORWARD -o docker0 -j DOCKER', '-A FORWARD -j DOCKER-USER'], 2, False, ['-A FORWARD -o docker0 -j DOCKER']),
    (['-A FORWARD -i ext0 -j ACCEPT', '-A FORWARD -j DOCKER-USER'], 2, False, ['-A FORWARD -i ext0 -j ACCEPT']),
    # Fail-open: the chain exists and nothing jumps to it.
    (['-A FORWARD -j DOCKER-ISOLATION-STAGE-1'], None, False, []),
    # A target that hands the packet on (MSS clamping on a router) accepts nothing.
    (['-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu', '-A FORWARD -j DOCKER-USER'],
     2, True, []),
])
def test_whether_docker_user_is_in_force(run_module, tmp_path, forward, jump, in_force, accepting):
    text = DOCKER26
    if forward is not None:
        lines = [line for line in text.splitlines() if not line.startswith('-A FORWARD -j DOCKER-USER')
                 and not line.startswith('-A FORWARD -j DOCKER-ISOLATION-STAGE-1')]
        at = next(i for i, line in enumerate(lines) if line.startswith('-A FORWARD '))
        text = '\n'.join(lines[:at] + forward + lines[at:]) + '\n'
    ipv4 = run(run_module, tmp_path, commands(text, ''))['iptables']['nft']['ipv4']
    assert (ipv4['docker_user_jump'], ipv4['docker_user_in_force'], ipv4['accepting_before_docker_user']) \
        == (jump, in_force, accepting)


@pytest.mark.parametrize('name, policy, jump, docker_chains', [
    ('q2-published-default', 'DROP', 1, True),
    ('q4a-after-restart', 'DROP', 1, True),
    # Switched to nftables: iptables keeps the DROP policy and a jump to an empty DOCKER-USER.
    ('n1-switched-fwd0', 'DROP', 1, False),
    ('n3-switched-after-reboot', None, None, False),
])
def test_docker_29_captures(run_module, tmp_path, name, policy, jump, docker_chains):
    v4 = capture('docker29', name + '.iptables-save')
    backend = capture('docker29', name + '.docker-info')
    info = dict(LiveRestoreEnabled=False, FirewallBackend=json.loads(backend))
    result = run(run_module, tmp_path, commands(v4, capture('docker29', name + '.ip6tables-save'),
                                                version='29.7.2', info=info),
                 stopped=[] if name.startswith('n') else None)
    ipv4 = (result['iptables'].get('nft') or {}).get('ipv4') or {}
    assert ipv4.get('forward_policy') == policy and ipv4.get('docker_user_jump') == jump
    assert bool(ipv4.get('docker_chains')) == docker_chains
    assert result['docker']['firewall_backend'] == ('nftables' if name.startswith('n') else 'iptables')


def test_a_return_above_the_jump_accepts_when_the_forward_policy_does(run_module, tmp_path):
    text = DOCKER26.replace(':FORWARD ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]').replace(
        '-A FORWARD -j DOCKER-USER\n', '-A FORWARD -i wg0 -j RETURN\n-A FORWARD -j DOCKER-USER\n')
    ipv4 = run(run_module, tmp_path, commands(text, ''))['iptables']['nft']['ipv4']
    assert ipv4['accepting_before_docker_user'] == ['-A FORWARD -i wg0 -j RETURN']
    dropping = text.replace(':FORWARD ACCEPT [0:0]', ':FORWARD DROP [0:0]')
    assert run(run_module, tmp_path, commands(dropping, ''))['iptables']['nft']['ipv4']['docker_user_in_force']


def test_firewalld_suffix_is_not_part_of_the_backend(run_module, tmp_path):
    info = dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver='nftables+firewalld'))
    result = run(run_module, tmp_path, commands('', '', version='29.7.2', info=info), stopped=[])
    assert result['docker']['firewall_backend'] == 'nftables'


def test_a_failed_nft_read_is_reported_as_unreadable_not_as_no_table(run_module, tmp_path):
    table = commands(capture('sid', 'q2-published-default.iptables-save'), '')
    table[-1] = Tool(['/usr/sbin/nft', 'list', 'tables'], rc=1, stderr='Operation not permitted\n')
    result = run(run_module, tmp_path, table)
    assert result['nftables']['tables'] is None
    assert result['nftables']['ours']['error'] == 'nft list tables failed: Operation not permitted'
    assert 'nft list tables failed: Operation not permitted' in json.dumps(result['warnings'])


# --- networks: what Docker lets route to containers ----------------------------------------------

# `docker network inspect` as Docker 28 prints it (the keys the module reads; Docker prints more).
DEFAULT_BRIDGE = {'Name': 'bridge', 'Id': 'f0e1d2c3b4a5' + '0' * 52, 'Driver': 'bridge', 'Internal': False,
                  'IPAM': {'Driver': 'default', 'Options': None, 'Config': [{'Subnet': '172.17.0.0/16',
                                                                            'Gateway': '172.17.0.1'}]},
                  'Options': {'com.docker.network.bridge.default_bridge': 'true',
                              'com.docker.network.bridge.enable_icc': 'true',
                              'com.docker.network.bridge.enable_ip_masquerade': 'true',
                              'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
                              'com.docker.network.bridge.name': 'docker0',
                              'com.docker.network.driver.mtu': '1500'}}
ROUTED_V6 = {'Name': 'app', 'Id': '1a2b3c4d5e6f' + '7' * 52, 'Driver': 'bridge', 'Internal': False,
             'IPAM': {'Driver': 'default', 'Options': {}, 'Config': [{'Subnet': '172.18.0.0/16', 'Gateway': '172.18.0.1'},
                                                                     {'Subnet': '2001:db8:18::/64'}]},
             'Options': {'com.docker.network.bridge.gateway_mode_ipv6': 'routed',
                         'com.docker.network.bridge.trusted_host_interfaces': 'wg0:eth3'}}
HOST = {'Name': 'host', 'Id': '9' * 64, 'Driver': 'host', 'Internal': False, 'IPAM': {'Config': []}, 'Options': {}}


def test_networks_report_bridge_subnets_gateway_modes_and_trusted_interfaces(run_module, tmp_path):
    result = run(run_module, tmp_path, commands(capture('sid', 'q2-published-default.iptables-save'), '',
                                                networks=[DEFAULT_BRIDGE, ROUTED_V6, HOST]),
                 settings={'allow-direct-routing': True})
    assert result['networks'] == [
        {'name': 'bridge', 'id': 'f0e1d2c3b4a5', 'driver': 'bridge', 'bridge': 'docker0', 'subnets': ['172.17.0.0/16'],
         'gateway_mode': {'ipv4': 'nat', 'ipv6': 'nat'}, 'trusted_host_interfaces': [], 'internal': False},
        {'name': 'app', 'id': '1a2b3c4d5e6f', 'driver': 'bridge', 'bridge': 'br-1a2b3c4d5e6f',
         'subnets': ['172.18.0.0/16', '2001:db8:18::/64'], 'gateway_mode': {'ipv4': 'nat', 'ipv6': 'routed'},
         'trusted_host_interfaces': ['wg0', 'eth3'], 'internal': False},
        {'name': 'host', 'id': '999999999999', 'driver': 'host', 'bridge': None, 'subnets': [],
         'gateway_mode': {'ipv4': None, 'ipv6': None}, 'trusted_host_interfaces': [], 'internal': False},
    ]
    assert result['networks_error'] is None and result['docker']['allow_direct_routing'] is True


def test_a_failed_network_read_is_an_error_with_a_warning_never_no_networks(run_module, tmp_path):
    table = commands('', '')
    at = table.index(next(c for c in table if c.argv == NETWORK_LS))
    table[at] = Call(NETWORK_LS, rc=1, stderr='permission denied while trying to connect to the Docker daemon\n')
    result = run(run_module, tmp_path, table)
    assert result['networks'] is None and result['docker']['allow_direct_routing'] is False
    assert result['networks_error'] == ('docker network ls failed (rc 1): permission denied while trying to connect '
                                        'to the Docker daemon')
    assert 'the Docker networks are not reported' in json.dumps(result['warnings'])


def test_a_network_removed_between_ls_and_inspect_is_no_failure(run_module, tmp_path):
    table = commands('', '', networks=[DEFAULT_BRIDGE, ROUTED_V6])
    at = next(i for i, c in enumerate(table) if c.argv[1:3] == ['network', 'inspect'])
    table[at] = Call(table[at].argv, rc=1, stdout=json.dumps([DEFAULT_BRIDGE]),
                     stderr='Error response from daemon: network %s not found\n' % ROUTED_V6['Id'])
    result = run(run_module, tmp_path, table)
    assert [n['name'] for n in result['networks']] == ['bridge'] and result['networks_error'] is None


DOCKERD_VERSION = Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 28.5.2+dfsg4, build 1\n')


def test_without_docker_running_the_networks_are_not_known_and_the_installed_version_is_read(run_module, tmp_path):
    table = commands('', '')
    table[0] = Call(table[0].argv, rc=1, stderr='Cannot connect to the Docker daemon\n')
    del table[1:3]  # no docker ps, no docker network ls
    # No dockerd answers: the version is the installed one's, read once the docker CLI said so.
    table.insert(1, DOCKERD_VERSION)
    result = run(run_module, tmp_path, table)
    assert result['networks'] is None and result['networks_error'] == 'docker does not answer: Cannot connect to the ' \
                                                                      'Docker daemon'
    assert result['docker']['running'] is False and result['docker']['installed'] is True
    assert result['docker']['version'] == 'Docker version 28.5.2+dfsg4, build 1' and result['docker']['major'] == 28


def test_the_version_is_the_running_dockerd_s_and_dockerd_itself_is_not_run(run_module, tmp_path):
    # After an upgrade that did not restart dockerd: the running one decides what Docker writes.
    result = run(run_module, tmp_path, commands('', '', version='27.5.1'))
    assert result['docker']['version'] == 'Docker version 27.5.1' and result['docker']['major'] == 27
    assert result['docker']['installed'] is True and result['docker']['running'] is True


def test_a_docker_info_without_its_version_reads_the_installed_one(run_module, tmp_path):
    table = commands('', '')
    info = json.loads(table[0].answer[1])
    del info['ServerVersion']
    table[0] = Call(table[0].argv, stdout=json.dumps(info) + '\n')
    table.insert(3, DOCKERD_VERSION)  # after the containers and networks, before iptables
    result = run(run_module, tmp_path, table)
    assert result['docker']['version'] == 'Docker version 28.5.2+dfsg4, build 1' and result['docker']['major'] == 28


def test_reachability_is_shipped_with_the_module_but_imported_only_by_the_runs_that_ask_for_it():
    """The module imports its orchestration (_firewall_info), which imports the reachability engine in a
    function: Ansible ships it all the same, and only the runs that ask for it compile it."""
    from ansible.executor.module_common import ModuleDepFinder
    import ast
    import inspect

    def imported(module):
        return ModuleDepFinder(module.__name__, ast.parse(inspect.getsource(module))).submodules

    def ships(found, module_name):
        wanted = tuple(module_name.split('.'))
        return any(name[:len(wanted)] == wanted for name in found)

    assert ships(imported(docker_firewall_info), firewall_info_module.__name__)
    assert ships(imported(firewall_info_module), 'ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability')
    assert not [node for node in ast.parse(inspect.getsource(firewall_info_module)).body
                if isinstance(node, (ast.Import, ast.ImportFrom)) and '_reachability' in ast.dump(node)]


def test_a_container_port_published_twice_is_named(run_module, tmp_path):
    twice = {'Name': '/web', 'Config': {'Labels': {}},
             'HostConfig': {'NetworkMode': 'default', 'PortBindings': {
                 '80/tcp': [{'HostIp': '', 'HostPort': '8080'}, {'HostIp': '', 'HostPort': '8082'}],
                 '53/udp': [{'HostIp': '0.0.0.0', 'HostPort': '53'}, {'HostIp': '::', 'HostPort': '53'}],
                 '443/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '8443'}, {'HostIp': '198.51.100.17', 'HostPort': '443'}]}},
             'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2'}}}}
    result = run(run_module, tmp_path, commands('', '', containers=[twice]))
    # 53/udp once per family is no repetition; 443/tcp twice over IPv4 is.
    assert result['containers'][0]['ports_published_twice'] == ['443/tcp', '80/tcp']


# --- the decisions the roles and compliance read ---------------------------------------------------

NFT_PATH = '/usr/sbin/nft'
IPSET_PATH = '/usr/sbin/ipset'


@pytest.mark.parametrize('suite, name, version, driver, settings, decided', [
    # Docker 20.10 and 26 report no firewall backend (before 28.1): Docker's default, iptables.
    ('bookworm', 'q2-published-default', '20.10.24+dfsg1', None, {},
     dict(firewall_backend='iptables', iptables_variant='nft', backstop=True, direct_routing_dropped=False,
          published_twice_needs_proxy=False)),
    ('trixie', 'q2-published-default', '26.1.5+dfsg1', None, {},
     dict(firewall_backend='iptables', iptables_variant='nft', backstop=True, direct_routing_dropped=False,
          published_twice_needs_proxy=False)),
    ('sid', 'q2-published-default', '28.5.2+dfsg4', 'iptables', {},
     dict(firewall_backend='iptables', iptables_variant='nft', backstop=True, direct_routing_dropped=True,
          published_twice_needs_proxy=False)),
    ('docker29', 'q2-published-default', '29.7.2', 'iptables', {},
     dict(firewall_backend='iptables', iptables_variant='nft', backstop=True, direct_routing_dropped=True,
          published_twice_needs_proxy=False)),
    # On its nftables backend Docker writes no iptables rule: the first variant installed; no backstop.
    ('docker29', 'n4-nftables-usernet-published', '29.7.2', 'nftables',
     {'firewall-backend': 'nftables'},
     dict(firewall_backend='nftables', iptables_variant='nft', backstop=False, direct_routing_dropped=True,
          published_twice_needs_proxy=True)),
])
def test_the_decisions_of_each_docker_generation(run_module, tmp_path, suite, name, version, driver, settings,
                                                 decided):
    info = dict(LiveRestoreEnabled=True, FirewallBackend=dict(Driver=driver) if driver else None)
    v6 = capture(suite, name + '.ip6tables-save') if suite in ('sid', 'trixie', 'docker29') else ''
    result = run(run_module, tmp_path, commands(capture(suite, name + '.iptables-save'), v6, version=version,
                                                info=info), settings=settings,
                 stopped=[] if decided['published_twice_needs_proxy'] else None)
    found = dict(result['decisions'])
    reasons = found.pop('reasons')
    assert found == dict(decided, firewall_backend_switch=False, nft_path=NFT_PATH, ipset_path=IPSET_PATH)
    assert sorted(reasons) == sorted(found) and all(reasons.values())


def test_the_decisions_follow_the_backend_and_the_backstop_asked_for(run_module, tmp_path):
    table = commands(capture('docker29', 'q2-published-default.iptables-save'), '',
                     version='29.7.2',
                     info=dict(LiveRestoreEnabled=True, FirewallBackend=dict(Driver='iptables')))
    path = tmp_path / 'daemon.json'
    result, _ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path), firewall_backend='nftables',
                                                              backstop='never'), table + stopped_calls([]))
    decided = result['decisions']
    assert (decided['firewall_backend'], decided['firewall_backend_switch'], decided['backstop']) == (
        'nftables', True, False)
    assert decided['reasons']['firewall_backend'] == 'asked for, a switch from iptables'
    assert decided['published_twice_needs_proxy'] is True


def test_firewalld_s_suffix_and_docker_not_running_are_decided_from_what_is_known(run_module, tmp_path):
    firewalld = dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver='nftables+firewalld'))
    result = run(run_module, tmp_path, commands('', '', version='29.7.2', info=firewalld), stopped=[])
    assert result['decisions']['firewall_backend'] == 'nftables' and result['decisions']['backstop'] is False
    # dockerd does not answer: daemon.json says what it runs at its next start.
    stopped = [Call(['/usr/sbin/docker', 'info', '--format', '{{json .}}'], rc=1,
                    stderr='Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n'),
               Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 29.7.2, build 6a43e3d\n'),
               Tool(['/usr/sbin/iptables-nft-save'], stdout=''), Tool(['/usr/sbin/ip6tables-nft-save'], stdout=''),
               Tool(['/usr/sbin/nft', 'list', 'tables'], stdout='')]
    result = run(run_module, tmp_path, stopped, settings={'firewall-backend': 'nftables'})
    assert result['docker']['running'] is False and result['docker']['firewall_backend'] is None
    assert result['decisions']['firewall_backend'] == 'nftables'
    assert result['decisions']['reasons']['firewall_backend'].startswith('daemon.json names it')
    # Which stopped containers Docker could not start again is not known while it does not answer.
    assert result['decisions']['published_twice_needs_proxy'] is True and result['stopped_published_twice'] is None
    result = run(run_module, tmp_path, stopped, settings={})
    assert result['decisions']['firewall_backend'] == 'iptables' and result['decisions']['backstop'] is True


def test_a_cli_that_exits_0_with_only_server_errors_is_no_dockerd_answering(run_module, tmp_path):
    # Docker 20.10's CLI, no dockerd behind it: `docker info --format '{{json .}}'` exits 0 and its JSON holds
    # only ServerErrors. Nothing more is asked of dockerd; the version comes from `dockerd --version`.
    refused = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?'
    table = [Call(['/usr/sbin/docker', 'info', '--format', '{{json .}}'],
                  stdout=json.dumps(dict(ServerErrors=[refused], ClientInfo=dict(Debug=False))) + '\n'),
             Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 20.10.24+dfsg1, build 5d6db84\n'),
             Tool(['/usr/sbin/iptables-nft-save'], stdout=''), Tool(['/usr/sbin/ip6tables-nft-save'], stdout=''),
             Tool(['/usr/sbin/nft', 'list', 'tables'], stdout='')]
    result = run(run_module, tmp_path, table)
    assert result['docker']['running'] is False and result['docker']['version'] == 'Docker version 20.10.24+dfsg1, build 5d6db84'
    assert result['networks'] is None and result['networks_error'] == 'docker does not answer: ' + refused
    assert result['containers'] == [] and not result.get('warnings')


def test_rules_in_both_variants_are_decided_for_the_one_holding_docker_s_chains(run_module, tmp_path):
    stale = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 198.51.100.9/32 -j DROP\nCOMMIT\n'
    result = run(run_module, tmp_path, commands('', '', legacy=stale), legacy_tables=True)
    assert result['docker_backend'] is None and result['decisions']['iptables_variant'] == 'legacy'
    result = run(run_module, tmp_path, commands(capture('trixie', 'q1-fwd0-after-start.iptables-save'), '',
                                                legacy=stale), legacy_tables=True)
    assert result['decisions']['iptables_variant'] == 'nft'


def test_without_nft_the_tables_are_not_read_and_no_backstop_is_kept(run_module, tmp_path, monkeypatch):
    def bin_path(module, name, required=False, opt_dirs=None):
        return None if name == 'nft' else '/usr/sbin/' + name
    monkeypatch.setattr(modules_conftest, 'bin_path', bin_path)
    result = run(run_module, tmp_path, commands(capture('sid', 'q2-published-default.iptables-save'), '')[:-1])
    assert result['nftables'] == dict(installed=False, tables=[], ours=None)
    assert (result['decisions']['nft_path'], result['decisions']['backstop']) == (None, False)
    assert result['decisions']['reasons']['nft_path'] == 'nft is not installed (the nftables package)'


def test_the_engine_is_current_when_every_file_is_this_version_s_in_its_subpackage(tmp_path, monkeypatch):
    """engine_current reads each engine file at its path in the package layout (the subpackages'
    __init__.py first) and holds it to the source of the same file, not of a flat namesake."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
    from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
    monkeypatch.setattr(engine_files, 'ENGINE_PACKAGE_DIR', str(tmp_path))
    assert firewall_info_module.engine_current() is None
    for name in layout.ENGINE_FILES:
        path = tmp_path.joinpath(*name.split('/'))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(engine_files.engine_source(name))
    assert firewall_info_module.engine_current() is True
    changed = tmp_path.joinpath(*layout.ENGINE_FILES[-1].split('/'))
    changed.write_text(changed.read_text() + '# changed by hand\n')
    assert firewall_info_module.engine_current() is False


# --- containers Docker 29 on its nftables backend could not start again ------------------------------

NFT29_INFO = dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver='nftables'))


def container(name, bindings, restart='no'):
    return {'Name': '/' + name, 'Config': {'Labels': {}},
            'HostConfig': {'NetworkMode': 'default', 'RestartPolicy': {'Name': restart, 'MaximumRetryCount': 0},
                           'PortBindings': bindings},
            'NetworkSettings': {'Networks': {'bridge': {'IPAddress': ''}}}}


def test_stopped_containers_publishing_a_port_twice_are_named_with_their_restart_policy(run_module, tmp_path):
    twice = {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}, {'HostIp': '', 'HostPort': '8082'}]}
    once = {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}
    stopped = [container('old-web', twice, restart='always'), container('spare', once),
               container('made-not-started', twice)]
    result = run(run_module, tmp_path, commands('', '', version='29.7.2', info=NFT29_INFO), stopped=stopped)
    assert result['stopped_published_twice'] == [
        {'name': 'old-web', 'restart_policy': 'always', 'ports_published_twice': ['80/tcp']},
        {'name': 'made-not-started', 'restart_policy': 'no', 'ports_published_twice': ['80/tcp']}]


def test_stopped_containers_are_read_only_where_docker_could_not_start_them(run_module, tmp_path):
    # Docker 28, and 29 on its iptables backend, start such a container: no `docker ps --all` runs (the
    # strict runner fails on a command nobody scripted).
    for version, driver in (('28.5.2+dfsg4', 'iptables'), ('29.7.2', 'iptables')):
        info = dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver=driver))
        assert run(run_module, tmp_path, commands('', '', version=version, info=info))['stopped_published_twice'] == []


def test_a_failed_read_of_the_stopped_containers_is_not_known_and_warned(run_module, tmp_path):
    table = commands('', '', version='29.7.2', info=NFT29_INFO) + [
        Call(DOCKER_PS_STOPPED, rc=1, stderr='Error response from daemon: context deadline exceeded\n')]
    result = run(run_module, tmp_path, table)
    assert result['stopped_published_twice'] is None
    assert 'the stopped containers are not reported' in json.dumps(result['warnings'])
