# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""firewalld's IPv6 reverse-path check (`meta nfproto ipv6 fib saddr . mark . iif oif missing drop`, its
filter_PREROUTING) on the lab's firewalld router: capture f1's listing, its IPv6 rules of iptables-nft
written by hand from that listing, and the router's IPv6 rules and routes written by hand from labnet.sh
(tests/unit/fixtures/routing, see the README there). Every expected value is written here by hand from
those rules and routes; none is computed by the engine."""

import ipaddress
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from captures import capture, fixture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _routing as routing
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import (
    host_reachability,
    needs_routing,
    reachability,
    subtract as reach_subtract,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability_verdict import predict

RULESET = capture('sid', 'f1-router-firewalld-nftables.nft-ruleset')
RULES6 = fixture('routing', 'lab-router-f1.ip6tables-save.txt')
IP_RULES = fixture('routing', 'lab-router.ip-6-rule.json')
IP_ROUTES = fixture('routing', 'lab-router.ip-6-route.json')
LAB6 = 'br-5c2d9e7a41f0'
ADDRESSES = {'lo': ['::1/128'], 'int0': ['2001:db8:1::1/64', 'fe80::d4a7:3cff:fe8e:2201/64'],
             'ext0': ['2001:db8:2::1/64', 'fe80::8c4e:5aff:fe21:1101/64'], LAB6: ['2001:db8:3::1/64'],
             'vpn0': ['2001:db8:4::1/64'], 'pod0': ['2001:db8:10::1/64'], 'docker0': []}
# Every link of the router (ip -j addr show lists the bridge ports and veths too).
INTERFACES = sorted(ADDRESSES) + ['v-vpn1', 'v-vpn2', 'v-wan1', 'v-wan2', 'veth3f1c2a7', 'veth9b04e51']
CONTAINER = dict(address='2001:db8:3::2', port=80)
RPF = ('inet firewalld', 'filter_PREROUTING', 'meta nfproto ipv6 fib saddr . mark . iif oif missing drop')
FIREWALLD_REJECT = ('inet firewalld', 'filter_FORWARD_POLICIES', 'reject with icmpx admin-prohibited')
ROUTED_DROP = ('inet netops-docker-firewall', 'routed', 'drop')
DEFAULT_VIA_EXT0 = {'dst': 'default', 'gateway': '2001:db8:2::fe', 'dev': 'ext0', 'protocol': 'static', 'metric': 1024,
                    'flags': [], 'pref': 'medium'}


def routes(*extra):
    return json.dumps(json.loads(IP_ROUTES) + list(extra))


def ask(ruleset=RULESET, ip_routes=IP_ROUTES, ip_rules=IP_RULES, **options):
    options.setdefault('routing', routing.parse(ip_rules, ip_routes))
    return reachability(RULES6, 'ipv6', [], ADDRESSES, interfaces=INTERFACES, routed=[CONTAINER],
                        nftables_ruleset=ruleset, **options)


def verdict(answer, interface, source):
    """(verdict, (table, chain, rule) that dropped it or the last step of its path, why) of one packet to the
    container's port 80."""
    found = predict(answer, dict(interface=interface, source=source, destination='2001:db8:3::2', port=80))
    reason = found['reason'] or {}
    step = (reason.get('table'), reason.get('chain'), reason.get('rule'))
    if found['verdict'] == 'reachable':
        step = tuple(found['path'][-1][key] for key in ('table', 'chain', 'rule'))
    return found['verdict'], step, reason.get('why')


def test_the_lab_s_ipv6_probes_are_definite_beside_firewalld():
    """The batch's four IPv6 probes (routed to lab-web6): each source is in its interface's connected subnet, so
    the check lets it on; f1's firewalld (no zone for the lab's interfaces) rejects what the backstop lets
    through (vpn1, the declared client), and the backstop's routed guard drops the others."""
    answer = ask()
    assert answer['nftables'] == dict(walked=['inet netops-docker-firewall', 'inet firewalld'], not_modelled=[])
    assert verdict(answer, 'vpn0', '2001:db8:4::34') == ('unreachable', FIREWALLD_REJECT, 'dropped')
    assert verdict(answer, 'vpn0', '2001:db8:4::35') == ('unreachable', ROUTED_DROP, 'dropped')
    assert verdict(answer, 'int0', '2001:db8:1::2') == ('unreachable', ROUTED_DROP, 'dropped')
    assert verdict(answer, 'ext0', '2001:db8:2::19') == ('unreachable', ROUTED_DROP, 'dropped')
    # No slice of the answer is unknown: every source of every interface is decided.
    assert [s for s in answer['routed'][0]['slices'] if s['verdict'] == 'unknown'] == []


