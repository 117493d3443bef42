# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compliance check `reachability`: who can reach the published ports and the containers'
addresses, as docker_firewall_info works it out on the host (`reachability: true`), against the
declared allowlists and routed access. Facts as test_compliance.py builds them (a converged Docker
28.5 router, its capture after `docker run -d -p 8080:80`), with the answer docker_firewall_info
returns for the same rules; three hosts broken on purpose by hand: an ACCEPT above Docker's jump,
ufw-like chains ahead of DOCKER-USER, a network in gateway mode nat-unprotected. Every expected detail
is written here by hand from the rules."""

from plugins.module_utils.test_compliance import (
    DOCKER0,
    EXPECTED,
    WANTED,
    capture,
    on_docker_29_nftables,
    router_facts,
    with_docker_user,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import host_reachability

# The router's interfaces as `ip -j addr show` gives them (parsed): ext0 the WAN side of the allowlist,
# int0 the LAN side of the router pair and of routed access.
NAMES = ['lo', 'ext0', 'int0', 'docker0']
ADDRESSES = {'lo': ['127.0.0.1/8'], 'ext0': ['192.0.2.10/24'], 'int0': ['10.0.0.1/24'], 'docker0': ['172.18.0.1/16']}
WEB = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
       'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.18.0.2'}}}}
DNAT = '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'
# The path of a new connection to 8080 up to FORWARD, in this capture.
TO_FORWARD = ('raw PREROUTING: -P PREROUTING ACCEPT -> nat PREROUTING: -A PREROUTING -m addrtype --dst-type LOCAL -j '
              'DOCKER -> nat DOCKER: %s' % DNAT)
# Every IPv4 source but the allowlist's 198.51.100.18.
NOT_ALLOWED = '0.0.0.0-198.51.100.17, 198.51.100.19-255.255.255.255'


def converged_v4():
    return with_docker_user(capture('sid', 'q2-published-default.iptables-save'), WANTED['ipv4'])


def facts_with(v4, containers=(WEB,), networks=None, names=None, addresses=None, nft_tables=None):
    """The converged router's facts with IPv4 rules `v4`, and the answer docker_firewall_info gives for
    them (userland-proxy false, forwarding on in IPv4 only, the backstop table beside: left out)."""
    facts = router_facts()
    facts['iptables']['nft']['ipv4'] = family_facts(v4)
    v6 = with_docker_user(capture('sid', 'q2-published-default.ip6tables-save'), WANTED['ipv6'])
    tables = ['inet netops-docker-firewall'] if nft_tables is None else nft_tables
    names = NAMES if names is None else names
    addresses = ADDRESSES if addresses is None else addresses
    facts['reachability'] = host_reachability({'nft': {'ipv4': v4, 'ipv6': v6}}, 'nft', addresses, names,
                                              list(containers), False, {'ipv4': True, 'ipv6': False},
                                              nftables_tables=tables)
    facts['reachability'].pop('seconds')
    if networks is not None:
        facts['networks'] = networks
    return facts


def results(facts, expected=None):
    return dict((c['id'], (c['status'], c['details']))
                for c in compliance.evaluate('docker_on_router', facts, EXPECTED if expected is None else expected))


def failed(facts, expected=None):
    return [i for i, (status, _details) in results(facts, expected).items() if status == 'fail']


def test_the_check_is_registered_for_the_router_profile_alone():
    assert [c.profiles for c in compliance.REGISTRY if c.id == 'reachability'] == [('docker_on_router',)]
    assert 'reachability' not in compliance.PROFILE_CHECKS['docker_beside_kube_proxy']


def test_a_converged_router_passes_it_with_every_other_router_check():
    found = results(facts_with(converged_v4()))
    assert found['reachability'] == ('pass', [])
    assert [i for i, (status, _d) in found.items() if status == 'pass'] == [
        i for i in compliance.PROFILE_CHECKS['docker_on_router'] if i != 'ports_published_twice']


def test_without_the_answer_it_is_skipped_and_says_why():
    assert results(router_facts())['reachability'] == (
        'skip', ['docker_firewall_info did not work out reachability (its option reachability: true)'])


# --- (i) an ACCEPT written by hand above Docker's jump ---------------------------------------------

def test_an_accept_above_the_jump_to_docker_user_lets_a_denied_source_reach_the_port():
    v4 = converged_v4().replace('-A FORWARD -j DOCKER-USER\n',
                                '-A FORWARD -s 203.0.113.7/32 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n', 1)
    facts = facts_with(v4)
    assert failed(facts) == ['docker_user_first', 'reachability']
    # The structural check names the rule; reachability names who, where, which port and the way in.
    assert results(facts)['docker_user_first'][1] == [
        'ipv4 FORWARD accepts before DOCKER-USER: -A FORWARD -s 203.0.113.7/32 -j ACCEPT']
    assert results(facts)['reachability'][1] == [
        'ipv4 web 8080/tcp: 203.0.113.7/32 on ext0 reaches the container, which the allowlist of ext0 does not allow; '
        'path: %s -> filter FORWARD: -A FORWARD -s 203.0.113.7/32 -j ACCEPT' % TO_FORWARD]


# --- (ii) ufw-like chains ahead of DOCKER-USER ----------------------------------------------------

UFW_CHAINS = [':ufw-before-forward - [0:0]', ':ufw-user-forward - [0:0]',
              '-A ufw-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT']


def with_ufw(lines):
    """The converged rules with ufw's chains jumped to from FORWARD before DOCKER-USER (ufw started after
    Docker's jump was written), holding `lines` besides."""
    v4 = converged_v4().replace('-A FORWARD -j DOCKER-USER\n',
                                '-A FORWARD -j ufw-before-forward\n-A FORWARD -j DOCKER-USER\n', 1)
    head, _sep, tail = v4.partition(':DOCKER - [0:0]\n')
    rules = UFW_CHAINS + ['-A ufw-before-forward -j ufw-user-forward'] + lines
    chains = [line for line in rules if line.startswith(':')]
    body = [line for line in rules if not line.startswith(':')]
    tail = tail.replace('COMMIT\n', '\n'.join(body) + '\nCOMMIT\n', 1)
    return head + '\n'.join(chains) + '\n:DOCKER - [0:0]\n' + tail


