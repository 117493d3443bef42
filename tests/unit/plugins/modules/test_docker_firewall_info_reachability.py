# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info with `reachability: true`: the one command it adds (`ip -j addr show`, after
every other read), what it hands the engine (the rules, sets, tables, forwarding and userland-proxy it
read anyway) and the answer it returns, on Docker 28.5's capture after `docker run -d -p 8080:80`.
Expected values are written by hand from the capture's rules."""

import json

import pytest

from captures import fixture
from fake_runner import Call, Tool
from plugins.modules.test_docker_firewall_info import DOCKER_PS_STOPPED, capture, commands, stopped_calls
from plugins.modules.test_docker_firewall_info_ipsets import with_docker_user
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewall_info_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import DockerError, parse_addresses
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import published
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability_verdict import predict
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

IP_ADDR = ['/usr/sbin/ip', '-j', 'addr', 'show']
NFT_RULESET = ['/usr/sbin/nft', 'list', 'ruleset']
DOCKER28_V4 = capture('sid', 'q2-published-default.iptables-save')
DOCKER28_V6 = capture('sid', 'q2-published-default.ip6tables-save')
# `ip -j addr show` of the host, trimmed to what the module reads.
LINKS = [
    {'ifindex': 1, 'ifname': 'lo', 'addr_info': [{'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8},
                                                 {'family': 'inet6', 'local': '::1', 'prefixlen': 128}]},
    {'ifindex': 2, 'ifname': 'eth0', 'addr_info': [{'family': 'inet', 'local': '192.0.2.10', 'prefixlen': 24},
                                                   {'family': 'inet6', 'local': '2001:db8::10', 'prefixlen': 64}]},
    {'ifindex': 3, 'ifname': 'docker0', 'addr_info': [{'family': 'inet', 'local': '172.18.0.1', 'prefixlen': 16}]},
    {'ifindex': 5, 'ifname': 'veth1', 'addr_info': []},
]
WEB = {'Name': '/web', 'Config': {'Labels': {}},
       'HostConfig': {'NetworkMode': 'default', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
       'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.18.0.2', 'GlobalIPv6Address': ''}}}}
ALLOWLIST = allowlist_block('eth0', ['198.51.100.18', '198.51.100.32/28'])
TAG = '-m comment --comment "netops.docker_firewall/allowlist:eth0"'
WEB_8080 = dict(container='web', family='ipv4', address='172.18.0.2', host_ip=None, host_port='8080',
                container_port='80', protocol='tcp')


@pytest.fixture(autouse=True)
def host(monkeypatch, tmp_path):
    """An empty state directory, and forwarding on in both families (not this machine's /proc)."""
    directory = tmp_path / 'state'
    directory.mkdir()
    monkeypatch.setattr(layout, 'STATE_DIR', str(directory))
    monkeypatch.setattr(_firewall_info_host, 'read_flag', lambda path: True)


def run(run_module, tmp_path, table, reachability=True, settings=None, check_mode=False):
    path = tmp_path / 'daemon.json'
    path.write_text(json.dumps({'userland-proxy': False} if settings is None else settings))
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(path), reachability=reachability), table,
                             check_mode=check_mode)
    assert 'failed' not in result and result['changed'] is False
    assert all(data is None for _argv, data, _binary_data, _environ in ran.ran)
    return result, [argv for argv, _data, _binary_data, _environ in ran.ran]


def slices_of(answer, interface):
    return [(s['sources'], s['verdict'], s['to']) for s in answer['slices'] if s['interface'] == interface]


def test_without_the_option_nothing_more_is_read_or_returned(run_module, tmp_path):
    result, ran = run(run_module, tmp_path, commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]), reachability=False)
    assert IP_ADDR not in ran
    assert result['reachability'] is None and result['reachability_seconds'] is None


