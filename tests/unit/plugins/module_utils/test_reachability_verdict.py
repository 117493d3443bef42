# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""One packet's verdict from the engine's answer (_reachability_verdict.predict), as the lab's oracle
asks it for each probe: a router converged as the lab's router scenario converges it (the pair int0 ->
ext0, the allowlist of ext0 letting wan1 in, routed access for vpn1 on vpn0), on the captures of
Docker 28.5 and 20.10 after `docker run -d -p 8080:80` with the lab's addresses, and the FORWARD
policy DROP Docker sets where it switches forwarding on. The answer is the one docker_firewall_info
returns (host_reachability); every expected verdict and rule is written here by hand from the rules."""

import pytest

from plugins.module_utils.test_compliance import capture, with_docker_user
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import host_reachability
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability_verdict import predict

# The lab platform's side of labnet.sh: lan on int0, wan1/wan2 on the bridge ext0, vpn1/vpn2 on vpn0.
ADDRESSES = {'lo': ['127.0.0.1/8', '::1/128'], 'int0': ['198.51.100.1/28', '2001:db8:1::1/64'],
             'ext0': ['198.51.100.17/28', '2001:db8:2::1/64'], 'vpn0': ['198.51.100.33/28', '2001:db8:4::1/64'],
             'docker0': ['172.18.0.1/16']}
NAMES = ['lo', 'int0', 'ext0', 'v-wan1', 'v-wan2', 'vpn0', 'v-vpn1', 'v-vpn2', 'docker0', 'veth1']
WEB = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
       'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.18.0.2'}}}}
LAN, WAN1, WAN2, VPN1, VPN2, CONTAINER = '198.51.100.2', '198.51.100.18', '198.51.100.19', '198.51.100.34', \
    '198.51.100.35', '172.18.0.2'
PUBLISHED = '198.51.100.17'

_NEW_NOT_DNAT = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT'
_ROUTED = '-m comment --comment "netops.docker_firewall/routed"'
_PAIR = '-m comment --comment "netops.docker_firewall/accept:int0:ext0"'
_EXT0 = '-m comment --comment "netops.docker_firewall/allowlist:ext0"'
PAIR_OUT = '-A DOCKER-USER -i int0 -o ext0 %s -j ACCEPT' % _PAIR
PAIR_BACK = '-A DOCKER-USER -i ext0 -o int0 %s -j ACCEPT' % _PAIR
VPN1_IN = '-A DOCKER-USER -s 198.51.100.34/32 -i vpn0 -o docker+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED)
GUARD = '-A DOCKER-USER ! -i docker+ -o docker+ %s %s -j DROP' % (_NEW_NOT_DNAT, _ROUTED)
WAN1_IN = '-A DOCKER-USER -s 198.51.100.18/32 -i ext0 %s -j RETURN' % _EXT0
EXT0_DROP = '-A DOCKER-USER -i ext0 %s -j DROP' % _EXT0
# DOCKER-USER of the lab's router (molecule/router: converge.yml and router_routed), IPv4.
ROUTER = [
    PAIR_OUT, PAIR_BACK,
    '-A DOCKER-USER -i docker+ -o br-+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
    '-A DOCKER-USER -i br-+ -o docker+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
    VPN1_IN,
    '-A DOCKER-USER -s 198.51.100.34/32 -i vpn0 -o br-+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
    GUARD,
    '-A DOCKER-USER ! -i br-+ -o br-+ %s %s -j DROP' % (_NEW_NOT_DNAT, _ROUTED),
    '-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % _EXT0,
    WAN1_IN, EXT0_DROP,
]
DOCKER_ACCEPT = '-A DOCKER -d 172.18.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT'
DNAT = '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'
RAW_DROP = '-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP'  # Docker 28 without allow-direct-routing
FORWARDED = [dict(address=WAN1, port=8000), dict(address=LAN, port=8000), dict(address=CONTAINER, port=81),
             dict(address=PUBLISHED, port=22)]


def answer(suite='sid', forwarded=None, docker_user=None, edit=lambda text: text):
    v4 = with_docker_user(capture(suite, 'q2-published-default.iptables-save'), ROUTER if docker_user is None else docker_user)
    v4 = edit(v4.replace(':FORWARD ACCEPT', ':FORWARD DROP', 1))
    found = host_reachability({'nft': {'ipv4': v4}}, 'nft', ADDRESSES, NAMES, [WEB], False, {'ipv4': True},
                              forwarded=forwarded)
    found.pop('seconds')
    return found


def verdict(found, interface, source, destination, port, **more):
    return predict(found, dict(interface=interface, source=source, destination=destination, port=port, **more))


def rules(found):
    return [step['rule'] for step in found['path']]


# --- published ports: the allowlist of ext0 ------------------------------------------------------

@pytest.mark.parametrize('suite', ['sid', 'bookworm'])
@pytest.mark.parametrize('destination', [PUBLISHED, '198.51.100.1'], ids=['ext0-address', 'lan-address'])
def test_a_denied_source_on_the_external_interface_is_unreachable_by_the_allowlists_drop(suite, destination):
    found = verdict(answer(suite), 'ext0', WAN2, destination, 8080)
    assert (found['verdict'], found['question'], found['interface'], found['to']) == ('unreachable', 'published', 'ext0', None)
    assert found['reason'] == dict(why='dropped', table='filter', chain='DOCKER-USER', rule=EXT0_DROP)
    assert found['text'] == 'dropped (filter DOCKER-USER: %s)' % EXT0_DROP
    assert found['subject']['host_port'] == '8080' and found['subject']['container'] == 'web'
    assert found['path'] == []
    # The slice it fell in: every source on ext0 but wan1.
    assert found['sources'] == ['0.0.0.0-198.51.100.17', '198.51.100.19-255.255.255.255']


def test_an_allowed_source_reaches_the_container_through_its_return_and_dockers_accept():
    found = verdict(answer('sid'), 'ext0', WAN1, PUBLISHED, 8080)
    assert (found['verdict'], found['question'], found['to'], found['reason']) == ('reachable', 'published', 'container', None)
    assert rules(found) == ['-P PREROUTING ACCEPT', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', DNAT,
                            '-A FORWARD -j DOCKER-USER', WAN1_IN, '-A FORWARD -j DOCKER-FORWARD',
                            '-A DOCKER-FORWARD -j DOCKER-CT', '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1',
                            '-A DOCKER-FORWARD -j DOCKER-BRIDGE', '-A DOCKER-BRIDGE -o docker0 -j DOCKER', DOCKER_ACCEPT]
    assert found['text'].startswith('path: raw PREROUTING: -P PREROUTING ACCEPT -> nat PREROUTING: ')
    assert found['text'].endswith(' -> filter DOCKER: ' + DOCKER_ACCEPT)
    assert found['sources'] == ['198.51.100.18-198.51.100.18']


def test_an_interface_no_rule_names_falls_in_the_class_of_any_other_interface():
    found = verdict(answer('sid'), 'wg7', '203.0.113.9', PUBLISHED, 8080)
    assert (found['verdict'], found['interface'], found['to']) == ('reachable', '+', 'container')
    assert rules(found)[-1] == DOCKER_ACCEPT and WAN1_IN not in rules(found)


def test_an_accept_above_docker_user_lets_the_denied_source_reach_the_port():
    found = answer('sid', edit=lambda text: text.replace(
        '-A FORWARD -j DOCKER-USER\n', '-A FORWARD -s 198.51.100.19/32 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n', 1))
    denied = verdict(found, 'ext0', WAN2, PUBLISHED, 8080)
    assert (denied['verdict'], rules(denied)[-1]) == ('reachable', '-A FORWARD -s 198.51.100.19/32 -j ACCEPT')
    assert verdict(found, 'ext0', '198.51.100.20', PUBLISHED, 8080)['verdict'] == 'unreachable'


# --- routed access: vpn1 declared, vpn2 not -------------------------------------------------------

def test_the_declared_vpn_client_routes_to_the_container_on_docker_20_10():
    found = verdict(answer('bookworm'), 'vpn0', VPN1, CONTAINER, 80)
    assert (found['verdict'], found['question'], found['to']) == ('reachable', 'routed', 'container')
    assert found['subject'] == dict(container='web', family='ipv4', address=CONTAINER, port='80', protocol='tcp')
    assert rules(found) == ['-P PREROUTING ACCEPT', '-A FORWARD -j DOCKER-USER', VPN1_IN,
                            '-A FORWARD -j DOCKER-ISOLATION-STAGE-1', '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
                            '-A FORWARD -o docker0 -j DOCKER', DOCKER_ACCEPT]


def test_a_vpn_client_not_declared_is_dropped_by_the_guard():
    found = verdict(answer('bookworm'), 'vpn0', VPN2, CONTAINER, 80)
    assert (found['verdict'], found['question']) == ('unreachable', 'routed')
    assert found['reason'] == dict(why='dropped', table='filter', chain='DOCKER-USER', rule=GUARD)


def test_on_docker_28_without_allow_direct_routing_the_raw_table_drops_even_the_declared_client():
    for source in (VPN1, VPN2):
        found = verdict(answer('sid'), 'vpn0', source, CONTAINER, 80)
        assert found['verdict'] == 'unreachable'
        assert found['reason'] == dict(why='dropped', table='raw', chain='PREROUTING', rule=RAW_DROP)


# --- what the answer was not asked about ------------------------------------------------------------

@pytest.mark.parametrize('packet, why', [
    (('int0', LAN, WAN1, 8000), '198.51.100.18 port 8000/tcp was not asked about: neither a published port, nor a '
                                'container address and port for routed access, nor an address asked about as forwarded'),
    (('vpn0', VPN1, CONTAINER, 81), '172.18.0.2 port 81/tcp was not asked about: neither a published port, nor a '
                                    'container address and port for routed access, nor an address asked about as forwarded'),
    (('ext0', WAN2, PUBLISHED, 22), '198.51.100.17 port 22/tcp: an address of the host where the port is not '
                                    'published; what listens there is not modelled'),
    (('ext0', WAN2, PUBLISHED, 8080, 'udp'), '198.51.100.17 port 8080/udp: an address of the host where the port is '
                                             'not published; what listens there is not modelled'),
    (('lo', '127.0.0.1', '127.0.0.1', 8080), 'the host\'s own connections (lo) are not modelled'),
    (('ext0', '2001:db8:2::19', '2001:db8:2::1', 8080), 'the answer holds no ipv6 rules'),
])
def test_a_packet_the_answer_does_not_hold_is_not_modelled(packet, why):
    found = verdict(answer('sid'), *packet[:4], protocol=packet[4] if len(packet) > 4 else 'tcp')
    family = 'ipv6' if ':' in packet[2] else 'ipv4'
    assert found == dict(verdict='not_modelled', family=family, question=None, subject=None, interface=None,
                         sources=[], to=None, path=[], reason=dict(why=why), text=why)


# --- forwarded packets: routing between the lab's networks ------------------------------------------

@pytest.mark.parametrize('suite, head', [('sid', ['-P PREROUTING ACCEPT', '-P PREROUTING ACCEPT']),
                                         ('bookworm', ['-P PREROUTING ACCEPT'])])
def test_the_lan_routes_to_the_wan_and_back_through_the_pair(suite, head):
    found = answer(suite, forwarded=FORWARDED)
    out = verdict(found, 'int0', LAN, WAN1, 8000)
    assert (out['verdict'], out['question'], out['to']) == ('reachable', 'forwarded', 'target')
    assert rules(out) == head + ['-A FORWARD -j DOCKER-USER', PAIR_OUT]
    back = verdict(found, 'ext0', WAN2, LAN, 8000)
    assert (back['verdict'], rules(back)) == ('reachable', head + ['-A FORWARD -j DOCKER-USER', PAIR_BACK])
    assert back['subject'] == dict(address=LAN, port=8000)


def test_a_route_no_rule_accepts_falls_to_the_forward_policy():
    found = verdict(answer('bookworm', forwarded=FORWARDED), 'vpn0', VPN1, WAN1, 8000)
    assert found['reason'] == dict(why='dropped', table='filter', chain='FORWARD', rule='-P FORWARD DROP')
    # A container port nothing publishes: Docker 28 drops it on the way in, 20.10 by the policy.
    found = verdict(answer('sid', forwarded=FORWARDED), 'vpn0', VPN1, CONTAINER, 81)
    assert (found['verdict'], found['question'], found['reason']['rule']) == ('unreachable', 'forwarded', RAW_DROP)
    found = verdict(answer('bookworm', forwarded=FORWARDED), 'vpn0', VPN1, CONTAINER, 81)
    assert (found['verdict'], found['reason']['rule']) == ('unreachable', '-P FORWARD DROP')


def test_an_address_of_the_host_asked_as_forwarded_is_local_and_not_walked():
    found = answer('sid', forwarded=FORWARDED)
    [local] = [entry for entry in found['families']['ipv4']['forwarded'] if entry['local']]
    assert local == dict(target=dict(address=PUBLISHED, port=22), local=True, slices=[])
    assert verdict(found, 'ext0', WAN2, PUBLISHED, 22)['verdict'] == 'not_modelled'


def test_a_published_port_or_a_routed_target_answers_before_the_forwarded_question():
    found = answer('bookworm', forwarded=[dict(address=CONTAINER, port=80)])
    assert verdict(found, 'vpn0', VPN2, CONTAINER, 80)['question'] == 'routed'


def test_a_forwarded_packet_rewritten_by_dnat_is_unknown():
    # kube-proxy's way: a service address no interface holds, DNAT'd to a pod.
    found = answer('bookworm', forwarded=[dict(address='198.51.100.20', port=8000)], edit=lambda text: text.replace(
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n',
        '-A PREROUTING -d 198.51.100.20/32 -p tcp -m tcp --dport 8000 -j DNAT --to-destination 172.18.0.2:80\n'
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n', 1))
    found = verdict(found, 'int0', LAN, '198.51.100.20', 8000)
    assert (found['verdict'], found['reason']) == (
        'unknown', dict(why='DNAT sends it to 172.18.0.2 port 80: where a rewritten packet goes is not asked'))


# --- source ports, and what a packet must be -------------------------------------------------------

def test_a_verdict_that_depends_on_the_source_port_is_unknown_without_it():
    found = answer('sid', docker_user=['-A DOCKER-USER -i ext0 -p tcp -m tcp --sport 1024:65535 -j DROP'])
    unknown = verdict(found, 'ext0', WAN2, PUBLISHED, 8080)
    assert unknown['verdict'] == 'unknown'
    assert unknown['reason'] == dict(why='the verdict depends on the source port (0-1023 reachable, 1024-65535 '
                                         'unreachable): give source_port')
    assert verdict(found, 'ext0', WAN2, PUBLISHED, 8080, source_port=40000)['verdict'] == 'unreachable'
    assert verdict(found, 'ext0', WAN2, PUBLISHED, 8080, source_port=1023)['verdict'] == 'reachable'


@pytest.mark.parametrize('packet, message', [
    (dict(interface='ext+', source=WAN2, destination=PUBLISHED, port=8080), "interface must be the name of one interface"),
    (dict(interface='ext0', source='2001:db8:2::19', destination=PUBLISHED, port=8080), 'of different families'),
    (dict(interface='ext0', source='wan2', destination=PUBLISHED, port=8080), 'must be addresses'),
    (dict(interface='ext0', source=WAN2, destination=PUBLISHED, port=0), 'port must be 1 to 65535'),
    (dict(interface='ext0', source=WAN2, destination=PUBLISHED, port=8080, protocol='icmp'), 'protocol must be one of'),
])
def test_a_packet_that_is_not_one_is_refused(packet, message):
    with pytest.raises(ValueError) as error:
        predict(answer('sid'), packet)
    assert message in str(error.value)


def test_the_answer_may_be_the_modules_result_its_reachability_or_one_family():
    found = answer('sid')
    packet = dict(interface='ext0', source=WAN2, destination=PUBLISHED, port=8080)
    expected = predict(found, packet)
    assert predict(dict(changed=False, reachability=found), packet) == expected
    assert predict(found['families']['ipv4'], packet) == expected
    with pytest.raises(ValueError) as error:
        predict(dict(changed=False, reachability=None), packet)
    assert 'without reachability: true' in str(error.value)
    with pytest.raises(ValueError) as error:
        predict(found['families']['ipv4'], dict(packet, source='2001:db8:2::19', destination='2001:db8:2::1'))
    assert 'the answer is of ipv4, the packet of ipv6' in str(error.value)


def test_one_port_published_on_two_host_addresses_for_two_containers_is_the_one_the_address_takes():
    # web on 198.51.100.17:8080, web2 (172.18.0.3) on the LAN address 198.51.100.1:8080, as Docker writes them.
    web2 = {'Name': '/web2', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '198.51.100.1', 'HostPort': '8080'}]}},
            'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.18.0.3'}}}}
    web = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': PUBLISHED, 'HostPort': '8080'}]}},
           'NetworkSettings': {'Networks': {'bridge': {'IPAddress': CONTAINER}}}}
    v4 = with_docker_user(capture('sid', 'q2-published-default.iptables-save'), ROUTER).replace(DNAT + '\n', (
        '-A DOCKER -d 198.51.100.17/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80\n'
        '-A DOCKER -d 198.51.100.1/32 ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.3:80\n'),
        1).replace(DOCKER_ACCEPT + '\n', DOCKER_ACCEPT + '\n' + DOCKER_ACCEPT.replace('172.18.0.2', '172.18.0.3') + '\n', 1)
    found = host_reachability({'nft': {'ipv4': v4}}, 'nft', ADDRESSES, NAMES, [web, web2], False, {'ipv4': True})
    assert [entry['port']['container'] for entry in found['families']['ipv4']['ports']] == ['web', 'web2']
    lan = verdict(found, 'int0', LAN, '198.51.100.1', 8080)
    assert (lan['verdict'], lan['subject']['container'], rules(lan)[-1]) == (
        'reachable', 'web2', DOCKER_ACCEPT.replace('172.18.0.2', '172.18.0.3'))
    wan = verdict(found, 'int0', LAN, PUBLISHED, 8080)
    assert (wan['verdict'], wan['subject']['container'], rules(wan)[-1]) == ('reachable', 'web', DOCKER_ACCEPT)
    # The allowlist of ext0 holds for both.
    assert verdict(found, 'ext0', WAN2, '198.51.100.1', 8080)['reason']['rule'] == EXT0_DROP
