# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reachability engine on nftables: Docker 29.7's nftables firewall backend (captures n1, n2, n4:
`ip docker-bridges` beside iptables-nft's leftovers, or alone), the collection's table beside it (as
_nft renders it, and as nft printed it back in the lab), and unmodelled expressions. Every expected
value is written here by hand from the rules of the capture; none is computed by the engine."""

import ipaddress

import pytest

from captures import capture
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _blocks as engine
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import (
    host_reachability,
    needs_ruleset,
    reachability,
)

# n4 (and n1): `docker run -p 8080:80` on the default bridge (web, 172.17.0.2 on docker0) and
# `-p 8081:80` on a user network (bridge br-b3ecdfc169bc, 198.51.100.128/26; container .130).
N4 = 'n4-nftables-usernet-published'
BRIDGE = 'br-b3ecdfc169bc'
WEB = dict(container='web', family='ipv4', address='172.17.0.2', host_ip=None, host_port='8080',
           container_port='80', protocol='tcp')
ADDRESSES = {'lo': ['127.0.0.1/8'], 'ext0': ['192.0.2.10/24'], 'docker0': ['172.17.0.1/16'],
             BRIDGE: ['198.51.100.129/26']}
INTERFACES = ['lo', 'ext0', 'docker0', BRIDGE, 'wg0']
HOSTS = ['172.17.0.1', '192.0.2.10', '198.51.100.129']
EVERYWHERE = ['0.0.0.0-255.255.255.255']
DOCKER = 'ip docker-bridges'
OURS = 'inet netops-docker-firewall'
# The path of a published connection through Docker 29's nftables chains, step by step.
RAW_PASSES = (DOCKER, 'raw-PREROUTING', 'policy accept')
DNAT_8080 = [(DOCKER, 'nat-PREROUTING', 'fib daddr type local counter jump nat-prerouting-and-output'),
             (DOCKER, 'nat-prerouting-and-output',
              'iifname != "docker0" tcp dport 8080 counter dnat to 172.17.0.2:80 comment "DNAT"')]
INTO_DOCKER0 = (DOCKER, 'filter-FORWARD', 'oifname vmap @filter-forward-in-jumps')
PUBLISHED = (DOCKER, 'filter-forward-in__docker0', 'ip daddr 172.17.0.2 tcp dport 80 counter accept')
DIRECT_DROP = dict(why='dropped', table=DOCKER, chain='raw-PREROUTING',
                   rule='ip daddr 172.17.0.2 iifname != "docker0" counter drop comment "DROP DIRECT ACCESS"')


def ask(ruleset, rules='', bindings=(WEB,), **options):
    options.setdefault('interfaces', INTERFACES)
    options.setdefault('userland_proxy', False)
    return reachability(rules, 'ipv4', list(bindings), ADDRESSES, nftables_ruleset=ruleset, **options)


def table(slices):
    """(interface, destinations, source ranges, verdict, to) of each slice."""
    return [(s['interface'], s['destinations'], s['source_ranges'], s['verdict'], s['to']) for s in slices]


def path(found):
    return [(step['table'], step['chain'], step['rule']) for step in found['path']]


def test_docker_29_nftables_backend_publishes_to_every_interface_but_the_container_s_bridge():
    answer = ask(capture('docker29', N4 + '.nft-ruleset'), routed=[dict(address='172.17.0.2', port=80)])
    assert answer['nftables'] == dict(walked=[DOCKER], not_modelled=[])  # ip6 docker-bridges is the other family's
    [port] = answer['ports']
    # From its own bridge Docker does not DNAT (iifname != "docker0"): the host's port, where no docker-proxy listens.
    assert table(port['slices']) == [
        (BRIDGE, HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('docker0', HOSTS, EVERYWHERE, 'unreachable', None),
        ('ext0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('wg0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('+', HOSTS, EVERYWHERE, 'reachable', 'container')]
    assert port['slices'][1]['reason'] == dict(why='delivered to the host, where no docker-proxy listens '
                                                   '(userland-proxy off)')
    assert path(port['slices'][2]) == [RAW_PASSES] + DNAT_8080 + [INTO_DOCKER0, PUBLISHED]
    # Routed straight to the container: Docker's raw drop, from every interface but docker0.
    [routed] = answer['routed']
    assert table(routed['slices']) == [
        (BRIDGE, ['172.17.0.2'], EVERYWHERE, 'unreachable', None),
        ('docker0', ['172.17.0.2'], EVERYWHERE, 'reachable', 'container'),
        ('ext0', ['172.17.0.2'], EVERYWHERE, 'unreachable', None),
        ('wg0', ['172.17.0.2'], EVERYWHERE, 'unreachable', None),
        ('+', ['172.17.0.2'], EVERYWHERE, 'unreachable', None)]
    assert path(routed['slices'][1]) == [
        RAW_PASSES, (DOCKER, 'nat-PREROUTING', 'policy accept'), INTO_DOCKER0,
        (DOCKER, 'filter-forward-in__docker0', 'iifname "docker0" counter accept comment "ICC"')]
    assert [s['reason'] == DIRECT_DROP for s in routed['slices']] == [True, False, True, True, True]


def test_the_user_network_s_port_and_docker_proxy_for_its_own_bridge():
    web2 = dict(WEB, container='web2', address='198.51.100.130', host_port='8081')
    [port] = ask(capture('docker29', N4 + '.nft-ruleset'), bindings=[web2], userland_proxy=True)['ports']
    assert table(port['slices']) == [
        (BRIDGE, HOSTS, EVERYWHERE, 'reachable', 'host'),
        ('docker0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('ext0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('wg0', HOSTS, EVERYWHERE, 'reachable', 'container'),
        ('+', HOSTS, EVERYWHERE, 'reachable', 'container')]
    assert path(port['slices'][2])[-1] == (DOCKER, 'filter-forward-in__' + BRIDGE,
                                           'ip daddr 198.51.100.130 tcp dport 80 counter accept')
    # Not DNAT'd on its own bridge: the host's socket, no base chain on input.
    assert path(port['slices'][0]) == [RAW_PASSES, (DOCKER, 'nat-PREROUTING', 'fib daddr type local counter jump '
                                                    'nat-prerouting-and-output'), (DOCKER, 'nat-PREROUTING', 'policy accept')]


@pytest.mark.parametrize('capture_name, verdict', [('n1-switched-fwd0', 'unreachable'),
                                                   ('n2-switched-before-reboot', 'reachable')])
def test_iptables_leftovers_after_the_switch_hook_forward_beside_docker_s_chain(capture_name, verdict):
    """n1 and n2: Docker switched from iptables to nftables; until the reboot iptables-nft keeps FORWARD
    (policy DROP in n1, ACCEPT in n2) with its jump to the empty DOCKER-USER, at the same priority as
    Docker's filter-FORWARD. Docker's accept does not end the other base chain: n1's policy drops."""
    ruleset = capture('docker29', capture_name + '.nft-ruleset')
    rules = capture('docker29', capture_name + '.iptables-save')
    [port] = ask(ruleset, rules=rules)['ports']
    ext0 = [s for s in port['slices'] if s['interface'] == 'ext0']
    assert [(s['source_ranges'], s['verdict']) for s in ext0] == [(EVERYWHERE, verdict)]
    if verdict == 'unreachable':
        assert ext0[0]['reason'] == dict(why='dropped', table='filter', chain='FORWARD', rule='-P FORWARD DROP')
    else:  # iptables' tables come first where the priority is the same; both orders end alike
        assert path(ext0[0])[-4:] == [('filter', 'FORWARD', '-A FORWARD -j DOCKER-USER'),
                                      ('filter', 'FORWARD', '-P FORWARD ACCEPT'), INTO_DOCKER0, PUBLISHED]


