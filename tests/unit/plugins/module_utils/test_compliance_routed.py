# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance with routed access: the routed block is part of what the rules checks expect, the
`direct_routing` check (a Docker network reachable by direct routing from an interface the
declarations do not allow: a bridge the guard does not cover), and `ports_published_twice` (Docker 29
on its nftables backend without docker-proxy). Facts built as test_compliance.py builds them."""

import pytest

from plugins.module_utils.test_compliance import (
    DOCKER0,
    EXPECTED,
    WANTED,
    capture,
    details,
    failed,
    on_docker_29_nftables,
    router_facts,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts

ROUTED_TAG = 'netops.docker_firewall/routed'


def network(name, bridge, subnets=('172.30.0.0/16',), ipv4='nat', ipv6='nat', trusted=(), internal=False):
    return dict(name=name, id='0a1b2c3d4e5f', driver='bridge', bridge=bridge, subnets=list(subnets),
                gateway_mode=dict(ipv4=ipv4, ipv6=ipv6), trusted_host_interfaces=list(trusted), internal=internal)


def status(facts, check_id, expected=None):
    expected = EXPECTED if expected is None else expected
    return [c['status'] for c in compliance.evaluate('docker_on_router', facts, expected) if c['id'] == check_id][0]


def test_the_routed_block_is_expected_in_docker_user_between_the_pairs_and_the_allowlist():
    assert [line for line in WANTED['ipv4'] if ROUTED_TAG in line] == \
        compliance.Host({}, EXPECTED).blocks['routed'].rules['ipv4']
    names = [line.split('netops.docker_firewall/')[1].split('"')[0] for line in WANTED['ipv4']]
    assert names[0] == 'accept:int0:ext0' and names[-1] == 'allowlist:ext0' and 'routed' in names


def test_a_missing_guard_fails_the_rules_checks_of_both_families_and_names_it():
    without = [line for line in WANTED['ipv4'] if ROUTED_TAG not in line]
    without_v6 = [line for line in WANTED['ipv6'] if ROUTED_TAG not in line]
    facts = router_facts(v4_lines=without, v6_lines=without_v6)
    assert failed('docker_on_router', facts) == ['router_rules_ipv4', 'router_rules_ipv6']
    missing = details('docker_on_router', facts, 'router_rules_ipv4')
    assert missing and all(line.startswith('missing: ') and ROUTED_TAG in line for line in missing)
    assert any('! -i docker+ -o docker+' in line and line.endswith('-j DROP') for line in missing)


def test_a_guard_for_other_declarations_is_drift():
    facts = router_facts()
    other = dict(EXPECTED, routed=[{'interface': 'wg0'}])
    assert 'router_rules_ipv4' in failed('docker_on_router', facts, other)


def test_converged_direct_routing_passes_and_shows_each_bridge_network():
    facts = router_facts()
    assert status(facts, 'direct_routing') == 'pass'
    assert details('docker_on_router', facts, 'direct_routing') == [
        'daemon.json sets allow-direct-routing',
        'network bridge (bridge docker0, 172.17.0.0/16): gateway mode ipv4 nat, ipv6 nat; trusted host interfaces '
        'none; guarded (docker+ br-+)']


@pytest.mark.parametrize('suite, daemon_json, found, reach', [
    # Docker 28 with allow-direct-routing: Docker lets every interface in; the guard does not cover mybr0.
    ('sid', {'allow-direct-routing': True}, network('lab', 'mybr0'), 'every interface'),
    # Docker 20.10 has no drop of its own.
    ('bookworm', {}, network('lab', 'mybr0'), 'every interface'),
    # Docker 28 without it: a routed or nat-unprotected gateway mode lifts Docker's drop for that network.
    ('sid', {}, network('lab', 'mybr0', subnets=('172.30.0.0/16', '2001:db8:30::/64'), ipv6='routed'),
     'every interface'),
    ('sid', {}, network('lab', 'mybr0', ipv4='nat-unprotected'), 'every interface'),
    # ... and so do trusted host interfaces, for those interfaces.
    ('sid', {}, network('lab', 'mybr0', trusted=('wg0', 'eth3')), 'wg0, eth3'),
])
def test_a_bridge_the_guard_does_not_cover_fails_where_docker_lets_direct_routing_in(suite, daemon_json, found, reach):
    facts = router_facts(suite=suite)
    facts['daemon_json'] = dict(daemon_json, **{'userland-proxy': False})
    facts['networks'] = [DOCKER0, found]
    assert 'direct_routing' in failed('docker_on_router', facts)
    lines = details('docker_on_router', facts, 'direct_routing')
    assert lines[0] == ('network lab: its bridge mybr0 is not one the guard covers (docker+ br-+), and Docker lets %s '
                        'route to its containers: name the bridge docker* or br-* (com.docker.network.bridge.name)'
                        % reach)
    assert lines[-1].startswith('network lab (bridge mybr0, ') and lines[-1].endswith(
        'NOT covered by the guard (docker+ br-+)')


@pytest.mark.parametrize('found', [
    network('lab', 'mybr0'),  # Docker 28's raw drop protects it, nothing lifts it
    network('lab', 'mybr0', internal=True),
    network('lab', 'br-0a1b2c3d4e5f', ipv4='nat-unprotected'),  # the guard covers it
    network('lab', 'docker1', trusted=('wg0',)),
])
def test_a_network_docker_or_the_guard_protects_passes(found):
    facts = router_facts()
    facts['daemon_json'] = {'userland-proxy': False}
    facts['networks'] = [DOCKER0, found]
    assert status(facts, 'direct_routing') == 'pass'


def test_unreadable_networks_fail_and_no_routed_declaration_skips():
    facts = router_facts()
    facts['networks'], facts['networks_error'] = None, 'docker does not answer: Cannot connect to the Docker daemon'
    assert details('docker_on_router', facts, 'direct_routing') == [
        'the Docker networks cannot be read: docker does not answer: Cannot connect to the Docker daemon']
    expected = dict(EXPECTED, routed=None)
    assert status(facts, 'direct_routing', expected) == 'skip'


# --- Docker 29.7.2 on nftables without docker-proxy: a container port published twice --------------


def nftables_29(containers):
    facts = on_docker_29_nftables(router_facts())
    facts['iptables'] = {'nft': {'ipv4': family_facts(capture('docker29', 'n3-switched-after-reboot.iptables-save')),
                                 'ipv6': family_facts('')}}
    facts['containers'] = containers
    return facts


WEB = dict(name='web', network='default', addresses={}, ports='8080/tcp->80, 8082/tcp->80', standalone=True,
           ports_published_twice=['80/tcp'])
DNS = dict(name='dns', network='default', addresses={}, ports='53/udp->53', standalone=True, ports_published_twice=[])


def test_a_container_port_published_twice_is_reported_with_the_way_out():
    facts = nftables_29([WEB, DNS])
    assert status(facts, 'ports_published_twice') == 'fail'
    assert details('docker_on_router', facts, 'ports_published_twice') == [
        'container web publishes 80/tcp more than once: Docker cannot start it again (MASQ TO OWN PORT ... rule '
        'exists); publish each container port once, or keep docker-proxy (docker_on_router_close_proxy_path: false)']
    assert status(nftables_29([DNS]), 'ports_published_twice') == 'pass'


def test_a_stopped_container_publishing_a_port_twice_is_reported_and_an_unread_list_fails():
    facts = nftables_29([DNS])
    facts['stopped_published_twice'] = [dict(name='old-web', restart_policy='always', ports_published_twice=['80/tcp'])]
    assert details('docker_on_router', facts, 'ports_published_twice') == [
        'stopped container old-web (restart policy always) publishes 80/tcp more than once: Docker cannot start it '
        'again; publish each container port once, or keep docker-proxy (docker_on_router_close_proxy_path: false)']
    facts['stopped_published_twice'] = None
    assert details('docker_on_router', facts, 'ports_published_twice') == [
        'the stopped containers could not be read: whether one publishes a port twice is not known']
    facts['stopped_published_twice'] = []
    assert status(facts, 'ports_published_twice') == 'pass'


def test_elsewhere_a_port_published_twice_is_no_problem():
    assert status(router_facts(), 'ports_published_twice') == 'skip'  # Docker 28, iptables
    facts = nftables_29([WEB])
    facts['daemon_json'] = {}  # docker-proxy on, and no allowlist for the profile to switch it off for
    assert status(facts, 'ports_published_twice', dict(EXPECTED, allowlists=[])) == 'skip'
    facts['docker']['major'], facts['decisions']['published_twice_needs_proxy'] = 30, False
    assert status(facts, 'ports_published_twice') == 'skip'


def test_a_routed_declaration_s_ipset_is_checked_as_the_allowlists_sets_are():
    expected = dict(EXPECTED, routed=[{'interface': 'int0', 'sources': ['198.51.100.0/28'], 'source_sets': 'always'}])
    # WANTED with int0's returns matching the set in place of EXPECTED's (no IPv6 source: none in IPv6).
    routed = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment "netops.docker_firewall/routed"'
    returns = ['-A DOCKER-USER -i int0 -o docker+ -m set --match-set netops-dfwr-int0-v4 src %s -j RETURN' % routed,
               '-A DOCKER-USER -i int0 -o br-+ -m set --match-set netops-dfwr-int0-v4 src %s -j RETURN' % routed]
    assert all('-d 172.17.0.0/16 -i int0' in line for line in WANTED['ipv4'][4:6])
    wanted = dict(ipv4=WANTED['ipv4'][:4] + returns + WANTED['ipv4'][6:], ipv6=WANTED['ipv6'])
    facts = router_facts(v4_lines=wanted['ipv4'], v6_lines=wanted['ipv6'])
    facts['persistence']['kept_rules'] = dict(wanted)
    facts['nftables']['ours']['text'] = compliance.nft.render(compliance.Host({}, expected).wanted_table)
    facts['persistence']['kept_table'] = compliance.nft.payload(compliance.Host({}, expected).wanted_table)
    routed_set = compliance.Host({}, expected).blocks['routed'].sets['netops-dfwr-int0-v4']
    kept = compliance.ipset.restore_text(compliance.ipset.render(routed_set))
    facts['persistence']['kept_sets'] = kept
    facts['ipsets'] = {'text': kept, 'error': None}
    assert failed('docker_on_router', facts, expected) == []
    facts['ipsets'] = {'text': '', 'error': None}
    assert details('docker_on_router', facts, 'ipsets', expected) == ['missing: ipset netops-dfwr-int0-v4 (1 entries)']
