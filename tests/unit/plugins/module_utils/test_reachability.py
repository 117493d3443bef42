# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reachability engine on the real captures of Docker 20.10, 26.1, 28.5 and 29.7 (its iptables
backend) after `docker run -d -p 8080:80` (q2-published-default). Every expected value is written
here by hand from the rules of the capture; none is computed by the engine."""

import ipaddress

import pytest

from plugins.module_utils.test_compliance import capture, with_docker_user
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    allowlist_block,
    routed_block,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._ipset import IpSet
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._reachability import check_targets, reachability

# suite -> the container's address and the bridge's in that capture.
DOCKERS = {
    'bookworm': ('172.18.0.2', '172.18.0.1/16'),  # Docker 20.10
    'trixie': ('172.18.0.2', '172.18.0.1/16'),  # Docker 26.1
    'sid': ('172.18.0.2', '172.18.0.1/16'),  # Docker 28.5
    'docker29': ('172.17.0.2', '172.17.0.1/16'),  # Docker 29.7, iptables backend
}
SUITES = sorted(DOCKERS)
ALLOWED = ['198.51.100.18', '198.51.100.32/28']
DENIED = '203.0.113.7'
EVERYWHERE = ['0.0.0.0/0']
# Every IPv4 source but the allowlist's (198.51.100.18 and 198.51.100.32-47).
NOT_ALLOWED = ['0.0.0.0-198.51.100.17', '198.51.100.19-198.51.100.31', '198.51.100.48-255.255.255.255']


def v4(suite, docker_user=None):
    """The capture's IPv4 rules; with DOCKER-USER holding `docker_user` before Docker's own rules."""
    text = capture(suite, 'q2-published-default.iptables-save')
    if docker_user is None:
        return text
    docker_own = [line for line in text.splitlines() if line.startswith('-A DOCKER-USER ')]
    return with_docker_user(text, docker_user + docker_own)


def binding(suite):
    return dict(container='web', family='ipv4', address=DOCKERS[suite][0], host_ip=None, host_port='8080',
                container_port='80', protocol='tcp')


def addresses(suite):
    return {'lo': ['127.0.0.1/8'], 'eth0': ['192.0.2.10/24'], 'docker0': [DOCKERS[suite][1]]}


def ask(suite, text, **options):
    options.setdefault('interfaces', ['lo', 'eth0', 'docker0', 'veth1'])
    return reachability(text, 'ipv4', [binding(suite)], addresses(suite), **options)['ports'][0]['slices']


def sources(slices, interface, verdict, to=None):
    """The sources of every slice of an interface with that verdict, as collapsed networks."""
    found = [ipaddress.ip_network(s) for sl in slices if sl['interface'] == interface and sl['verdict'] == verdict
             and (to is None or sl['to'] == to) for s in sl['sources']]
    return [str(n) for n in ipaddress.collapse_addresses(found)]


def ranges(slices, interface, verdict):
    found = [ipaddress.ip_network(s) for sl in slices if sl['interface'] == interface and sl['verdict'] == verdict
             for s in sl['sources']]
    return ['%s-%s' % (first, last) for first, last in _spans(found)]


def _spans(networks):
    spans = []
    for network in sorted(networks):
        first, last = network.network_address, network.broadcast_address
        if spans and int(first) <= int(spans[-1][1]) + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def allowlist(**options):
    return allowlist_block('eth0', ALLOWED, **options)


# --- without a policy -------------------------------------------------------------------------

@pytest.mark.parametrize('suite', SUITES)
def test_a_published_port_is_reachable_from_everywhere_without_a_policy(suite):
    slices = ask(suite, v4(suite))
    for interface in ('eth0', 'veth1', '+'):
        assert sources(slices, interface, 'reachable', 'container') == EVERYWHERE
        assert sources(slices, interface, 'unreachable') == sources(slices, interface, 'unknown') == []
    # From the bridge itself Docker does not DNAT (! -i docker0): the host's docker-proxy answers.
    assert sources(slices, 'docker0', 'reachable', 'host') == EVERYWHERE
    assert [s['interface'] for s in slices] == ['docker0', 'eth0', 'veth1', '+']
    assert all(s['destinations'] == [DOCKERS[suite][1].split('/')[0], '192.0.2.10'] for s in slices)


def test_the_path_names_the_rules_that_took_the_connection_to_the_container():
    eth0 = [s for s in ask('sid', v4('sid')) if s['interface'] == 'eth0']
    assert len(eth0) == 1 and eth0[0]['source_ports'] is None and eth0[0]['reason'] is None
    assert [(step['table'], step['chain'], step['rule']) for step in eth0[0]['path']] == [
        ('raw', 'PREROUTING', '-P PREROUTING ACCEPT'),
        ('nat', 'PREROUTING', '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER'),
        ('nat', 'DOCKER', '-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80'),
        ('filter', 'FORWARD', '-A FORWARD -j DOCKER-USER'),
        ('filter', 'FORWARD', '-A FORWARD -j DOCKER-FORWARD'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-CT'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1'),
        ('filter', 'DOCKER-FORWARD', '-A DOCKER-FORWARD -j DOCKER-BRIDGE'),
        ('filter', 'DOCKER-BRIDGE', '-A DOCKER-BRIDGE -o docker0 -j DOCKER'),
        ('filter', 'DOCKER', '-A DOCKER -d 172.18.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT'),
    ]


def test_docker_20_10_returns_from_its_nat_chain_on_the_bridge_and_the_host_answers():
    docker0 = [s for s in ask('bookworm', v4('bookworm')) if s['interface'] == 'docker0']
    assert [s['to'] for s in docker0] == ['host']
    assert [step['rule'] for step in docker0[0]['path']] == [
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER', '-A DOCKER -i docker0 -j RETURN', '-P PREROUTING ACCEPT',
        '-P INPUT ACCEPT']


# --- the collection's allowlist ---------------------------------------------------------------

@pytest.mark.parametrize('suite', SUITES)
@pytest.mark.parametrize('ports', [None, ['8080']], ids=['interface', 'ports'])
def test_with_the_allowlist_only_the_allowed_sources_reach_through_its_interface(suite, ports):
    slices = ask(suite, v4(suite, allowlist(ports=ports).rules['ipv4']))
    assert sources(slices, 'eth0', 'reachable', 'container') == ['198.51.100.18/32', '198.51.100.32/28']
    assert ranges(slices, 'eth0', 'unreachable') == NOT_ALLOWED
    assert sources(slices, 'eth0', 'unknown') == []
    drops = set(s['reason']['rule'] for s in slices if s['interface'] == 'eth0' and s['verdict'] == 'unreachable')
    tag = '-m comment --comment "netops.docker_firewall/allowlist:eth0"'
    assert drops == set(['-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 %s -j DROP' % tag if ports else
                         '-A DOCKER-USER -i eth0 %s -j DROP' % tag])
    # Other interfaces are not the allowlist's business; in ports mode its rules name bridge wildcards.
    others = ['+', 'br-+', 'docker+'] if ports else ['+']
    assert [s['interface'] for s in slices if s['other_interfaces']] == others
    for interface in ['veth1'] + others:
        assert sources(slices, interface, 'reachable', 'container') == EVERYWHERE
    assert sources(slices, 'docker0', 'reachable', 'host') == EVERYWHERE


def test_each_allowed_source_has_the_rule_that_let_it_on():
    slices = ask('docker29', v4('docker29', allowlist().rules['ipv4']))
    reachable = [s for s in slices if s['interface'] == 'eth0' and s['verdict'] == 'reachable']
    tag = '-m comment --comment "netops.docker_firewall/allowlist:eth0"'
    assert [(s['sources'], s['path'][4]['rule']) for s in reachable] == [
        (['198.51.100.18/32'], '-A DOCKER-USER -s 198.51.100.18/32 -i eth0 %s -j RETURN' % tag),
        (['198.51.100.32/28'], '-A DOCKER-USER -s 198.51.100.32/28 -i eth0 %s -j RETURN' % tag),
    ]


@pytest.mark.parametrize('suite', SUITES)
def test_an_accept_above_docker_user_lets_the_denied_source_through(suite):
    text = v4(suite, allowlist().rules['ipv4']).replace('-A FORWARD -j DOCKER-USER', '-A FORWARD -s %s/32 -j ACCEPT\n'
                                                        '-A FORWARD -j DOCKER-USER' % DENIED, 1)
    slices = ask(suite, text)
    assert sources(slices, 'eth0', 'reachable', 'container') == ['198.51.100.18/32', '198.51.100.32/28', DENIED + '/32']
    opened = [s for s in slices if s['interface'] == 'eth0' and s['sources'] == [DENIED + '/32']]
    assert [s['path'][-1]['rule'] for s in opened] == ['-A FORWARD -s 203.0.113.7/32 -j ACCEPT']
    assert ranges(slices, 'eth0', 'unreachable') == [
        '0.0.0.0-198.51.100.17', '198.51.100.19-198.51.100.31', '198.51.100.48-203.0.113.6', '203.0.113.8-255.255.255.255']


def test_the_allowlist_in_an_ipset_is_read_from_the_sets_given():
    block = allowlist(source_sets='always')
    text = v4('docker29', block.rules['ipv4'])
    slices = ask('docker29', text, ipsets=block.sets)
    assert sources(slices, 'eth0', 'reachable', 'container') == ['198.51.100.18/32', '198.51.100.32/28']
    assert ranges(slices, 'eth0', 'unreachable') == NOT_ALLOWED
    # Without the sets nothing is said of the sources the set would let on: unknown, not unreachable.
    slices = ask('docker29', text)
    assert sources(slices, 'eth0', 'reachable') == []
    assert sources(slices, 'eth0', 'unknown') == EVERYWHERE
    assert set(s['reason']['why'] for s in slices if s['verdict'] == 'unknown') == set(['ipset netops-dfw-eth0-v4 was not given'])


def test_a_set_met_on_many_paths_is_read_into_spans_once(monkeypatch):
    """A set of 10,000 addresses is met on every path through DOCKER-USER: turning it into spans on
    each meeting made one answer take seconds; the answer is the same when it is read once."""
    block = allowlist(source_sets='always')
    text = v4('docker29', block.rules['ipv4'])
    read = []
    spans = IpSet.spans
    monkeypatch.setattr(IpSet, 'spans', lambda ipset: read.append(ipset.name) or spans(ipset))
    slices = ask('docker29', text, ipsets=block.sets)
    assert sources(slices, 'eth0', 'reachable', 'container') == ['198.51.100.18/32', '198.51.100.32/28']
    assert sorted(read) == sorted(name for name, ipset in block.sets.items() if ipset.family == 'ipv4')


# --- what the engine does not model -----------------------------------------------------------

@pytest.mark.parametrize('suite', SUITES)
@pytest.mark.parametrize('match', ['-m physdev --physdev-in veth9', '-m limit --limit 5/sec', '-m mark --mark 0x1',
                                   '-m set --match-set blocked src', '-m recent --rcheck'])
def test_an_unknown_match_makes_the_slice_unknown_never_unreachable(suite, match):
    rule = '-A DOCKER-USER -i eth0 %s -j DROP' % match
    slices = ask(suite, v4(suite, [rule]))
    assert sources(slices, 'eth0', 'unknown') == EVERYWHERE
    assert sources(slices, 'eth0', 'reachable') == sources(slices, 'eth0', 'unreachable') == []
    unknown = [s['reason'] for s in slices if s['verdict'] == 'unknown']
    assert all(reason['table'] == 'filter' and reason['chain'] == 'DOCKER-USER' and reason['rule'] == rule for reason in unknown)
    assert sources(slices, 'veth1', 'reachable') == EVERYWHERE  # the rule is about eth0 alone


def test_an_unknown_match_of_a_rule_that_cannot_match_changes_nothing():
    slices = ask('sid', v4('sid', ['-A DOCKER-USER -p udp -m physdev --physdev-in veth9 -j DROP']))
    assert sources(slices, 'eth0', 'reachable') == EVERYWHERE


@pytest.mark.parametrize('target', ['MARK --set-xmark 0x1/0xffffffff', 'NO-SUCH-CHAIN', 'CT --notrack'])
def test_an_unknown_target_or_chain_makes_the_slice_unknown(target):
    slices = ask('sid', v4('sid', ['-A DOCKER-USER -s 198.51.100.0/24 -j %s' % target]))
    assert sources(slices, 'eth0', 'unknown') == ['198.51.100.0/24']
    assert ranges(slices, 'eth0', 'reachable') == ['0.0.0.0-198.51.99.255', '198.51.101.0-255.255.255.255']


def test_an_nftables_table_beside_the_rules_makes_reachable_unknown():
    slices = ask('docker29', v4('docker29'), nftables_tables=['ip filter', 'ip nat', 'ip raw', 'ip6 filter'])
    assert sources(slices, 'eth0', 'reachable') == EVERYWHERE  # iptables-nft's own tables
    slices = ask('docker29', v4('docker29'), nftables_tables=['ip filter', 'inet netops-docker-firewall'])
    assert sources(slices, 'eth0', 'reachable') == []
    assert sources(slices, 'eth0', 'unknown') == EVERYWHERE
    assert slices[0]['reason'] == {'why': 'nftables tables beside the iptables rules are not modelled: inet netops-docker-firewall'}


# --- more of the model ------------------------------------------------------------------------

def test_source_ports_split_the_space_too():
    slices = ask('sid', v4('sid', ['-A DOCKER-USER -i eth0 -p tcp -m tcp --sport 1024:65535 -j DROP']))
    reachable = [s for s in slices if s['interface'] == 'eth0' and s['verdict'] == 'reachable']
    assert [(s['sources'], s['source_ports']) for s in reachable] == [(EVERYWHERE, ['0-1023'])]
    dropped = [s for s in slices if s['interface'] == 'eth0' and s['verdict'] == 'unreachable']
    assert [(s['sources'], s['source_ports']) for s in dropped] == [(EVERYWHERE, ['1024-65535'])]


def test_negations_wildcards_iprange_and_conntrack():
    rules = ['-A DOCKER-USER -i eth+ -m iprange --src-range 198.51.100.10-198.51.100.20 -m conntrack --ctstate NEW -j RETURN',
             '-A DOCKER-USER ! -i docker+ -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
             '-A DOCKER-USER ! -i docker+ -m conntrack --ctstate DNAT -m conntrack --ctorigdstport 8080 -j DROP']
    slices = ask('sid', v4('sid', rules), interfaces=['eth0', 'docker0', 'wg0'])
    assert [s['interface'] for s in slices if s['verdict'] == 'reachable'] == ['docker0', 'eth0', 'docker+', 'eth+']
    assert ranges(slices, 'eth0', 'reachable') == ranges(slices, 'eth+', 'reachable') == ['198.51.100.10-198.51.100.20']
    assert sources(slices, 'wg0', 'unreachable') == sources(slices, '+', 'unreachable') == EVERYWHERE
    assert sources(slices, 'docker+', 'reachable', 'container') == EVERYWHERE  # ! -i docker+ does not hold
    assert [s['interface'] for s in slices] == ['docker0', 'eth0', 'eth0', 'wg0', '+', 'docker+', 'eth+', 'eth+']


def test_a_forward_drop_policy_and_an_input_drop_policy():
    text = v4('docker29').replace('-A DOCKER-FORWARD -j DOCKER-BRIDGE\n', '')
    slices = ask('docker29', text)
    dropped = [s for s in slices if s['interface'] == 'eth0']
    assert [(s['verdict'], s['reason']['rule']) for s in dropped] == [('unreachable', '-P FORWARD DROP')]
    slices = ask('docker29', v4('docker29').replace(':INPUT ACCEPT', ':INPUT DROP'))
    assert sources(slices, 'docker0', 'unreachable') == EVERYWHERE
    assert sources(slices, 'eth0', 'reachable') == EVERYWHERE


def test_forwarding_off_and_no_route():
    slices = ask('sid', v4('sid'), forwarding=False)
    assert sources(slices, 'eth0', 'unreachable') == EVERYWHERE
    slices = reachability(v4('sid'), 'ipv4', [binding('sid')], {'eth0': ['192.0.2.10/24']}, interfaces=['eth0'])['ports'][0]['slices']
    assert [(s['verdict'], s['reason']['why']) for s in slices if s['interface'] == 'eth0'] == [
        ('unknown', 'no route known to 172.18.0.2')]


# --- routed access and docker-proxy -----------------------------------------------------------

ROUTED = [dict(address='172.18.0.2', port=80)]


def routed_slices(suite, text):
    found = reachability(text, 'ipv4', [], addresses(suite), interfaces=['eth0', 'docker0'], routed=ROUTED)
    assert found['ports'] == []
    return found['routed'][0]['slices']


def test_routed_access_docker_20_10_lets_it_in_docker_28_drops_it_in_raw():
    assert sources(routed_slices('bookworm', v4('bookworm')), 'eth0', 'reachable', 'container') == EVERYWHERE
    slices = routed_slices('sid', v4('sid'))
    assert sources(slices, 'eth0', 'unreachable') == EVERYWHERE
    assert set(s['reason']['rule'] for s in slices if s['interface'] == 'eth0') == set(
        ['-A PREROUTING -d 172.18.0.2/32 ! -i docker0 -j DROP'])


def test_routed_access_the_collections_guard_and_a_declaration():
    block = routed_block([dict(interface='wg0', sources=['10.8.0.0/24'], ports=['80'])])
    found = reachability(v4('bookworm', block.rules['ipv4']), 'ipv4', [], addresses('bookworm'),
                         interfaces=['eth0', 'wg0', 'docker0'], routed=ROUTED)['routed'][0]['slices']
    assert sources(found, 'eth0', 'unreachable') == EVERYWHERE
    assert sources(found, 'wg0', 'reachable', 'container') == ['10.8.0.0/24']
    assert ranges(found, 'wg0', 'unreachable') == ['0.0.0.0-10.7.255.255', '10.8.1.0-255.255.255.255']


def test_ipv6_clients_of_an_ipv4_only_container_reach_docker_proxy_around_docker_user():
    text = capture('docker29', 'q2-published-default.ip6tables-save')
    text = with_docker_user(text, allowlist().rules['ipv6'])
    proxy = dict(container='web', family='ipv6', address=None, host_ip=None, host_port='8080', container_port='80', protocol='tcp')
    found = reachability(text, 'ipv6', [proxy], {'eth0': ['2001:db8::10/64'], 'lo': ['::1/128']}, interfaces=['eth0'])
    slices = found['ports'][0]['slices']
    assert [(s['interface'], s['destinations'], s['sources'], s['verdict'], s['to']) for s in slices] == [
        ('eth0', ['2001:db8::10'], ['::/0'], 'reachable', 'host'), ('+', ['2001:db8::10'], ['::/0'], 'reachable', 'host')]
    found = reachability(text, 'ipv6', [proxy], {'eth0': ['2001:db8::10/64']}, interfaces=['eth0'], userland_proxy=False)
    assert set(s['verdict'] for s in found['ports'][0]['slices']) == set(['unreachable'])


def test_a_port_published_on_one_address_and_the_other_family_left_out():
    text = v4('sid').replace('-A DOCKER ! -i docker0 -p tcp', '-A DOCKER -d 192.0.2.10/32 ! -i docker0 -p tcp')
    bound = dict(binding('sid'), host_ip='192.0.2.10')
    other = dict(binding('sid'), family='ipv6', address='fd00::2')
    found = reachability(text, 'ipv4', [bound, other], addresses('sid'), interfaces=['eth0'])
    assert len(found['ports']) == 1
    slices = [s for s in found['ports'][0]['slices'] if s['interface'] == 'eth0']
    assert [(s['destinations'], s['verdict'], s['to']) for s in slices] == [
        (['192.0.2.10'], 'reachable', 'container'), (['172.18.0.1'], 'unreachable', None)]


def test_the_answer_is_plain_data():
    import json
    found = reachability(v4('sid'), 'ipv4', [binding('sid')], addresses('sid'), routed=ROUTED)
    assert json.loads(json.dumps(found)) == found
    with pytest.raises(ValueError):
        reachability(v4('sid'), 'inet', [], {})


# --- the variants and the walk itself ---------------------------------------------------------

def test_the_legacy_variant_reads_the_same():
    text = capture('bookworm', 'q7-legacy-alt-after-restart.legacy-save').split('### ip6tables-legacy-save')[0]
    legacy = dict(binding('bookworm'), address='198.51.100.66')
    hosts = {'eth0': ['192.0.2.10/24'], 'docker0': ['198.51.100.65/26']}
    slices = reachability(text, 'ipv4', [legacy], hosts, interfaces=['eth0', 'docker0'])['ports'][0]['slices']
    assert sources(slices, 'eth0', 'reachable', 'container') == EVERYWHERE
    text = with_docker_user(text, allowlist().rules['ipv4'] + ['-A DOCKER-USER -j RETURN'])
    slices = reachability(text, 'ipv4', [legacy], hosts, interfaces=['eth0', 'docker0'])['ports'][0]['slices']
    assert sources(slices, 'eth0', 'reachable', 'container') == ['198.51.100.18/32', '198.51.100.32/28']
    assert ranges(slices, 'eth0', 'unreachable') == NOT_ALLOWED


@pytest.mark.parametrize('jump, verdict', [('-j', 'unreachable'), ('-g', 'reachable')])
def test_a_goto_returns_past_its_caller(jump, verdict):
    # -j: the chain's RETURN (and its end) come back to DOCKER-USER, whose DROP follows; -g: to FORWARD.
    rules = [':NETOPS-TEST - [0:0]', '-A DOCKER-USER -i eth0 %s NETOPS-TEST' % jump, '-A DOCKER-USER -i eth0 -j DROP',
             '-A NETOPS-TEST -s 198.51.100.0/24 -j RETURN']
    slices = ask('sid', v4('sid', rules))
    assert sources(slices, 'eth0', verdict) == EVERYWHERE


def test_mangle_prerouting_drops_and_marks():
    mangle = '*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n%s\nCOMMIT\n'
    slices = ask('docker29', v4('docker29') + mangle % '-A PREROUTING -s 203.0.113.0/24 -i eth0 -j DROP')
    assert sources(slices, 'eth0', 'unreachable') == ['203.0.113.0/24']
    assert [s['reason']['table'] for s in slices if s['verdict'] == 'unreachable'] == ['mangle']
    slices = ask('docker29', v4('docker29') + mangle % '-A FORWARD -i eth0 -j MARK --set-xmark 0x1/0xffffffff')
    assert sources(slices, 'eth0', 'unknown') == EVERYWHERE
    assert sources(slices, 'docker0', 'reachable', 'host') == EVERYWHERE  # INPUT: the mark is set in FORWARD


# --- forwarded packets (the lab's oracle asks its probes' destinations) -------------------------

def test_forwarded_targets_are_answered_only_when_asked_and_must_be_addresses_and_ports():
    assert 'forwarded' not in reachability(v4('sid'), 'ipv4', [], addresses('sid'))
    found = reachability(v4('sid'), 'ipv4', [], addresses('sid'), interfaces=['eth0'],
                         forwarded=[dict(address='192.0.2.20', port=443), dict(address='2001:db8::20', port=443)])
    assert [(f['target']['address'], f['local'], [(s['interface'], s['verdict'], s['to']) for s in f['slices']])
            for f in found['forwarded']] == [
        # docker0: an interface the rules name; FORWARD's policy ACCEPT in this capture lets every one out.
        ('192.0.2.20', False, [('docker0', 'reachable', 'target'), ('eth0', 'reachable', 'target'), ('+', 'reachable', 'target')])]
    with pytest.raises(ValueError, match="'eth0' is not an address"):
        check_targets([dict(address='eth0', port=443)])
    with pytest.raises(ValueError, match='0 is not a port'):
        check_targets([dict(address='192.0.2.20', port=0)])