@pytest.mark.parametrize('check_mode', [False, True])
def test_the_allowlist_lets_on_only_its_sources_and_the_answer_names_the_rules(run_module, tmp_path, check_mode):
    v4 = with_docker_user(DOCKER28_V4, ALLOWLIST.rules['ipv4'])
    table = commands(v4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, stdout=json.dumps(LINKS))]
    result, ran = run(run_module, tmp_path, table, check_mode=check_mode)
    # The commands of the run without the option, then ip, once; no ipset (no set matched), no nft table listed.
    assert ran == [c.argv for c in commands(v4, DOCKER28_V6, containers=[WEB])] + [IP_ADDR]
    found = result['reachability']
    assert found['backend'] == 'nft' and found['left_out'] == [] and found['errors'] == []
    assert sorted(found['families']) == ['ipv4', 'ipv6']
    assert isinstance(result['reachability_seconds'], float) and result['reachability_seconds'] >= 0
    [port] = found['families']['ipv4']['ports']
    assert port['port'] == WEB_8080
    assert [(s['verdict'], s['to']) for s in port['slices'] if s['interface'] == 'eth0'] == [
        ('reachable', 'container'), ('reachable', 'container'), ('unreachable', None)]
    assert slices_of(port, 'eth0')[:2] == [(['198.51.100.18/32'], 'reachable', 'container'),
                                           (['198.51.100.32/28'], 'reachable', 'container')]
    dropped = [s for s in port['slices'] if s['interface'] == 'eth0' and s['verdict'] == 'unreachable']
    assert [s['source_ranges'] for s in dropped] == [
        ['0.0.0.0-198.51.100.17', '198.51.100.19-198.51.100.31', '198.51.100.48-255.255.255.255']]
    assert dropped[0]['reason'] == dict(why='dropped', table='filter', chain='DOCKER-USER',
                                        rule='-A DOCKER-USER -i eth0 %s -j DROP' % TAG)
    # veth1 and any other interface: not the allowlist's business.
    assert slices_of(port, 'veth1') == slices_of(port, '+') == [(['0.0.0.0/0'], 'reachable', 'container')]
    # Routed straight to the container's address: Docker 28's raw drop, from every interface but its bridge.
    [routed] = found['families']['ipv4']['routed']
    assert routed['target'] == dict(container='web', family='ipv4', address='172.18.0.2', port='80', protocol='tcp')
    assert [(s['interface'], s['verdict'], (s['reason'] or {}).get('rule')) for s in routed['slices']] == [
        ('docker0', 'reachable', None),
        ('eth0', 'unreachable', '-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP'),
        ('veth1', 'unreachable', '-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP'),
        ('+', 'unreachable', '-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP')]
    # IPv4-only container and no docker-proxy: nothing published in IPv6.
    assert found['families']['ipv6'] == dict(family='ipv6', ports=[], routed=[])


def test_docker_proxy_serves_ipv6_clients_of_the_ipv4_only_container(run_module, tmp_path):
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, stdout=json.dumps(LINKS))]
    result, _ran = run(run_module, tmp_path, table, settings={})
    [port] = result['reachability']['families']['ipv6']['ports']
    assert port['port'] == dict(WEB_8080, family='ipv6', address=None)
    assert [(s['interface'], s['destinations'], s['sources'], s['verdict'], s['to']) for s in port['slices']] == [
        (name, ['2001:db8::10'], ['::/0'], 'reachable', 'host') for name in ('docker0', 'eth0', 'veth1', '+')]


def test_where_the_ruleset_cannot_be_read_our_table_is_left_out_and_docker_s_tables_make_every_verdict_unknown(
        run_module, tmp_path):
    ours = capture('docker29', 'our-table-listed.nft')
    tables = 'table ip docker-bridges\ntable inet netops-docker-firewall\n'
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB], nft_tables=tables) + [
        Tool(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], stdout=ours),
        Tool(NFT_RULESET, rc=1, stderr='Error: denied\n'),
        Call(IP_ADDR, stdout=json.dumps(LINKS))]
    result, _ran = run(run_module, tmp_path, table)
    found = result['reachability']
    assert found['left_out'] == ['inet netops-docker-firewall'] and found['nftables_modelled'] is False
    assert found['errors'] == ['listing the nftables ruleset failed: Error: denied']
    [port] = found['families']['ipv4']['ports']
    # A table not read may DNAT as well as drop: no verdict is known, the bridge's (no docker-proxy
    # listens there, by the iptables rules alone) included.
    assert [(s['interface'], s['verdict']) for s in port['slices']] == [
        ('docker0', 'unknown'), ('eth0', 'unknown'), ('veth1', 'unknown'), ('+', 'unknown')]
    assert port['slices'][1]['reason'] == {
        'why': 'nftables tables beside the iptables rules are not modelled: ip docker-bridges'}