def test_ufw_accepting_the_port_from_anywhere_ahead_of_docker_user_is_named_with_its_chain():
    facts = facts_with(with_ufw(['-A ufw-user-forward -p tcp -m tcp --dport 80 -j ACCEPT']))
    assert failed(facts) == ['docker_user_first', 'reachability']
    assert results(facts)['docker_user_first'][1] == [
        'ipv4 FORWARD accepts before DOCKER-USER: -A FORWARD -j ufw-before-forward']
    assert results(facts)['reachability'][1] == [
        'ipv4 web 8080/tcp: %s on ext0 reaches the container, which the allowlist of ext0 does not allow; path: %s '
        '-> filter FORWARD: -A FORWARD -j ufw-before-forward -> filter ufw-before-forward: -A ufw-before-forward -j '
        'ufw-user-forward -> filter ufw-user-forward: -A ufw-user-forward -p tcp -m tcp --dport 80 -j ACCEPT'
        % (NOT_ALLOWED, TO_FORWARD)]


def test_ufw_chains_that_accept_only_replies_fail_the_structural_check_not_reachability():
    facts = facts_with(with_ufw([]))
    # docker_user_first sees a chain that can accept ahead of DOCKER-USER; what it accepts is no new connection.
    assert failed(facts) == ['docker_user_first']
    assert results(facts)['reachability'] == ('pass', [])


# --- (iii) a network in gateway mode nat-unprotected ------------------------------------------------