def our_table(**blocks):
    return nft.render(nft.plan_table(None, blocks))


def test_our_allowlist_drops_a_denied_source_before_docker_s_accept():
    allowlist = engine.allowlist_block('ext0', ['198.51.100.18', '198.51.100.32/28'])
    ruleset = capture('docker29', N4 + '.nft-ruleset') + our_table(**{'allowlist:ext0': allowlist})
    answer = ask(ruleset)
    assert answer['nftables']['walked'] == [DOCKER, OURS]
    [port] = answer['ports']
    ext0 = [s for s in port['slices'] if s['interface'] == 'ext0']
    assert [(s['source_ranges'], s['verdict']) for s in ext0] == [
        (['198.51.100.18-198.51.100.18', '198.51.100.32-198.51.100.47'], 'reachable'),
        (['0.0.0.0-198.51.100.17', '198.51.100.19-198.51.100.31', '198.51.100.48-255.255.255.255'], 'unreachable')]
    # Our base chain returns the allowed source (policy accept), and Docker's chain still decides.
    assert path(ext0[0])[-5:] == [
        (OURS, 'forward', 'iifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0"'),
        (OURS, 'allowlist-ext0', 'ip saddr @allowlist-ext0-ipv4 return'),
        (OURS, 'forward', 'policy accept'), INTO_DOCKER0, PUBLISHED]
    assert ext0[1]['reason'] == dict(why='dropped', table=OURS, chain='allowlist-ext0', rule='drop')
    # Other interfaces: not the allowlist's business.
    assert [(s['interface'], s['verdict']) for s in port['slices'] if s['interface'] in ('wg0', '+')] == [
        ('wg0', 'reachable'), ('+', 'reachable')]