def test_docker_29_s_nftables_backend_and_our_table_are_walked_from_the_ruleset(run_module, tmp_path):
    """Docker 29.7 on its nftables backend (capture n4: no iptables rule, `ip docker-bridges`), the
    collection's table beside it (allowlist of ext0: 198.51.100.0/28, .18, .40-.50; ports 8080, 9000-9010)."""
    ours = capture('docker29', 'our-table-listed.nft')
    ruleset = capture('docker29', 'n4-nftables-usernet-published.nft-ruleset') + ours
    tables = 'table ip docker-bridges\ntable ip6 docker-bridges\ntable inet netops-docker-firewall\n'
    web = {'Name': '/web', 'Config': {'Labels': {}},
           'HostConfig': {'NetworkMode': 'default', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
           'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2', 'GlobalIPv6Address': ''}}}}
    links = [dict(LINKS[0]), {'ifindex': 2, 'ifname': 'ext0', 'addr_info': [
        {'family': 'inet', 'local': '192.0.2.10', 'prefixlen': 24}]},
        {'ifindex': 3, 'ifname': 'docker0', 'addr_info': [{'family': 'inet', 'local': '172.17.0.1', 'prefixlen': 16}]}]
    table = commands('', '', version='29.1.0', containers=[web], nft_tables=tables,
                     info=dict(LiveRestoreEnabled=False, FirewallBackend=dict(Driver='nftables'))) + [
        Tool(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'], stdout=ours),
        Tool(NFT_RULESET, stdout=ruleset),
        Call(IP_ADDR, stdout=json.dumps(links))] + stopped_calls([])
    result, ran = run(run_module, tmp_path, table)
    assert ran[-3:] == [NFT_RULESET, IP_ADDR, DOCKER_PS_STOPPED]
    found = result['reachability']
    assert found['left_out'] == [] and found['nftables_modelled'] is True and found['errors'] == []
    assert found['families']['ipv4']['nftables'] == dict(walked=['ip docker-bridges', 'inet netops-docker-firewall'],
                                                         not_modelled=[])
    [port] = found['families']['ipv4']['ports']
    # On ext0 only the allowlist's sources reach the container; the rest is dropped by our table.
    reached = [s['source_ranges'] for s in port['slices'] if s['interface'] == 'ext0' and s['verdict'] == 'reachable']
    assert reached == [['198.51.100.0-198.51.100.15', '198.51.100.18-198.51.100.18', '198.51.100.40-198.51.100.50']]
    dropped = [s for s in port['slices'] if s['interface'] == 'ext0' and s['verdict'] == 'unreachable']
    assert [s['reason']['rule'] for s in dropped] == [
        'meta l4proto tcp ct original proto-dst { 8080, 9000-9010 } drop']


def test_rules_in_the_other_variant_make_reachable_unknown(run_module, tmp_path):
    stale = '*filter\n:FORWARD ACCEPT [0:0]\n-A FORWARD -s 198.51.100.9/32 -j DROP\nCOMMIT\n'
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB], legacy=stale) + [
        Call(IP_ADDR, stdout=json.dumps(LINKS))]
    path = tmp_path / 'daemon.json'
    path.write_text('{"userland-proxy": false}')
    result, _table = run_module(docker_firewall_info.main, dict(daemon_json=str(path), reachability=True), table,
                                legacy_tables=True)
    [port] = result['reachability']['families']['ipv4']['ports']
    assert slices_of(port, 'eth0') == [(['0.0.0.0/0'], 'unknown', None)]
    assert port['slices'][1]['reason'] == {'why': 'rules beside these are not modelled: iptables-legacy'}


def test_a_failed_ip_is_an_error_in_the_answer_not_no_address(run_module, tmp_path):
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, rc=1, stderr='denied\n')]
    result, _ran = run(run_module, tmp_path, table)
    assert result['reachability']['errors'] == ['ip -j addr show failed (rc 1): denied']


def test_parse_addresses():
    assert parse_addresses(json.dumps(LINKS)) == (['lo', 'eth0', 'docker0', 'veth1'], {
        'lo': ['127.0.0.1/8', '::1/128'], 'eth0': ['192.0.2.10/24', '2001:db8::10/64'], 'docker0': ['172.18.0.1/16'],
        'veth1': []})
    with pytest.raises(DockerError, match='no list of interfaces'):
        parse_addresses('{"ifname": "eth0"}')