def test_with_the_lab_s_policy_into_docker_s_zone_the_declared_vpn_client_reaches_the_container():
    """firewalld's policy lab-vpn-docker, stood in for by an accept in filter_FORWARD_POLICIES."""
    policy = '\tchain filter_FORWARD_POLICIES {\n\t\tiifname "vpn0" oifname "%s" accept\n' % LAB6
    ruleset = RULESET.replace('\tchain filter_FORWARD_POLICIES {\n', policy)
    answer = ask(ruleset)
    assert verdict(answer, 'vpn0', '2001:db8:4::34') == (
        'reachable', ('inet firewalld', 'filter_FORWARD_POLICIES', 'iifname "vpn0" oifname "%s" accept' % LAB6), None)
    assert verdict(answer, 'vpn0', '2001:db8:4::35') == ('unreachable', ROUTED_DROP, 'dropped')
    # A spoofed source from the lab's LAN arriving on vpn0: its route leaves by int0.
    assert verdict(answer, 'vpn0', '2001:db8:1::34') == ('unreachable', RPF, 'dropped')


def test_a_source_whose_route_leaves_by_another_interface_is_dropped_by_the_check():
    answer = ask()
    assert verdict(answer, 'ext0', '2001:db8:1::2') == ('unreachable', RPF, 'dropped')  # the LAN's, on the WAN side
    assert verdict(answer, 'int0', '2001:db8:2::19') == ('unreachable', RPF, 'dropped')
    assert verdict(answer, 'ext0', '2001:db8:4::34') == ('unreachable', RPF, 'dropped')
    # The host's own address and the subnet-router anycast address of ext0 (local table): no outgoing interface.
    assert verdict(answer, 'ext0', '2001:db8:2::1') == ('unreachable', RPF, 'dropped')
    assert verdict(answer, 'ext0', '2001:db8:2::') == ('unreachable', RPF, 'dropped')
    # Multicast sources never reach a hook (the kernel drops them on receipt): taken as dropped.
    assert verdict(answer, 'ext0', 'ff02::1') == ('unreachable', RPF, 'dropped')


def test_link_local_sources_are_looked_up_through_the_incoming_interface():
    answer = ask()
    # fe80::/64 has a route via every link: the one via the incoming interface counts.
    assert verdict(answer, 'ext0', 'fe80::1234') == ('unreachable', ROUTED_DROP, 'dropped')
    assert verdict(answer, 'int0', 'fe80::1234') == ('unreachable', ROUTED_DROP, 'dropped')
    # The host's own link-local address on ext0 (a local route), and one outside fe80::/64 (no route via ext0).
    assert verdict(answer, 'ext0', 'fe80::8c4e:5aff:fe21:1101') == ('unreachable', RPF, 'dropped')
    assert verdict(answer, 'ext0', 'fe80:1::1') == ('unreachable', RPF, 'dropped')