def test_our_table_as_nft_printed_it_back_in_the_lab():
    """our-table-listed.nft: ext0's allowlist only for ports 8080, 9000-9010 (sources 198.51.100.0/28, .18,
    .40-.50); wg+ lets every IPv6 source on and no IPv4 one."""
    ruleset = capture('docker29', N4 + '.nft-ruleset') + capture('docker29', 'our-table-listed.nft')
    web9000 = dict(WEB, host_port='9005')
    web22 = dict(WEB, host_port='2222')
    ports = ask(ruleset.replace('tcp dport 8080', 'tcp dport { 2222, 8080, 9005 }'),
                bindings=[WEB, web9000, web22])['ports']
    allowed = ['198.51.100.0-198.51.100.15', '198.51.100.18-198.51.100.18', '198.51.100.40-198.51.100.50']
    others = ['0.0.0.0-198.51.99.255', '198.51.100.16-198.51.100.17', '198.51.100.19-198.51.100.39',
              '198.51.100.51-255.255.255.255']
    ext0 = [[(s['source_ranges'], s['verdict']) for s in port['slices'] if s['interface'] == 'ext0'] for port in ports]
    assert ext0 == [[(allowed, 'reachable'), (others, 'unreachable')]] * 2 + [
        # 2222 is not among the allowlist's ports: everyone reaches it (the allowed by their own rule's return).
        [(others, 'reachable'), (allowed, 'reachable')]]
    assert [(s['source_ranges'], s['verdict']) for s in ports[0]['slices'] if s['interface'] == 'wg0'] == [
        (EVERYWHERE, 'unreachable')]  # no IPv4 source in wg+'s set: dropped


def test_routed_access_our_accept_does_not_override_docker_s_raw_drop():
    routed = engine.routed_block([dict(interface='wg0', networks=['172.17.0.0/16'])])
    ruleset = capture('docker29', N4 + '.nft-ruleset') + our_table(**{engine.ROUTED: routed})
    [target] = ask(ruleset, bindings=(), routed=[dict(address='172.17.0.2', port=80)])['routed']
    wg0 = [s for s in target['slices'] if s['interface'] == 'wg0']
    assert [(s['verdict'], s['reason']) for s in wg0] == [('unreachable', DIRECT_DROP)]
    # Without Docker's raw drop (allow-direct-routing), our guard decides: wg0 routes, ext0 is dropped.
    open_ruleset = ruleset.replace('ip daddr 172.17.0.2 iifname != "docker0" counter packets 0 bytes 0 drop', '')
    [target] = ask(open_ruleset, bindings=(), routed=[dict(address='172.17.0.2', port=80)])['routed']
    verdicts = dict((s['interface'], (s['verdict'], s['reason'])) for s in target['slices'])
    assert verdicts['wg0'][0] == 'reachable'
    assert verdicts['ext0'] == ('unreachable', dict(why='dropped', table=OURS, chain='routed', rule='drop'))
    assert verdicts['docker0'][0] == 'reachable'


UNKNOWN_RULES = [
    ('meta mark 0x1 accept', 'statement meta mark 0x1'),  # a mark read (a mark set is passed over)
    ('tcp flags syn / fin,syn,rst,ack drop', 'statement tcp flags syn'),
    ('ip saddr . meta mark { 198.51.100.1 . 0x1 } drop', 'a concatenation with meta mark'),
    ('limit rate 10/second accept', 'statement limit rate 10/second'),
    ('ct mark 0x1 drop', 'statement ct mark 0x1'),
]


