# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""firewalld's verdict on forwarded traffic (_firewalld): the real firewall-cmd output of a lab router
(tests/unit/fixtures/firewalld: zones and policies that route, and none), the cases measured there,
and the rest of the model, on those listings edited zone by zone."""

import pytest

from captures import firewalld
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as fw

ROUTED, NONE = '2.3.1-routed', '2.3.1-none'
NFTABLES_CONF = firewalld(ROUTED, 'firewalld.conf')
IPTABLES_CONF = NFTABLES_CONF.replace('\nFirewallBackend=nftables\n', '\nFirewallBackend=iptables\n')


def listing(case, name):
    return firewalld(case, name + '.txt')


def with_zone(text, zone, **settings):
    """A --list-all-zones listing with these settings of `zone` ('interfaces': 'int0 ext0', 'rich rules': a
    rule, given with _ for - and space) as firewall-cmd prints them."""
    blocks = text.split('\n\n')
    for at, block in enumerate(blocks):
        lines = block.split('\n')
        if lines[0].split(' ')[0] != zone:
            continue
        for key, value in settings.items():
            key = key.replace('__', ' ').replace('_', '-')
            index = next(i for i, line in enumerate(lines) if line.startswith('  %s:' % key))
            lines[index] = '  %s: %s' % (key, '\n\t' + value if key in ('rich rules', 'forward-ports') else value)
        blocks[at] = '\n'.join(lines)
    return '\n\n'.join(blocks)


def policy(name, priority, target, ingress, egress, services='', rules=''):
    """A policy an operator adds (firewall-cmd --new-policy ...), as --list-all-policies prints it (a space after
    every "key:", a rich rule on a line of its own after a tab)."""
    lines = [name, '  priority: %d' % priority, '  target: ' + target, '  ingress-zones: ' + ingress,
             '  egress-zones: ' + egress, '  services: ' + services, '  ports: ', '  protocols: ', '  masquerade: no',
             '  forward-ports: ', '  source-ports: ', '  icmp-blocks: ',
             '  rich rules: ' + ('\n\t' + rules if rules else '')]
    return '\n'.join(lines) + '\n\n'


def state(case=ROUTED, zones=None, policies='', conf=NFTABLES_CONF):
    return fw.state(listing(case, 'list-all-zones') if zones is None else zones,
                    listing(case, 'list-all-policies') + policies, conf_text=conf)


def verdict(parsed, in_interface, out_interface):
    result = fw.evaluate(parsed, True, in_interface, out_interface)
    return result['verdict'], result['by']


# --- parsing the real captures ------------------------------------------------------------------

@pytest.mark.parametrize('case, zones_of_interfaces', [
    (ROUTED, {'docker0': 'docker', 'int0': 'lablan', 'vpn0': 'labvpn', 'ext0': 'labwan'}),
    (NONE, {'docker0': 'docker', 'vpn0': 'labvpn'}),
])
def test_the_listings_give_what_get_active_zones_and_get_default_zone_print(case, zones_of_interfaces):
    parsed = state(case)
    summary = fw.summary(parsed)
    assert parsed['default_zone'] == 'public' == listing(case, 'get-default-zone').strip()
    assert summary['zones_of_interfaces'] == zones_of_interfaces
    # --get-active-zones: each zone in use, "(default)" on the default one, its interfaces indented.
    active = {}
    for line in listing(case, 'get-active-zones').splitlines():
        if line.startswith('  interfaces: '):
            active[zone] = line.split(': ', 1)[1].split()
        else:
            zone = line.replace(' (default)', '')
            active[zone] = []
    assert active == dict((name, zone['interfaces']) for name, zone in summary['zones'].items())
    assert sorted(parsed['zones']) == ['block', 'dmz', 'docker', 'drop', 'external', 'home', 'internal', 'lablan',
                                       'labvpn', 'labwan', 'public', 'trusted', 'work']


def test_the_zones_and_policies_as_listed():
    parsed = state(ROUTED)
    public, docker, drop = parsed['zones']['public'], parsed['zones']['docker'], parsed['zones']['drop']
    assert (public['target'], public['forward'], public['services'], public['interfaces']) == (
        'default', True, ['dhcpv6-client', 'ssh'], [])
    assert (docker['target'], docker['interfaces'], drop['target']) == ('ACCEPT', ['docker0'], 'DROP')
    assert parsed['zones']['lablan']['forward'] is False and parsed['zones']['external']['masquerade'] is True
    assert fw.summary(parsed)['policies'] == [
        {'name': 'allow-host-ipv6', 'priority': -15000, 'target': 'CONTINUE', 'ingress_zones': ['ANY'],
         'egress_zones': ['HOST'], 'active': True},
        {'name': 'docker-forwarding', 'priority': -1, 'target': 'ACCEPT', 'ingress_zones': ['ANY'],
         'egress_zones': ['docker'], 'active': True},
        {'name': 'lan-wan', 'priority': -1, 'target': 'ACCEPT', 'ingress_zones': ['lablan'],
         'egress_zones': ['labwan'], 'active': True},
        {'name': 'wan-lan', 'priority': -1, 'target': 'ACCEPT', 'ingress_zones': ['labwan'],
         'egress_zones': ['lablan'], 'active': True}]
    assert parsed['policies']['allow-host-ipv6']['rich_rules'] == [
        'rule family="ipv6" icmp-type name="neighbour-advertisement" accept',
        'rule family="ipv6" icmp-type name="neighbour-solicitation" accept',
        'rule family="ipv6" icmp-type name="redirect" accept',
        'rule family="ipv6" icmp-type name="router-advertisement" accept']
    assert state(NONE)['policies']['lan-wan']['active'] is False  # its zones hold no interface


def test_before_firewalld_2_1_the_default_zone_comes_from_get_default_zone():
    unmarked = listing(NONE, 'list-all-zones').replace('public (default, active)', 'public (active)')
    assert fw.parse_zones(unmarked)[1] is None
    with pytest.raises(fw.FirewalldSyntaxError, match='no default zone'):
        fw.state(unmarked, '')
    parsed = fw.state(unmarked, listing(NONE, 'list-all-policies'), listing(NONE, 'get-default-zone'), NFTABLES_CONF)
    assert parsed['default_zone'] == 'public' and verdict(parsed, 'int0', 'ext0') == ('reject', fw.FINAL_REJECT)


@pytest.mark.parametrize('text, why', [
    ('', 'listed no zone'),
    ('  target: ACCEPT\n', 'a setting before any name'),
    ('public\n  interfaces: eth0\n', 'zone public has no target, sources, forward'),
    ('FirewallD is not running\n', 'not a name'),
    ('public\n  target: default\n\tstray\n', 'a continuation line outside'),
])
def test_what_is_not_a_zone_listing_is_an_error_never_no_zones(text, why):
    with pytest.raises(fw.FirewalldSyntaxError, match=why):
        fw.parse_zones(text)


def test_a_policy_without_a_number_for_priority_is_an_error():
    with pytest.raises(fw.FirewalldSyntaxError, match='priority'):
        fw.parse_policies(policy('p', 1, 'ACCEPT', 'a', 'b').replace('priority: 1', 'priority: high'))


@pytest.mark.parametrize('conf, backend', [
    (NFTABLES_CONF, 'nftables'),
    (IPTABLES_CONF, 'iptables'),
    (None, 'nftables'),  # no firewalld.conf: firewalld's fallback
    ('# FirewallBackend=iptables\nDefaultZone=public\n', 'nftables'),
    ('FirewallBackend = IPTables\n', 'iptables'),
    ('FirewallBackend=ebtables\n', 'nftables'),  # invalid: firewalld falls back
    ('FirewallBackend=iptables\nFirewallBackend=nftables\n', 'iptables'),  # a duplicate is ignored
])
def test_the_backend_firewalld_conf_names(conf, backend):
    assert fw.backend_of(conf) == backend


# --- the cases measured on the lab router (firewalld 2.3.1, Docker 28.5) ------------------------

def test_no_zones_rejects_both_ways_whatever_docker_user_accepts():
    parsed = state(NONE)
    for pair in (('int0', 'ext0'), ('ext0', 'int0')):
        result = fw.evaluate(parsed, True, *pair)
        assert (result['verdict'], result['by'], result['in_zone'], result['in_zone_implicit'],
                result['out_zone'], result['out_zone_implicit']) == ('reject', fw.FINAL_REJECT, 'public', True,
                                                                     'public', True)
    result = fw.evaluate(parsed, True, 'int0', 'ext0')
    assert result['fix'] == (
        'put int0 and ext0 in zones of their own and add a policy that forwards from zone int0 to zone ext0: '
        'firewall-cmd --permanent --new-zone=int0; firewall-cmd --permanent --zone=int0 --add-interface=int0; '
        'firewall-cmd --permanent --new-zone=ext0; firewall-cmd --permanent --zone=ext0 --add-interface=ext0; '
        'firewall-cmd --permanent --new-policy=int0-ext0; '
        'firewall-cmd --permanent --policy=int0-ext0 --add-ingress-zone=int0; '
        'firewall-cmd --permanent --policy=int0-ext0 --add-egress-zone=ext0; '
        'firewall-cmd --permanent --policy=int0-ext0 --set-target=ACCEPT; firewall-cmd --reload')
    assert fw.warning(result).startswith(
        "firewalld rejects forwarding from int0 (zone public, implicit) to ext0 (zone public, implicit): firewalld's "
        'final reject (both interfaces are only implicitly in the default zone public: firewalld applies no policy '
        'and no intra-zone forwarding to them); an ACCEPT in DOCKER-USER does not change it')


def test_zones_and_policies_that_route_accept_both_ways():
    parsed = state(ROUTED)
    assert verdict(parsed, 'int0', 'ext0') == ('accept', 'policy lan-wan')
    assert verdict(parsed, 'ext0', 'int0') == ('accept', 'policy wan-lan')
    assert fw.warning(fw.evaluate(parsed, True, 'int0', 'ext0')) is None


def test_both_explicitly_in_public_which_forwards_then_forward_removed():
    zones = with_zone(listing(NONE, 'list-all-zones'), 'public', interfaces='ext0 int0')
    assert verdict(state(NONE, zones), 'int0', 'ext0') == ('accept', 'zone public')
    assert verdict(state(NONE, zones), 'ext0', 'int0') == ('accept', 'zone public')
    removed = with_zone(zones, 'public', forward='no')
    result = fw.evaluate(state(NONE, removed), True, 'int0', 'ext0')
    assert (result['verdict'], result['by'], result['in_zone_implicit']) == ('reject', fw.FINAL_REJECT, False)
    assert result['fix'] == ('let zone public forward between its interfaces: firewall-cmd --permanent --zone=public '
                             '--add-forward; firewall-cmd --reload')


@pytest.mark.parametrize('case', [ROUTED, NONE])
def test_routed_access_into_docker_s_zone_is_accepted_by_docker_forwarding(case):
    parsed = state(case)
    assert verdict(parsed, 'vpn0', 'docker0') == ('accept', 'policy docker-forwarding')
    # From the default zone too: Docker's policy takes every ingress zone.
    assert verdict(parsed, 'eth9', 'docker0') == ('accept', 'policy docker-forwarding')


def test_on_firewalld_s_iptables_backend_docker_user_decides():
    result = fw.evaluate(state(NONE, conf=IPTABLES_CONF), True, 'int0', 'ext0')
    assert (result['verdict'], result['by'], result['fix']) == ('not_applicable', None, None)
    assert 'DOCKER-USER' in result['reason']


def test_without_firewalld_running_nothing_applies():
    result = fw.evaluate(None, False, 'int0', 'ext0')
    assert (result['verdict'], result['reason']) == ('not_applicable', 'firewalld does not run')


def test_a_state_that_could_not_be_read_is_never_accept_or_reject():
    result = fw.evaluate(None, True, 'int0', 'ext0', error='firewall-cmd --list-all-zones failed (rc 252)')
    assert result['verdict'] == 'depends' and 'rc 252' in result['reason']


# --- what may decide part of the traffic: depends, named ----------------------------------------

def test_a_continue_policy_with_a_rich_rule_on_the_way_makes_it_depend():
    drop = 'rule family="ipv4" source address="198.51.100.0/24" drop'
    parsed = state(ROUTED, policies=policy('lan-audit', -10, 'CONTINUE', 'lablan', 'labwan', rules=drop))
    result = fw.evaluate(parsed, True, 'int0', 'ext0')
    assert (result['verdict'], result['by']) == ('depends', 'policy lan-audit')
    assert result['reason'] == ('policy lan-audit: rich rule %s; the rest: accept by policy lan-wan (its target is '
                                'ACCEPT)' % drop)
    assert fw.warning(result) is None
    # The other way it is not on the path.
    assert verdict(parsed, 'ext0', 'int0') == ('accept', 'policy wan-lan')


def test_what_could_only_accept_more_does_not_doubt_an_accept_but_doubts_a_reject():
    services = policy('lan-web', -10, 'CONTINUE', 'lablan', 'ANY', services='http https')
    assert verdict(state(ROUTED, policies=services), 'int0', 'ext0') == ('accept', 'policy lan-wan')
    assert verdict(state(ROUTED, policies=services), 'int0', 'vpn0') == ('depends', 'policy lan-web')


def test_a_drop_target_of_the_ingress_zone_drops():
    zones = with_zone(with_zone(listing(ROUTED, 'list-all-zones'), 'lablan', interfaces=''), 'drop', interfaces='int0')
    result = fw.evaluate(state(ROUTED, zones), True, 'int0', 'ext0')
    assert (result['verdict'], result['by'], result['in_zone'], result['in_zone_implicit']) == (
        'drop', 'zone drop', 'drop', False)
    assert result['fix'].startswith('add a policy that forwards from zone drop to zone labwan: ')
    assert fw.warning(result).startswith('firewalld drops forwarding from int0 (zone drop) to ext0 (zone labwan): '
                                         'zone drop')
    # Into Docker's zone Docker's policy comes first.
    assert verdict(state(ROUTED, zones), 'int0', 'docker0') == ('accept', 'policy docker-forwarding')


def test_a_zone_bound_to_sources_makes_every_verdict_depend():
    zones = with_zone(listing(ROUTED, 'list-all-zones'), 'internal', sources='192.0.2.0/24')
    result = fw.evaluate(state(ROUTED, zones), True, 'int0', 'ext0')
    assert (result['verdict'], result['by']) == ('depends', 'zone internal')
    assert result['reason'].startswith('zone internal: bound to sources 192.0.2.0/24')


def test_a_forward_port_of_the_ingress_zone_doubts_a_reject():
    zones = with_zone(listing(NONE, 'list-all-zones'), 'public',
                      forward_ports='port=80:proto=tcp:toport=:toaddr=10.0.0.9')
    result = fw.evaluate(state(NONE, zones), True, 'int0', 'ext0')
    assert (result['verdict'], result['by']) == ('depends', 'zone public')
    assert 'forward port port=80:proto=tcp:toport=:toaddr=10.0.0.9' in result['reason']


def test_a_zone_s_services_and_rich_rules_are_for_the_host_never_on_the_forwarding_path():
    zones = with_zone(listing(NONE, 'list-all-zones'), 'public',
                      rich__rules='rule family="ipv4" source address="198.51.100.7" accept')
    assert verdict(state(NONE, zones), 'int0', 'ext0') == ('reject', fw.FINAL_REJECT)  # public has services too


def test_two_policies_of_one_priority_that_disagree_depend():
    reject = policy('lan-wan-no', -1, 'REJECT', 'lablan', 'labwan')
    assert verdict(state(ROUTED, policies=reject), 'int0', 'ext0') == (
        'depends', 'policy lan-wan and policy lan-wan-no')


# --- the rest of the model (firewalld 2.3.1's nftables.py and fw_policy.py) ---------------------

def test_a_reject_policy_ahead_decides_and_the_fix_goes_ahead_of_it():
    parsed = state(ROUTED, policies=policy('wan-block', -5, 'REJECT', 'lablan', 'labwan'))
    result = fw.evaluate(parsed, True, 'int0', 'ext0')
    assert (result['verdict'], result['by']) == ('reject', 'policy wan-block')
    assert 'firewall-cmd --permanent --policy=lablan-labwan --set-priority=-6' in result['fix']


def test_the_ingress_zone_s_target_comes_after_every_policy():
    zones = with_zone(with_zone(listing(ROUTED, 'list-all-zones'), 'lablan', interfaces=''), 'drop', interfaces='int0')
    late = policy('drop-wan', 10, 'ACCEPT', 'drop', 'labwan')
    assert verdict(state(ROUTED, zones, late), 'int0', 'ext0') == ('accept', 'policy drop-wan')


def test_two_interfaces_only_implicitly_in_the_default_zone_meet_no_policy():
    everything = policy('allow-all', -100, 'ACCEPT', 'ANY', 'ANY')
    assert verdict(state(NONE, policies=everything), 'int0', 'ext0') == ('reject', fw.FINAL_REJECT)
    # One of them in a zone: the policy applies.
    assert verdict(state(NONE, policies=everything), 'vpn0', 'ext0') == ('accept', 'policy allow-all')


def test_intra_zone_forwarding_needs_the_outgoing_interface_explicitly_in_the_zone():
    zones = listing(NONE, 'list-all-zones')
    assert verdict(state(NONE, with_zone(zones, 'public', interfaces='ext0')), 'int0', 'ext0') == (
        'accept', 'zone public')
    result = fw.evaluate(state(NONE, with_zone(zones, 'public', interfaces='int0')), True, 'int0', 'ext0')
    assert (result['verdict'], result['out_zone_implicit']) == ('reject', True)
    assert result['fix'].startswith('put ext0 in a zone of its own and add a policy that forwards from zone public '
                                    'to zone ext0: ')


def test_a_default_zone_that_accepts_forwards_between_interfaces_in_no_zone():
    assert verdict(state(NONE, fw_default_trusted()), 'int0', 'ext0') == ('accept', 'zone trusted')


def fw_default_trusted():
    return listing(NONE, 'list-all-zones').replace('public (default, active)', 'public').replace(
        'trusted\n', 'trusted (default)\n')


def test_wildcard_interfaces():
    zones = with_zone(listing(ROUTED, 'list-all-zones'), 'labvpn', interfaces='vpn0 wg+')
    parsed = state(ROUTED, zones, policy('vpn-wan', -1, 'ACCEPT', 'labvpn', 'labwan'))
    assert fw.zone_of(parsed, 'wg7') == ('labvpn', False, None)
    assert verdict(parsed, 'wg7', 'ext0') == ('accept', 'policy vpn-wan')
    assert verdict(parsed, 'wg+', 'ext0') == ('accept', 'policy vpn-wan')  # declared as the zone lists it
    assert fw.zone_of(state(ROUTED), 'vpn+') == (
        'public', True, 'interfaces matching vpn+ are in zone labvpn: firewalld decides per interface')
    assert verdict(state(ROUTED), 'vpn+', 'ext0')[0] == 'depends'


def test_the_pairs_declared():
    accept = [{'in_interface': 'int0', 'out_interface': 'ext0'},
              {'in_interface': 'wg0', 'out_interface': 'ext0', 'bidirectional': False},
              {'in_interface': 'ext0', 'out_interface': 'int0', 'bidirectional': True}]
    assert fw.declared_pairs(accept, ['wg0', 'int0']) == [
        ('int0', 'ext0'), ('ext0', 'int0'), ('wg0', 'ext0'), ('wg0', 'docker0'), ('int0', 'docker0')]
    assert fw.declared_pairs(None, None) == []


def test_policies_from_or_to_the_host_are_not_on_the_forwarding_path():
    from_host = policy('host-out', -20, 'REJECT', 'HOST', 'ANY')
    assert verdict(state(ROUTED, policies=from_host), 'int0', 'ext0') == ('accept', 'policy lan-wan')
    # allow-host-ipv6 (ANY -> HOST, CONTINUE, rich rules that accept) never doubts a reject of forwarded traffic.
    assert verdict(state(ROUTED), 'vpn0', 'ext0') == ('reject', fw.FINAL_REJECT)