def test_a_default_route_via_ext0_lets_any_other_source_on_ext0_pass_and_none_elsewhere():
    assert verdict(ask(), 'ext0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')  # no route at all: strict
    answer = ask(ip_routes=routes(DEFAULT_VIA_EXT0))
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', ROUTED_DROP, 'dropped')  # passed the check
    assert verdict(answer, 'int0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')
    # The connected subnets still win over the default route (longest prefix).
    assert verdict(answer, 'ext0', '2001:db8:1::2') == ('unreachable', RPF, 'dropped')
    # The whole answer for ext0: on to the backstop (its routed guard drops all), or dropped by the check: ::1,
    # the other links' subnets, the host's own and anycast addresses (global and link-local), multicast.
    ext0 = [(s['source_ranges'], s['reason']['chain']) for s in answer['routed'][0]['slices'] if s['interface'] == 'ext0']
    assert ext0 == [
        (['::-::', '::2-2001:db8:0:ffff:ffff:ffff:ffff:ffff', '2001:db8:1:1::-2001:db8:1:ffff:ffff:ffff:ffff:ffff',
          '2001:db8:2::2-2001:db8:2:ffff:ffff:ffff:ffff:ffff', '2001:db8:3:1::-2001:db8:3:ffff:ffff:ffff:ffff:ffff',
          '2001:db8:4:1::-2001:db8:f:ffff:ffff:ffff:ffff:ffff', '2001:db8:10:1::-fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
          'fe80::1-fe80::8c4e:5aff:fe21:1100', 'fe80::8c4e:5aff:fe21:1102-feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
         'routed'),
        (['::1-::1', '2001:db8:1::-2001:db8:1:0:ffff:ffff:ffff:ffff', '2001:db8:2::-2001:db8:2::1',
          '2001:db8:3::-2001:db8:3:0:ffff:ffff:ffff:ffff', '2001:db8:4::-2001:db8:4:0:ffff:ffff:ffff:ffff',
          '2001:db8:10::-2001:db8:10:0:ffff:ffff:ffff:ffff', 'fe80::-fe80::',
          'fe80::8c4e:5aff:fe21:1101-fe80::8c4e:5aff:fe21:1101', 'ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
         'filter_PREROUTING')]


@pytest.mark.parametrize('kind', ['unreachable', 'blackhole', 'prohibit'])
def test_an_unreachable_route_gives_no_interface(kind):
    blocked = {'type': kind, 'dst': '2001:db8:99::/48', 'dev': 'lo', 'metric': 1024, 'flags': [], 'pref': 'medium'}
    answer = ask(ip_routes=routes(DEFAULT_VIA_EXT0, blocked))
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')
    assert verdict(answer, 'ext0', '2001:db8:98::1') == ('unreachable', ROUTED_DROP, 'dropped')


def test_the_lowest_metric_of_the_longest_prefix_decides_and_dead_routes_are_passed_over():
    via_int0 = {'dst': '2001:db8:99::/48', 'dev': 'int0', 'metric': 100, 'flags': []}
    via_ext0 = {'dst': '2001:db8:99::/48', 'dev': 'ext0', 'metric': 200, 'flags': []}
    answer = ask(ip_routes=routes(via_int0, via_ext0))
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')
    assert verdict(answer, 'int0', '2001:db8:99::1') == ('unreachable', ROUTED_DROP, 'dropped')
    answer = ask(ip_routes=routes(dict(via_int0, flags=['dead']), via_ext0))
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', ROUTED_DROP, 'dropped')


def test_what_the_kernel_s_version_or_state_decides_is_unknown_naming_why():
    multipath = {'dst': '2001:db8:99::/48', 'metric': 1024, 'flags': [],
                 'nexthops': [{'gateway': '2001:db8:2::fe', 'dev': 'ext0', 'weight': 1, 'flags': []},
                              {'gateway': '2001:db8:1::fe', 'dev': 'int0', 'weight': 1, 'flags': []}]}
    answer = ask(ip_routes=routes(multipath))
    found = verdict(answer, 'ext0', '2001:db8:99::1')
    assert found[:2] == ('unknown', RPF)
    assert found[2] == ('multipath route unicast 2001:db8:99::/48 dev ext0 dev int0 through the incoming interface: '
                        'which nexthop counts differs between kernel versions')
    assert verdict(answer, 'vpn0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')  # through neither
    # Two routes of one metric through two interfaces; a linkdown route whose sysctl was not read.
    two = [{'dst': '2001:db8:99::/48', 'dev': dev, 'metric': 1024, 'flags': []} for dev in ('ext0', 'int0')]
    assert verdict(ask(ip_routes=routes(*two)), 'ext0', '2001:db8:99::1')[2] == (
        'routes unicast 2001:db8:99::/48 dev ext0, unicast 2001:db8:99::/48 dev int0 of one metric: which one the '
        'kernel takes is not modelled')
    down = {'dst': '2001:db8:99::/48', 'dev': 'int0', 'metric': 1024, 'flags': ['linkdown']}
    assert verdict(ask(ip_routes=routes(down)), 'ext0', '2001:db8:99::1')[0] == 'unknown'
    parsed = routing.parse(IP_RULES, routes(DEFAULT_VIA_EXT0, down), {'int0': True})  # ignored: the default decides
    assert verdict(ask(routing=parsed), 'ext0', '2001:db8:99::1') == ('unreachable', ROUTED_DROP, 'dropped')
    parsed = routing.parse(IP_RULES, routes(DEFAULT_VIA_EXT0, down), {'int0': False})
    assert verdict(ask(routing=parsed), 'ext0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')


def test_a_policy_routing_rule_makes_what_no_earlier_rule_decided_unknown():
    """Tailscale's and wg-quick's fwmark rules: the packet's mark is not known to the walk."""
    rules = json.loads(IP_RULES) + [{'priority': 5210, 'src': 'all', 'fwmark': '0x80000/0xff0000', 'table': 'main'}]
    answer = ask(ip_rules=json.dumps(rules))
    assert verdict(answer, 'ext0', '2001:db8:2::19') == (
        'unknown', RPF, 'policy routing rule 5210: fwmark 0x80000/0xff0000 src all table main')
    # The local table (rule 0) comes first: the host's own address is still decided.
    assert verdict(answer, 'ext0', '2001:db8:2::1') == ('unreachable', RPF, 'dropped')
    # A rule `from all lookup TABLE` is followed: table 52's route via ext0 lets the source on.
    rules = json.loads(IP_RULES) + [{'priority': 5270, 'src': 'all', 'table': '52'}]
    table_52 = {'dst': '2001:db8:99::/48', 'dev': 'ext0', 'table': '52', 'metric': 1024, 'flags': []}
    answer = ask(ip_rules=json.dumps(rules), ip_routes=routes(table_52))
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', ROUTED_DROP, 'dropped')
    assert verdict(answer, 'int0', '2001:db8:99::1') == ('unreachable', RPF, 'dropped')


def test_the_loose_form_lets_any_routed_source_pass():
    loose = RULESET.replace('fib saddr . mark . iif oif missing drop', 'fib saddr . mark oif missing drop')
    answer = ask(loose)
    loose_rule = ('inet firewalld', 'filter_PREROUTING', 'meta nfproto ipv6 fib saddr . mark oif missing drop')
    assert verdict(answer, 'ext0', '2001:db8:1::2') == ('unreachable', ROUTED_DROP, 'dropped')
    assert verdict(answer, 'ext0', '2001:db8:99::1') == ('unreachable', loose_rule, 'dropped')  # no route at all


def test_routes_not_read_or_unreadable_make_the_check_unknown_and_the_host_answer_says_why():
    answer = ask(routing=None)
    assert verdict(answer, 'ext0', '2001:db8:2::19') == (
        'unknown', RPF, 'a reverse-path lookup (fib saddr ... oif): the routes were not read')
    inspect = {'Name': '/lab-web6', 'HostConfig': {'PortBindings': {}},
               'NetworkSettings': {'Networks': {'lab6': {'IPAddress': '', 'GlobalIPv6Address': '2001:db8:3::2'}}}}
    found = host_reachability({'nft': {'ipv4': '', 'ipv6': RULES6}}, 'nft', ADDRESSES, INTERFACES, [inspect], False,
                              {'ipv4': True, 'ipv6': True}, nftables_ruleset=RULESET,
                              forwarded=[CONTAINER],
                              routing={'ipv6': {'error': 'ip -j -6 rule show failed (rc 1): denied'}})
    assert found['errors'] == ['the ipv6 routes cannot be read: ip -j -6 rule show failed (rc 1): denied']
    assert found['routing_read'] == []
    [target] = found['families']['ipv6']['forwarded']
    ext0 = [s for s in target['slices'] if s['interface'] == 'ext0']
    assert [(s['verdict'], s['reason']['why']) for s in ext0] == [(
        'unknown', 'a reverse-path lookup (fib saddr ... oif): the routes cannot be read: '
        'ip -j -6 rule show failed (rc 1): denied')]
    found = host_reachability({'nft': {'ipv4': '', 'ipv6': RULES6}}, 'nft', ADDRESSES, INTERFACES, [inspect], False,
                              {'ipv4': True, 'ipv6': True}, nftables_ruleset=RULESET, forwarded=[CONTAINER],
                              routing={'ipv6': {'rules': IP_RULES, 'routes': IP_ROUTES}})
    assert found['errors'] == [] and found['routing_read'] == ['ipv6']
    [target] = found['families']['ipv6']['forwarded']
    assert [s['verdict'] for s in target['slices'] if s['verdict'] == 'unknown'] == []


def test_ipv4_and_other_fib_lookups_stay_unknown():
    rule = 'table inet rpf {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n\t\t%s\n\t}\n}\n'
    ipv4 = reachability('', 'ipv4', [], {'ext0': ['198.51.100.17/28']}, interfaces=['ext0'],
                        routed=[dict(address='198.51.100.40', port=80)], nftables_ruleset=rule % 'fib saddr . iif oif missing drop',
                        routing=routing.parse(IP_RULES, IP_ROUTES))
    assert {s['reason']['why'] for s in ipv4['routed'][0]['slices']} == {'a reverse-path lookup (fib saddr ... oif) in IPv4'}
    other = ask(RULESET + rule % 'fib daddr . iif oif missing drop')
    assert verdict(other, 'ext0', '2001:db8:2::19')[2] == 'fib daddr . iif oif missing'


def test_needs_routing_and_what_cannot_be_read():
    assert needs_routing(RULESET)
    assert needs_routing('\t\tfib saddr oif missing drop\n') and needs_routing('\t\tfib saddr . iif oif exists accept\n')
    assert not needs_routing(capture('docker29', 'n4-nftables-usernet-published.nft-ruleset'))  # fib saddr type local
    assert not needs_routing(None)
    with pytest.raises(routing.RoutingError, match='no JSON'):
        routing.parse('[', IP_ROUTES)
    with pytest.raises(routing.RoutingError, match='a route to'):
        routing.parse(IP_RULES, '[{"dst": "nowhere"}]')
    assert routing.linkdown_devices(routes({'dst': '2001:db8:9::/64', 'dev': 'docker0', 'flags': ['linkdown']})) == [
        'docker0']
    assert routing.linkdown_devices('not json') == []


# A property: a route through the incoming interface, at a prefix the table holds no route to, never takes a
# source off the check's passing set, and adds none outside its prefix.
_DEVICES = ('ext0', 'int0', 'vpn0')
_KINDS = ('unicast', 'unicast', 'unreachable')


def _route(prefix, kind, dev, metric):
    return dict({'type': kind} if kind != 'unicast' else {}, dst=prefix, dev='lo' if kind != 'unicast' else dev,
                metric=metric, flags=[])


def _prefix(index, length):
    """The index-th /length network in 2001:db8::/32."""
    return '%s/%d' % (ipaddress.IPv6Address(u'2001:db8::') + (index << (128 - length)), length)


def _through_ext0(dev):
    return dev == 'ext0'


_ROUTES = st.lists(st.tuples(st.integers(0, 15), st.integers(33, 40), st.sampled_from(_KINDS), st.sampled_from(_DEVICES),
                             st.sampled_from((256, 1024))), max_size=8)


@settings(max_examples=60, deadline=None)
@given(_ROUTES, st.integers(0, 15), st.integers(33, 40))
def test_a_route_through_the_incoming_interface_never_shrinks_what_passes(drawn, index, length):
    table = [_route(_prefix(i, n), kind, dev, metric) for i, n, kind, dev, metric in drawn]
    prefixes = set(route['dst'] for route in table)
    added = _prefix(index, length)
    if added in prefixes:
        return
    before = routing.reverse_path(routing.parse(IP_RULES, routes(*table)), _through_ext0, True)[0]
    after = routing.reverse_path(routing.parse(IP_RULES, routes(*(table + [_route(added, 'unicast', 'ext0', 1024)]))),
                                 _through_ext0, True)[0]
    network = ipaddress.IPv6Network(u'%s' % added)
    assert reach_subtract(before, after) == ()
    assert reach_subtract(reach_subtract(after, before), ((int(network.network_address), int(network.broadcast_address)),)) == ()