@pytest.mark.parametrize('rule, why', UNKNOWN_RULES)
def test_an_expression_not_modelled_makes_the_slice_unknown_naming_the_rule(rule, why):
    ruleset = capture('docker29', N4 + '.nft-ruleset') + (
        'table inet filter {\n\tchain forward {\n\t\ttype filter hook forward priority filter + 10; policy accept;\n'
        '\t\tiifname "wg0" %s\n\t}\n}\n' % rule)
    [port] = ask(ruleset)['ports']
    wg0 = [s for s in port['slices'] if s['interface'] == 'wg0']
    assert [(s['verdict'], s['reason']) for s in wg0] == [
        ('unknown', dict(table='inet filter', chain='forward', rule='iifname "wg0" ' + rule, why=why))]
    # Known matches that cannot hold change nothing: ext0 is not wg0.
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['reachable']


def test_conntrack_before_conntrack_and_chains_the_walk_does_not_run():
    raw = ('table ip early {\n\tchain pre {\n\t\ttype filter hook prerouting priority raw; policy accept;\n'
           '\t\tct state new iifname "wg0" drop\n\t}\n}\n'
           'table netdev edge {\n\tchain in {\n\t\ttype filter hook ingress device "ext0" priority -500; policy accept;\n'
           '\t\tip saddr 192.0.2.1 drop\n\t}\n}\n')
    [port] = ask(capture('docker29', N4 + '.nft-ruleset') + raw)['ports']
    verdicts = dict((s['interface'], (s['verdict'], s['reason'])) for s in port['slices'])
    assert verdicts['wg0'] == ('unknown', dict(table='ip early', chain='pre', rule='ct state new iifname "wg0" drop',
                                               why='connection tracking before conntrack has seen the packet'))
    # A netdev table's ingress chain with a rule is not walked: whatever the rest delivers is unknown.
    assert verdicts['ext0'] == ('unknown', dict(why='nftables not modelled: netdev edge (netdev tables are not modelled)'))


def test_base_chains_at_one_priority_whose_order_decides_are_unknown():
    """Two NAT chains of prerouting at dstnat, both DNATing port 8080, to two containers: the one the
    kernel asks first wins, and which that is no listing tells."""
    other = ('table ip other {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n'
             '\t\tiifname "wg0" tcp dport 8080 dnat to 172.17.0.3:80\n\t}\n}\n')
    [port] = ask(capture('docker29', N4 + '.nft-ruleset') + other)['ports']
    verdicts = dict((s['interface'], (s['verdict'], s['reason'])) for s in port['slices'])
    assert verdicts['wg0'] == ('unknown', dict(
        why='base chains ip docker-bridges nat-PREROUTING, ip other pre hook at the same priority; the order the '
            'kernel runs them in is not known, and it decides'))
    assert verdicts['ext0'][0] == 'reachable'


def test_without_iptables_iptables_nft_s_own_tables_with_rules_are_unknown():
    ruleset = capture('docker29', 'n1-switched-fwd0.nft-ruleset')
    answer = ask(ruleset, rules=None)
    assert answer['nftables']['not_modelled'] == [
        'ip filter (iptables-nft rules not given as iptables-save text)']
    assert set(s['verdict'] for s in answer['ports'][0]['slices']) == {'unknown', 'unreachable'}


def test_needs_ruleset_and_the_host_answer():
    assert needs_ruleset(['ip filter', 'ip6 nat']) is False
    assert needs_ruleset(['ip filter', 'ip docker-bridges']) is True
    assert needs_ruleset(None) is False
    inspect = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
               'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2', 'GlobalIPv6Address': ''}}}}
    ruleset = capture('docker29', N4 + '.nft-ruleset') + capture('docker29', 'our-table-listed.nft')
    found = host_reachability({'nft': {'ipv4': '', 'ipv6': ''}}, 'nft', ADDRESSES, INTERFACES, [inspect], False,
                              {'ipv4': True, 'ipv6': True}, nftables_tables=[DOCKER, 'ip6 docker-bridges', OURS],
                              nftables_ruleset=ruleset)
    assert found['left_out'] == [] and found['nftables_modelled'] is True
    assert found['families']['ipv6']['nftables']['walked'] == ['ip6 docker-bridges', OURS]
    # Without iptables at all, the ruleset alone is walked.
    found = host_reachability({}, None, ADDRESSES, INTERFACES, [inspect], False, {'ipv4': True, 'ipv6': True},
                              nftables_tables=[DOCKER], nftables_ruleset=capture('docker29', N4 + '.nft-ruleset'))
    [port] = found['families']['ipv4']['ports']
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['reachable']
    # Not read: as before, our table left out, Docker's unknown.
    found = host_reachability({'nft': {'ipv4': '', 'ipv6': ''}}, 'nft', ADDRESSES, INTERFACES, [inspect], False,
                              {'ipv4': True, 'ipv6': True}, nftables_tables=[DOCKER, OURS])
    assert found['left_out'] == [OURS] and found['nftables_modelled'] is False