def test_published_bindings_and_routed_targets():
    dual = {'Name': '/dns', 'HostConfig': {'PortBindings': {
        '53/udp': [{'HostIp': '192.0.2.10', 'HostPort': '53'}], '53/tcp': [{'HostIp': '', 'HostPort': '53'}]}},
        'NetworkSettings': {'Networks': {'lan': {'IPAddress': '172.20.0.5', 'GlobalIPv6Address': 'fd00::5'}}}}
    found, routed = published([WEB, dual], userland_proxy=True)
    assert found == [
        WEB_8080, dict(WEB_8080, family='ipv6', address=None),
        dict(container='dns', family='ipv4', address='172.20.0.5', host_ip=None, host_port='53', container_port='53',
             protocol='tcp'),
        dict(container='dns', family='ipv6', address='fd00::5', host_ip=None, host_port='53', container_port='53',
             protocol='tcp'),
        dict(container='dns', family='ipv4', address='172.20.0.5', host_ip='192.0.2.10', host_port='53',
             container_port='53', protocol='udp')]
    assert routed == [
        dict(container='web', family='ipv4', address='172.18.0.2', port='80', protocol='tcp'),
        dict(container='dns', family='ipv4', address='172.20.0.5', port='53', protocol='tcp'),
        dict(container='dns', family='ipv4', address='172.20.0.5', port='53', protocol='udp'),
        dict(container='dns', family='ipv6', address='fd00::5', port='53', protocol='tcp'),
        dict(container='dns', family='ipv6', address='fd00::5', port='53', protocol='udp')]
    assert published([WEB], userland_proxy=False)[0] == [WEB_8080]


IP_RULE6 = ['/usr/sbin/ip', '-j', '-6', 'rule', 'show']
IP_ROUTE6 = ['/usr/sbin/ip', '-j', '-6', 'route', 'show', 'table', 'all']


def firewalld_router(ip_rules, ip_routes):
    """The lab's firewalld router (capture f1's listing, its IPv6 rules written by hand from it, the router's
    IPv6 routes written by hand from labnet.sh) with lab-web6 on lab6: the commands, the IPv6 reads last."""
    ruleset = capture('sid', 'f1-router-firewalld-nftables.nft-ruleset')
    tables = ''.join(line.split(' {')[0] + '\n' for line in ruleset.splitlines() if line.startswith('table '))
    web6 = {'Name': '/lab-web6', 'Config': {'Labels': {}},
            'HostConfig': {'NetworkMode': 'lab6', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}},
            'NetworkSettings': {'Networks': {'lab6': {'IPAddress': '', 'GlobalIPv6Address': '2001:db8:3::2'}}}}
    links = [dict(LINKS[0]),
             {'ifindex': 2, 'ifname': 'ext0', 'addr_info': [{'family': 'inet6', 'local': '2001:db8:2::1', 'prefixlen': 64}]},
             {'ifindex': 3, 'ifname': 'vpn0', 'addr_info': [{'family': 'inet6', 'local': '2001:db8:4::1', 'prefixlen': 64}]},
             {'ifindex': 4, 'ifname': 'int0', 'addr_info': [{'family': 'inet6', 'local': '2001:db8:1::1', 'prefixlen': 64}]},
             {'ifindex': 5, 'ifname': 'br-5c2d9e7a41f0',
              'addr_info': [{'family': 'inet6', 'local': '2001:db8:3::1', 'prefixlen': 64}]}]
    return commands(capture('sid', 'f1-router-firewalld-nftables.iptables-save'),
                    fixture('routing', 'lab-router-f1.ip6tables-save.txt'), containers=[web6], nft_tables=tables) + [
        Tool(['/usr/sbin/nft', 'list', 'table', 'inet', 'netops-docker-firewall'],
             stdout=ruleset[ruleset.index('table inet netops-docker-firewall'):ruleset.index('table inet firewalld')]),
        Tool(NFT_RULESET, stdout=ruleset),
        Call(IP_ADDR, stdout=json.dumps(links)), ip_rules, ip_routes]