def nat_unprotected(bridge):
    """The converged rules plus a network 172.30.0.0/16 on `bridge` in gateway mode nat-unprotected, as
    Docker 28.5 writes it (moby's iptablesdoc usernet-portmap-natunprot, in 28.5's chains): its container
    172.30.0.2 publishes 8081:80; no raw-table drop for it, and in DOCKER an ACCEPT for everything routed
    into the bridge instead of a rule per published port and a DROP."""
    v4 = converged_v4()
    v4 = v4.replace('-A DOCKER ! -i docker0 -o docker0 -j DROP\n', '-A DOCKER ! -i docker0 -o docker0 -j DROP\n'
                    '-A DOCKER ! -i %s -o %s -j ACCEPT\n' % (bridge, bridge))
    v4 = v4.replace('-A DOCKER-BRIDGE -o docker0 -j DOCKER\n', '-A DOCKER-BRIDGE -o docker0 -j DOCKER\n'
                    '-A DOCKER-BRIDGE -o %s -j DOCKER\n' % bridge)
    v4 = v4.replace('-A DOCKER-FORWARD -i docker0 -j ACCEPT\n', '-A DOCKER-FORWARD -i docker0 -j ACCEPT\n'
                    '-A DOCKER-FORWARD -i %s -j ACCEPT\n' % bridge)
    v4 = v4.replace('-A DOCKER -i docker0 -j RETURN\n', '-A DOCKER -i docker0 -j RETURN\n-A DOCKER -i %s -j RETURN\n'
                    '-A DOCKER ! -i %s -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.30.0.2:80\n'
                    % (bridge, bridge))
    assert v4.count(bridge) == 6
    web2 = {'Name': '/web2', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}},
            'NetworkSettings': {'Networks': {'lab': {'IPAddress': '172.30.0.2'}}}}
    lab = dict(name='lab', id='0a1b2c3d4e5f', driver='bridge', bridge=bridge, subnets=['172.30.0.0/16'],
               gateway_mode=dict(ipv4='nat-unprotected', ipv6='nat'), trusted_host_interfaces=[], internal=False)
    addresses = dict(ADDRESSES, **{bridge: ['172.30.0.1/16']})
    return facts_with(v4, containers=(WEB, web2), networks=[DOCKER0, lab], names=NAMES + [bridge], addresses=addresses)


def test_a_nat_unprotected_network_the_guard_does_not_cover_is_reachable_by_routing_and_the_path_is_named():
    facts = nat_unprotected('bridge1')
    assert failed(facts) == ['direct_routing', 'reachability']
    accept = 'filter DOCKER: -A DOCKER ! -i bridge1 -o bridge1 -j ACCEPT'
    allowlisted = ('filter FORWARD: -A FORWARD -j DOCKER-USER -> filter DOCKER-USER: -A DOCKER-USER -s '
                   '198.51.100.18/32 -i ext0 -m comment --comment "netops.docker_firewall/allowlist:ext0" -j RETURN -> ')
    to_docker = ('filter FORWARD: -A FORWARD -j DOCKER-FORWARD -> filter DOCKER-FORWARD: -A DOCKER-FORWARD -j '
                 'DOCKER-CT -> filter DOCKER-FORWARD: -A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1 -> filter '
                 'DOCKER-FORWARD: -A DOCKER-FORWARD -j DOCKER-BRIDGE -> filter DOCKER-BRIDGE: -A DOCKER-BRIDGE -o '
                 'bridge1 -j DOCKER -> %s' % accept)
    routed = 'ipv4 web2 172.30.0.2 port 80/tcp routed'
    declared = 'docker_on_router_routed'
    assert results(facts)['reachability'][1] == [
        '%s: 198.51.100.18/32 on ext0 reaches the container, which %s does not allow; path: raw PREROUTING: '
        '-P PREROUTING ACCEPT -> nat PREROUTING: -P PREROUTING ACCEPT -> %s%s' % (routed, declared, allowlisted, to_docker),
        '%s: 0.0.0.0/0 on int0 reaches the container, which %s does not allow; path: raw PREROUTING: -P PREROUTING '
        'ACCEPT -> nat PREROUTING: -P PREROUTING ACCEPT -> filter FORWARD: -A FORWARD -j DOCKER-USER -> %s'
        % (routed, declared, to_docker),
        '%s: 0.0.0.0/0 on + reaches the container, which %s does not allow; path: raw PREROUTING: -P PREROUTING '
        'ACCEPT -> nat PREROUTING: -P PREROUTING ACCEPT -> filter FORWARD: -A FORWARD -j DOCKER-USER -> %s'
        % (routed, declared, to_docker)]


def test_a_nat_unprotected_network_on_a_bridge_the_guard_covers_is_not_reachable_by_routing():
    facts = nat_unprotected('br-0a1b2c3d4e5f')
    assert failed(facts) == []
    assert results(facts)['reachability'] == ('pass', [])


# --- a declared source that cannot reach, routed access, unknown ------------------------------------