def test_sources_of_the_answer_are_exact_intervals():
    """ip saddr with an anonymous set of a network, a range and an address, and its negation."""
    rules = ('table inet f {\n\tchain forward {\n\t\ttype filter hook forward priority filter - 5; policy accept;\n'
             '\t\tiifname "wg0" ip saddr != { 10.0.0.0/8, 192.0.2.5-192.0.2.9, 203.0.113.7 } drop\n\t}\n}\n')
    [port] = ask(capture('docker29', N4 + '.nft-ruleset') + rules)['ports']
    wg0 = [s for s in port['slices'] if s['interface'] == 'wg0']
    assert [(s['source_ranges'], s['verdict']) for s in wg0] == [
        (['10.0.0.0-10.255.255.255', '192.0.2.5-192.0.2.9', '203.0.113.7-203.0.113.7'], 'reachable'),
        (['0.0.0.0-9.255.255.255', '11.0.0.0-192.0.2.4', '192.0.2.10-203.0.113.6', '203.0.113.8-255.255.255.255'],
         'unreachable')]
    assert all(ipaddress.ip_network(n) for s in wg0 for n in s['sources'])


def test_a_dormant_table_filters_nothing():
    """The kernel runs no chain of a dormant table: its drop policy must not make the port unreachable."""
    dormant = ('table inet sleeping {\n\tflags dormant\n\tchain forward {\n'
               '\t\ttype filter hook forward priority filter - 5; policy drop;\n\t}\n}\n')
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + dormant)
    [port] = answer['ports']
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['reachable']
    assert answer['nftables']['walked'] == [DOCKER]


# ebtables-nft's tables as nft 1.1 lists them on a firewalld host (lab platform docker28, 2026-12-07):
# base chains with no rule that accept, and the bridge family's own priority names (`out`).
EMPTY_BRIDGE_TABLES = (
    'table bridge broute {\n\tchain BROUTING {\n\t\ttype filter hook prerouting priority -2147483648; policy accept;'
    '\n\t}\n}\n'
    'table bridge nat {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority dstnat; policy accept;\n\t}\n'
    '\n\tchain OUTPUT {\n\t\ttype filter hook output priority out; policy accept;\n\t}\n}\n')


def test_empty_bridge_tables_filter_nothing_and_a_bridge_rule_is_not_modelled():
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + EMPTY_BRIDGE_TABLES)
    [port] = answer['ports']
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['reachable']
    assert answer['nftables'] == dict(walked=[DOCKER], not_modelled=[])
    ruled = EMPTY_BRIDGE_TABLES.replace('priority out; policy accept;', 'priority out; policy accept;\n\t\tdrop')
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + ruled)
    assert answer['nftables']['not_modelled'] == ['bridge nat (bridge tables are not modelled)']
    assert [s['verdict'] for s in answer['ports'][0]['slices'] if s['interface'] == 'ext0'] == ['unknown']


def test_an_icmp_match_never_holds_for_a_tcp_connection():
    """firewalld lets neighbour discovery through before its reverse-path check: `icmpv6 type` (and `icmp
    type`) imply ICMP, so a published TCP port's packet goes on to the next rule."""
    rules = ('table inet f {\n\tchain forward {\n\t\ttype filter hook forward priority filter - 5; policy accept;\n'
             '\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit } accept\n'
             '\t\tiifname "wg0" icmp type echo-request accept\n'
             '\t\tiifname "wg0" drop\n\t}\n}\n')
    [port] = ask(capture('docker29', N4 + '.nft-ruleset') + rules)['ports']
    wg0 = [s for s in port['slices'] if s['interface'] == 'wg0']
    assert [(s['verdict'], s['reason']['rule']) for s in wg0] == [('unreachable', 'iifname "wg0" drop')]