def test_beside_firewalld_s_reverse_path_check_the_ipv6_rules_and_routes_are_read_and_the_answer_is_definite(
        run_module, tmp_path):
    table = firewalld_router(Call(IP_RULE6, stdout=fixture('routing', 'lab-router.ip-6-rule.json')),
                             Call(IP_ROUTE6, stdout=fixture('routing', 'lab-router.ip-6-route.json')))
    result, ran = run(run_module, tmp_path, table)
    assert ran[-4:] == [NFT_RULESET, IP_ADDR, IP_RULE6, IP_ROUTE6]
    found = result['reachability']
    assert found['errors'] == [] and found['routing_read'] == ['ipv6']
    [routed] = found['families']['ipv6']['routed']
    assert routed['target']['address'] == '2001:db8:3::2'
    # vpn1 passes the check (its subnet is vpn0's); firewalld, no zone for vpn0 in f1, rejects it after the backstop.
    vpn0 = [(s['source_ranges'], s['verdict'], s['reason']['chain']) for s in routed['slices'] if s['interface'] == 'vpn0']
    assert ('unknown' not in [verdict for _sources, verdict, _chain in vpn0]
            and (['2001:db8:4::34-2001:db8:4::34'], 'unreachable', 'filter_FORWARD_POLICIES') in vpn0)
    # A source of the LAN arriving on ext0 leaves by int0: dropped by firewalld's check.
    found = predict(found, dict(interface='ext0', source='2001:db8:1::2', destination='2001:db8:3::2', port=80))
    assert (found['verdict'], found['reason']['rule']) == (
        'unreachable', 'meta nfproto ipv6 fib saddr . mark . iif oif missing drop')


def test_a_failed_read_of_the_routes_is_an_error_and_the_check_unknown_never_no_route(run_module, tmp_path):
    table = firewalld_router(Call(IP_RULE6, rc=1, stderr='denied\n'), None)[:-1]
    result, ran = run(run_module, tmp_path, table)
    assert ran[-2:] == [IP_ADDR, IP_RULE6]
    found = result['reachability']
    assert found['errors'] == ['the ipv6 routes cannot be read: ip -j -6 rule show failed (rc 1): denied']
    assert found['routing_read'] == []
    [routed] = found['families']['ipv6']['routed']
    assert {s['verdict'] for s in routed['slices'] if s['interface'] == 'ext0'} == {'unknown'}


def test_without_a_reverse_path_lookup_in_the_ruleset_no_route_is_read(run_module, tmp_path):
    """Docker 29's nftables backend holds `fib saddr type local` and `fib daddr type local`, no lookup of an
    interface: the run of test_docker_29_s_nftables_backend_and_our_table_are_walked_from_the_ruleset reads
    no route; here the same on Docker 28's iptables rules, with no nftables table at all."""
    table = commands(DOCKER28_V4, DOCKER28_V6, containers=[WEB]) + [Call(IP_ADDR, stdout=json.dumps(LINKS))]
    result, ran = run(run_module, tmp_path, table)
    assert IP_RULE6 not in ran and IP_ROUTE6 not in ran
    assert result['reachability']['routing_read'] == []


def test_the_ignore_routes_with_linkdown_of_a_linkdown_route_s_device_is_read(monkeypatch):
    """Read from /proc for the devices of linkdown routes only (a name that is no file name is not read)."""
    read = []

    def read_flag(path):
        read.append(path)
        return True

    monkeypatch.setattr(_firewall_info_host, 'read_flag', read_flag)
    ip_routes = json.dumps([{'dst': '2001:db8:5::/64', 'dev': 'docker0', 'metric': 256, 'flags': ['linkdown']},
                            {'dst': '2001:db8:6::/64', 'dev': '../x', 'metric': 256, 'flags': ['linkdown']},
                            {'dst': '2001:db8:2::/64', 'dev': 'ext0', 'metric': 256, 'flags': []}])

    class Module:
        def get_bin_path(self, name):
            return '/usr/sbin/ip'

        def run_command(self, argv, environ_update=None):
            return 0, ip_routes if 'route' in argv else '[]', ''

    found = _firewall_info_host.ipv6_routing(Module())
    assert found == dict(rules='[]', routes=ip_routes, ignore_linkdown={'docker0': True})
    assert read == ['/proc/sys/net/ipv6/conf/docker0/ignore_routes_with_linkdown']
