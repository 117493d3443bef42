# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publish engine: bindings from docker inspect, rules as iptables-save prints them, plans,
Docker's own rules, and the findings for standalone containers."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from captures import fixture, fixtures
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _publish as publish


def container(name='web', network='lab-standalone', ipv4='198.51.100.130', ipv6='', bindings=None, labels=None,
              mode=None):
    return {
        'Name': '/' + name,
        'Config': {'Labels': labels or {}},
        'HostConfig': {'NetworkMode': mode or network,
                       'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]} if bindings is None else bindings},
        'NetworkSettings': {'Networks': {network: {'IPAddress': ipv4, 'GlobalIPv6Address': ipv6}}},
    }


def save(nat=(), filter_=(), nat_chain=False, filter_chain=False):
    """A minimal save output with our chain declared and the given lines."""
    text = ['*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']
    text += [':NETOPS-DFW-PUBLISH - [0:0]'] if nat_chain else []
    text += list(nat) + ['COMMIT', '*filter', ':FORWARD ACCEPT [0:0]']
    text += [':NETOPS-DFW-PUBLISH - [0:0]'] if filter_chain else []
    return '\n'.join(text + list(filter_) + ['COMMIT', ''])


def converged_save(binding_list, family='ipv4'):
    planned = publish.plan_family(save(), binding_list, family)
    return save(planned[1]['nat'], planned[1]['filter'], nat_chain=True, filter_chain=True)


TAG_WEB = '-m comment --comment "netops.docker_firewall/publish:web"'


class TestBindings:
    def test_any_host_address_publishes_each_family_the_container_has(self):
        found = publish.bindings(container(ipv6='2001:db8:3::2'))
        assert [(b.family, b.address, b.host_ip, b.host_port, b.container_port, b.protocol) for b in found] == [
            ('ipv4', '198.51.100.130', None, '8081', '80', 'tcp'),
            ('ipv6', '2001:db8:3::2', None, '8081', '80', 'tcp'),
        ]

    def test_ipv4_only_container_publishes_ipv4_only(self):
        assert [b.family for b in publish.bindings(container())] == ['ipv4']

    @pytest.mark.parametrize('host_ip, families, specific', [
        ('0.0.0.0', ['ipv4'], None),
        ('::', ['ipv6'], None),
        ('198.51.100.17', ['ipv4'], '198.51.100.17'),
        ('2001:db8:2::17', ['ipv6'], '2001:db8:2::17'),
    ])
    def test_host_address_decides_the_family(self, host_ip, families, specific):
        found = publish.bindings(container(ipv6='2001:db8:3::2', bindings={
            '80/tcp': [{'HostIp': host_ip, 'HostPort': '8081'}]}))
        assert [b.family for b in found] == families
        assert found[0].host_ip == specific

    @pytest.mark.parametrize('host_port', ['', '8080-8090'])
    def test_port_docker_would_choose_is_left_out(self, host_port):
        assert publish.bindings(container(bindings={'80/tcp': [{'HostIp': '', 'HostPort': host_port}]})) == []

    def test_container_without_address_publishes_nothing(self):
        assert publish.bindings(container(ipv4='')) == []


class TestRules:
    def test_rules_are_written_as_iptables_save_prints_them(self):
        rules = publish.chain_rules(publish.bindings(container()), 'ipv4')
        assert rules['nat'] == [
            '-A NETOPS-DFW-PUBLISH -p tcp -m tcp --dport 8081 %s -j DNAT --to-destination 198.51.100.130:80' % TAG_WEB]
        assert rules['filter'] == [
            '-A NETOPS-DFW-PUBLISH -d 198.51.100.130/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT %s '
            '-j ACCEPT' % TAG_WEB,
            '-A NETOPS-DFW-PUBLISH -s 198.51.100.130/32 -p tcp -m tcp --sport 80 -m conntrack --ctstate '
            'RELATED,ESTABLISHED %s -j ACCEPT' % TAG_WEB,
        ]

    def test_ipv6_destination_is_bracketed_and_host_address_matched(self):
        found = publish.bindings(container(ipv6='2001:db8:3::2', bindings={
            '53/udp': [{'HostIp': '2001:db8:2::17', 'HostPort': '5353'}]}))
        rules = publish.chain_rules(found, 'ipv6')
        assert rules['nat'] == ['-A NETOPS-DFW-PUBLISH -d 2001:db8:2::17/128 -p udp -m udp --dport 5353 %s '
                                '-j DNAT --to-destination [2001:db8:3::2]:53' % TAG_WEB]
        assert publish.chain_rules(found, 'ipv4') == {'nat': [], 'filter': []}

    def test_two_host_ports_to_one_container_port_share_the_filter_rules(self):
        found = publish.bindings(container(bindings={
            '80/tcp': [{'HostIp': '', 'HostPort': '8081'}, {'HostIp': '', 'HostPort': '8082'}]}))
        rules = publish.chain_rules(found, 'ipv4')
        assert len(rules['nat']) == 2 and len(rules['filter']) == 2


class TestPlan:
    def test_first_run_creates_chains_rules_and_jumps(self):
        before, after, payload = publish.plan_family(save(), publish.bindings(container()), 'ipv4')
        assert before == {'nat': [], 'filter': []}
        assert payload.splitlines() == [
            '*nat', ':NETOPS-DFW-PUBLISH - [0:0]',
            '-A NETOPS-DFW-PUBLISH -p tcp -m tcp --dport 8081 %s -j DNAT --to-destination 198.51.100.130:80' % TAG_WEB,
            '-I PREROUTING 1 -m addrtype --dst-type LOCAL -m comment --comment "netops.docker_firewall/publish" '
            '-j NETOPS-DFW-PUBLISH',
            '-I OUTPUT 1 ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -m comment --comment '
            '"netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH',
            'COMMIT', '*filter', ':NETOPS-DFW-PUBLISH - [0:0]'] + after['filter'][1:] + [
            '-I FORWARD 1 -m comment --comment "netops.docker_firewall/publish" -j NETOPS-DFW-PUBLISH', 'COMMIT']

    def test_converged_family_plans_nothing(self):
        found = publish.bindings(container())
        assert publish.plan_family(converged_save(found), found, 'ipv4')[2] == ''

    def test_new_address_rewrites_the_chain_and_keeps_one_jump(self):
        old = converged_save(publish.bindings(container(ipv4='198.51.100.130')))
        payload = publish.plan_family(old, publish.bindings(container(ipv4='198.51.100.131')), 'ipv4')[2]
        assert '198.51.100.131:80' in payload and '198.51.100.130' not in payload
        # the old jumps are deleted before the new ones are inserted: never two jumps
        assert payload.count('-D PREROUTING ') == 1 and payload.count('-I PREROUTING 1 ') == 1

    def test_absent_removes_jumps_then_chains(self):
        old = converged_save(publish.bindings(container()))
        payload = publish.plan_family(old, [], 'ipv4', present=False)[2].splitlines()
        assert payload[0] == '*nat' and payload[1].startswith('-D PREROUTING ')
        assert payload[3:5] == ['-F NETOPS-DFW-PUBLISH', '-X NETOPS-DFW-PUBLISH']
        assert publish.plan_family(save(), [], 'ipv4', present=False) is None

    def test_family_without_anything_of_ours_is_not_touched(self):
        assert publish.plan_family(save(), publish.bindings(container()), 'ipv6') is None

    def test_other_rules_in_the_builtin_chains_are_never_planned(self):
        kube = '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
        found = publish.bindings(container())
        text = converged_save(found).replace('*nat\n', '*nat\n%s\n' % kube)
        assert publish.plan_family(text, found, 'ipv4')[2] == ''
        assert kube not in publish.plan_family(text, [], 'ipv4', present=False)[2]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 65535), st.integers(1, 65535), st.sampled_from(['tcp', 'udp', 'sctp'])),
                min_size=1, max_size=6),
       st.integers(2, 250))