def test_an_allowed_source_that_cannot_reach_is_drift_too():
    v4 = converged_v4().replace('-A FORWARD -j DOCKER-USER\n',
                                '-A FORWARD -s 198.51.100.18/32 -j DROP\n-A FORWARD -j DOCKER-USER\n', 1)
    facts = facts_with(v4)
    assert failed(facts) == ['reachability']
    assert results(facts)['reachability'][1] == [
        'ipv4 web 8080/tcp: 198.51.100.18/32 on ext0, which the allowlist of ext0 allows, cannot reach it: dropped '
        '(filter FORWARD: -A FORWARD -s 198.51.100.18/32 -j DROP)']


def test_declared_routed_access_is_checked_both_ways():
    # int0 may route to 172.18.0.0/16 from 10.0.0.0/24 (Docker 28's raw drop lifted: allow-direct-routing).
    expected = dict(EXPECTED, routed=[{'interface': 'int0', 'networks': ['172.18.0.0/16'], 'sources': ['10.0.0.0/24']}])
    # WANTED's IPv4 rules with this declaration's returns in place of those of EXPECTED's.
    routed = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment "netops.docker_firewall/routed"'
    returns = ['-A DOCKER-USER -s 10.0.0.0/24 -d 172.18.0.0/16 -i int0 -o docker+ %s -j RETURN' % routed,
               '-A DOCKER-USER -s 10.0.0.0/24 -d 172.18.0.0/16 -i int0 -o br-+ %s -j RETURN' % routed]
    assert all('-d 172.17.0.0/16 -i int0' in line for line in WANTED['ipv4'][4:6])
    wanted = WANTED['ipv4'][:4] + returns + WANTED['ipv4'][6:]
    v4 = with_docker_user(capture('sid', 'q2-published-default.iptables-save'), wanted)
    lifted = v4.replace('-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP\n', '')
    assert results(facts_with(lifted), expected)['reachability'] == ('pass', [])
    # With the raw drop Docker writes without allow-direct-routing, the declared sources cannot route in.
    assert results(facts_with(v4), expected)['reachability'] == ('fail', [
        'ipv4 web 172.18.0.2 port 80/tcp routed: 10.0.0.0/24 on int0, which docker_on_router_routed allows, cannot '
        'reach it: dropped (raw PREROUTING: -A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP)'])


def test_an_unknown_slice_fails_naming_the_rule_never_passes():
    hand = '-A DOCKER-USER -i ext0 -m limit --limit 5/sec -j RETURN'
    facts = facts_with(with_docker_user(capture('sid', 'q2-published-default.iptables-save'), [hand] + WANTED['ipv4']))
    status, details = results(facts)['reachability']
    assert status == 'fail'
    assert details == ['unknown: ipv4 web 8080/tcp: 0.0.0.0/0 on ext0: -m limit --limit (filter DOCKER-USER: %s)' % hand]


def test_docker_s_nftables_backend_and_unread_state_are_unknown():
    facts = facts_with(converged_v4())
    facts['docker']['firewall_backend'] = facts['decisions']['firewall_backend'] = 'nftables'
    assert results(facts)['reachability'] == ('fail', [
        'unknown: Docker runs its nftables firewall backend, and its nftables ruleset was not walked '
        '(docker_firewall_info could not read it): who can reach the published ports is not known'])
    facts = facts_with(converged_v4(), names=[], addresses={})
    facts['reachability']['errors'] = ['ip -j addr show failed (rc 1): denied']
    assert results(facts)['reachability'][1][0] == 'unknown: ip -j addr show failed (rc 1): denied'


# --- Docker 29's nftables firewall backend: the ruleset walked ---------------------------------------

# Declared without routed access: Docker 29 drops direct routing to its containers in its raw chain
# (capture n4, no allow-direct-routing), which a routed declaration would fail on (as it should).
EXPECTED_29 = dict(EXPECTED, routed=None)
WEB_29 = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
          'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2'}}}}
ADDRESSES_29 = dict(ADDRESSES, docker0=['172.17.0.1/16'])