def test_a_listing_that_cannot_be_read_leaves_every_verdict_unknown():
    """Nothing of an unread listing is known, a DNAT no more than a drop: with Docker 29's DNAT in it, the
    port would otherwise be called unreachable (no docker-proxy) while it is reachable."""
    broken = capture('docker29', N4 + '.nft-ruleset') + 'table ip broken {\n\tchain c {\n'
    answer = ask(broken)
    [port] = answer['ports']
    assert set(s['verdict'] for s in port['slices']) == {'unknown'}
    assert port['slices'][0]['reason']['why'].startswith('nftables not modelled: the nftables ruleset cannot be read')
    # Over the whole host: an error, nftables not modelled, the collection's table left out, as without a ruleset.
    inspect = {'Name': '/web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
               'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2', 'GlobalIPv6Address': ''}}}}
    found = host_reachability({'nft': {'ipv4': '', 'ipv6': ''}}, 'nft', ADDRESSES, INTERFACES, [inspect], False,
                              {'ipv4': True, 'ipv6': True}, nftables_tables=[DOCKER, OURS], nftables_ruleset=broken)
    assert (found['left_out'], found['nftables_modelled']) == ([OURS], False)
    assert [e for e in found['errors'] if e.startswith('the nftables ruleset cannot be read: ')] != []
    [port] = found['families']['ipv4']['ports']
    assert [s['verdict'] for s in port['slices'] if s['interface'] == 'ext0'] == ['unknown']


def test_an_iptables_named_table_the_save_does_not_hold_is_not_modelled():
    """A `table ip nat` nft made (iptables-nft-save leaves it out as incompatible), or iptables-nft's
    rules while the legacy variant's are walked: its DNAT would go unseen, so it is not modelled."""
    native_nat = ('table ip nat {\n\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n'
                  '\t\ttcp dport 9000 dnat to 172.17.0.2:80\n\t}\n}\n')
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + native_nat, rules='*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n')
    assert answer['nftables']['not_modelled'] == ['ip nat (iptables-nft rules not given as iptables-save text)']
    # Given as iptables-nft's save text, it is the iptables walk's.
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + native_nat, rules='*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n')
    assert answer['nftables']['not_modelled'] == []
    # The legacy variant's rules walked: iptables-nft's table is not theirs.
    answer = ask(capture('docker29', N4 + '.nft-ruleset') + native_nat, rules='*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n',
                 rules_in_nft=False)
    assert answer['nftables']['not_modelled'] == ['ip nat (iptables-nft rules not given as iptables-save text)']


def test_a_firewalld_host_s_whole_listing_is_walked():
    """Capture f1 (lab platform docker28: Docker 28.5.2, firewalld 2.3.1 on its nftables backend, nft 1.1.3,
    the router profile's table), taken while dockerd put its rules back after firewalld restarted: its
    nat DOCKER chain was still empty. The listing holds ebtables-nft's empty bridge tables (`priority
    out`), which once made it unreadable. With nothing to DNAT, a packet to the published port 8080 is
    the host's own, and firewalld's INPUT (ext0 in the default zone public) rejects it."""
    name = 'f1-router-firewalld-nftables'
    ruleset = capture('sid', name + '.nft-ruleset')
    addresses = {'lo': ['127.0.0.1/8'], 'docker0': ['172.17.0.1/16'], 'ext0': ['198.51.100.17/28']}
    inspect = {'Name': '/lab-web', 'HostConfig': {'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8080'}]}},
               'NetworkSettings': {'Networks': {'bridge': {'IPAddress': '172.17.0.2', 'GlobalIPv6Address': ''}}}}
    tables = [line[len('table '):line.index(' {')] for line in ruleset.splitlines() if line.startswith('table ')]
    found = host_reachability({'nft': {'ipv4': capture('sid', name + '.iptables-save'), 'ipv6': ''}}, 'nft', addresses,
                              list(addresses), [inspect], False, {'ipv4': True, 'ipv6': True},
                              nftables_tables=tables, nftables_ruleset=ruleset)
    assert found['errors'] == [] and found['left_out'] == [] and found['nftables_modelled'] is True
    assert found['families']['ipv4']['nftables'] == dict(walked=[OURS, 'inet firewalld'], not_modelled=[])
    [port] = found['families']['ipv4']['ports']
    ext0 = [s for s in port['slices'] if s['interface'] == 'ext0']
    assert [(s['verdict'], s['reason']) for s in ext0] == [('unreachable', dict(
        why='dropped', table='inet firewalld', chain='filter_INPUT_POLICIES', rule='reject with icmpx admin-prohibited'))]