def test_replanning_after_applying_is_a_no_op(ports, last_octet):
    bindings = {}
    for host_port, container_port, protocol in ports:
        bindings.setdefault('%d/%s' % (container_port, protocol), []).append({'HostIp': '', 'HostPort': str(host_port)})
    found = publish.bindings(container(ipv4='198.51.100.%d' % last_octet, bindings=bindings))
    assert publish.plan_family(converged_save(found), found, 'ipv4')[2] == ''


def _captures(pattern):
    return fixtures('docker-iptables', '*', pattern)


class TestDockerRules:
    @pytest.mark.parametrize('path', _captures('q5*-save.txt'), ids=lambda p: p.split('docker-iptables/')[1])
    def test_docker_with_iptables_false_writes_none(self, path):
        """Captures with "iptables": false only. Docker 28 (sid) still writes its ip6tables rules
        then: that is why the k8s preset adds "ip6tables": false on Docker 27 and later."""
        found = publish.docker_rules(fixture(path))
        if '/sid/' in path and 'ip6tables' in path:
            assert '-A FORWARD -j DOCKER-USER' in found
        else:
            assert found == []

    @pytest.mark.parametrize('path', _captures('q2-published-default.iptables-save.txt'), ids=os.path.dirname)
    def test_every_rule_of_a_docker_managed_host_is_found(self, path):
        text = fixture(path)
        rules = [line for line in text.splitlines() if line.startswith('-A ')]
        assert publish.docker_rules(text) == rules

    def test_rules_of_admins_and_other_tools_are_not_docker_s(self):
        text = '\n'.join([
            '-A FORWARD -s 203.0.113.201/32 -m comment --comment user-forward-top -j DROP',
            '-A DOCKER-USER -s 203.0.113.200/32 -j DROP',
            '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
            '-A POSTROUTING -s 198.51.100.0/24 -o eth0 -j MASQUERADE',
            '-A FORWARD -i docker0 -o eth0 -j ACCEPT',
        ])
        assert publish.docker_rules(text) == ['-A FORWARD -i docker0 -o eth0 -j ACCEPT']


K8S = {'iptables': False, 'bridge': 'none', 'userland-proxy': False}


class TestFindings:
    def test_default_network_under_bridge_none_is_reported_with_the_fix(self):
        found = publish.finding(container(network='bridge', ipv4='', mode='default'), K8S, set())
        assert found['container'] == 'web' and found['ports'] == '8081/tcp->80'
        assert 'bridge: none' in found['problem'] and 'user-defined network' in found['fix']

    def test_user_network_without_proxy_is_reported_unless_published(self):
        found = publish.finding(container(), K8S, set())
        assert 'userland-proxy: false' in found['problem'] and 'docker_beside_kube_proxy_publish' in found['fix']
        assert publish.finding(container(), K8S, {'web'}) is None

    @pytest.mark.parametrize('inspect, settings', [
        (container(), dict(K8S, **{'userland-proxy': True})),  # docker-proxy serves it
        (container(), {}),  # Docker writes the NAT rules itself
        (container(mode='host'), K8S),
        (container(bindings={}), K8S),
        (container(labels={'io.kubernetes.pod.name': 'p'}), K8S),
    ], ids=['docker-proxy', 'docker-iptables', 'host-network', 'no-ports', 'kubernetes-pod'])
    def test_containers_whose_ports_work_are_not_reported(self, inspect, settings):
        assert publish.finding(inspect, settings, set()) is None