def nftables_router(extra_source=None):
    """A Docker 29.7 router on its nftables backend (capture n4: no iptables rule), the collection's table
    as the profile writes it for EXPECTED_29 (with `extra_source` added to ext0's set by hand), and the
    answer docker_firewall_info gives from `nft list ruleset`."""
    expected = compliance.Host({}, EXPECTED_29)
    table = expected.wanted_table
    ours = compliance.nft.render(table)
    if extra_source:
        ours = ours.replace('elements = { 198.51.100.18 }', 'elements = { 198.51.100.18, %s }' % extra_source)
    facts = on_docker_29_nftables(router_facts(v4_lines=[], v6_lines=[]))
    tables = ['ip docker-bridges', 'ip6 docker-bridges', 'inet netops-docker-firewall']
    facts['reachability'] = host_reachability(
        {'nft': {'ipv4': '', 'ipv6': ''}}, 'nft', ADDRESSES_29, NAMES, [WEB_29], False, {'ipv4': True, 'ipv6': False},
        nftables_tables=tables, nftables_ruleset=capture('docker29', 'n4-nftables-usernet-published.nft-ruleset') + ours)
    facts['reachability'].pop('seconds')
    return facts


def test_on_docker_29_s_nftables_backend_the_walked_ruleset_passes_when_it_holds_the_allowlist():
    assert results(nftables_router(), EXPECTED_29)['reachability'] == ('pass', [])


def test_on_docker_29_s_nftables_backend_a_source_added_by_hand_to_our_set_fails_with_its_path():
    status, found = results(nftables_router('203.0.113.7'), EXPECTED_29)['reachability']
    assert status == 'fail'
    assert found == [
        'ipv4 web 8080/tcp: 203.0.113.7/32 on ext0 reaches the container, which the allowlist of ext0 does not allow; '
        'path: ip docker-bridges raw-PREROUTING: policy accept -> ip docker-bridges nat-PREROUTING: fib daddr type '
        'local counter jump nat-prerouting-and-output -> ip docker-bridges nat-prerouting-and-output: iifname != '
        '"docker0" tcp dport 8080 counter dnat to 172.17.0.2:80 comment "DNAT" -> inet netops-docker-firewall '
        'forward: iifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0" -> inet '
        'netops-docker-firewall allowlist-ext0: ip saddr @allowlist-ext0-ipv4 return -> inet netops-docker-firewall '
        'forward: policy accept -> ip docker-bridges filter-FORWARD: oifname vmap @filter-forward-in-jumps -> ip '
        'docker-bridges filter-forward-in__docker0: ip daddr 172.17.0.2 tcp dport 80 counter accept']


# --- the fleet report counts it -------------------------------------------------------------------

def test_the_report_and_its_junit_file_count_the_check():
    from ansible_collections.netops.docker_firewall.plugins.filter.compliance import compliance_report
    from ansible_collections.netops.docker_firewall.plugins.plugin_utils._compliance_report_files import render

    broken = converged_v4().replace('-A FORWARD -j DOCKER-USER\n',
                                    '-A FORWARD -s 203.0.113.7/32 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n', 1)
    hostvars = dict((name, {'__compliance_result': {'profile': 'docker_on_router', 'checks': compliance.evaluate(
        'docker_on_router', facts, EXPECTED)}}) for name, facts in (('r1', facts_with(broken)),
                                                                    ('r2', facts_with(converged_v4()))))
    report = compliance_report(hostvars, ['r1', 'r2'])
    assert len(report['checks']) == 21 and report['checks'][9] == {
        'id': 'reachability', 'title': 'who can open a connection to each published port and container address, as '
        'worked out from the rules in force, is what the allowlists and routed-access declarations say'}
    assert [h['failed'] for h in report['hosts']] == [['docker_user_first', 'reachability'], []]
    assert report['totals'] == {'hosts': 2, 'compliant': 1, 'failed_checks': 2}
    junit = render(report, 'junit')
    assert '<testsuites name="docker firewall compliance" tests="42" failures="2">' in junit
    # 21 checks per host, 6 of them the Kubernetes node's and ports_published_twice (Docker 29) skipped.
    assert '<testsuite name="r1" tests="21" failures="2" errors="0" skipped="7">' in junit
    assert '<testsuite name="r2" tests="21" failures="0" errors="0" skipped="7">' in junit
    assert junit.count('name="reachability">') == 2 and junit.count('<failure message="who can open') == 1
