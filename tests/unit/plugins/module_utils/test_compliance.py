# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance checks over facts built from real and synthetic rule sets."""

import os

import pytest

from captures import capture
from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.filter.compliance import compliance_checks, compliance_report
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts
from plugins.module_utils import kube_node
from ansible.errors import AnsibleFilterError

EXPECTED = dict(accept=[{'in_interface': 'int0', 'out_interface': 'ext0'}],
                allowlists=[{'interface': 'ext0', 'sources': ['198.51.100.18', '2001:db8:2::18']}],
                routed=[{'interface': 'int0', 'networks': ['172.17.0.0/16']}])
# The DOCKER-USER rules EXPECTED declares, written out: the router pair, routed access (new
# connections without DNAT: between the two kinds of container bridges Docker's, from int0 to
# 172.17.0.0/16 returned, IPv4 only; the guard drops every other), then the allowlist of ext0.
_NEW_NOT_DNAT = '-m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT'
_PAIR = [
    '-A DOCKER-USER -i int0 -o ext0 -m comment --comment "netops.docker_firewall/accept:int0:ext0" -j ACCEPT',
    '-A DOCKER-USER -i ext0 -o int0 -m comment --comment "netops.docker_firewall/accept:int0:ext0" -j ACCEPT',
]
_ROUTED = '-m comment --comment "netops.docker_firewall/routed"'
_BRIDGES = [
    '-A DOCKER-USER -i docker+ -o br-+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
    '-A DOCKER-USER -i br-+ -o docker+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
]
_GUARD = [
    '-A DOCKER-USER ! -i docker+ -o docker+ %s %s -j DROP' % (_NEW_NOT_DNAT, _ROUTED),
    '-A DOCKER-USER ! -i br-+ -o br-+ %s %s -j DROP' % (_NEW_NOT_DNAT, _ROUTED),
]
_EXT0 = '-m comment --comment "netops.docker_firewall/allowlist:ext0"'
WANTED = dict(
    ipv4=_PAIR + _BRIDGES + [
        '-A DOCKER-USER -d 172.17.0.0/16 -i int0 -o docker+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
        '-A DOCKER-USER -d 172.17.0.0/16 -i int0 -o br-+ %s %s -j RETURN' % (_NEW_NOT_DNAT, _ROUTED),
    ] + _GUARD + [
        '-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % _EXT0,
        '-A DOCKER-USER -s 198.51.100.18/32 -i ext0 %s -j RETURN' % _EXT0,
        '-A DOCKER-USER -i ext0 %s -j DROP' % _EXT0,
    ],
    ipv6=_PAIR + _BRIDGES + _GUARD + [
        '-A DOCKER-USER -i ext0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % _EXT0,
        '-A DOCKER-USER -s 2001:db8:2::18/128 -i ext0 %s -j RETURN' % _EXT0,
        '-A DOCKER-USER -i ext0 %s -j DROP' % _EXT0,
    ])
# docker_firewall_info's summary of Docker's default bridge network.
DOCKER0 = dict(name='bridge', id='f0e1d2c3b4a5', driver='bridge', bridge='docker0', subnets=['172.17.0.0/16'],
               gateway_mode=dict(ipv4='nat', ipv6='nat'), trusted_host_interfaces=[], internal=False)
HOST_NETWORK = dict(name='host', id='999999999999', driver='host', bridge=None, subnets=[],
                    gateway_mode=dict(ipv4=None, ipv6=None), trusted_host_interfaces=[], internal=False)
# docker_firewall_info's firewalld where firewall-cmd is not installed.
NO_FIREWALLD = dict(installed=False, running=False, backend=None, default_zone=None, zones={}, zones_of_interfaces={},
                    policies=[], forwarding=[], error=None)
# Checks that do not apply to a router on Docker's iptables backend, and reachability, skipped where
# docker_firewall_info did not work it out (these facts; test_compliance_reachability.py gives it).
NOT_ON_IPTABLES = ('ports_published_twice', 'reachability')


def with_docker_user(save_text, lines):
    """`save_text` with DOCKER-USER holding exactly `lines`."""
    out = [line for line in save_text.splitlines() if not line.startswith('-A DOCKER-USER ')]
    index = out.index('COMMIT', next(i for i, line in enumerate(out) if line == '*filter'))
    return '\n'.join(out[:index] + lines + out[index:]) + '\n'


WANTED_TABLE = compliance.Host({}, EXPECTED).wanted_table


def table_facts(table, installed=True):
    """docker_firewall_info's nftables facts with our table as `table` (None: absent)."""
    ours = dict(text=compliance.nft.render(table), blocks=table.blocks(), error=None) if table else None
    return dict(installed=installed, tables=['inet netops-docker-firewall'] if table else [], ours=ours)


def router_facts(v4_lines=None, v6_lines=None, suite='sid', persist=True, legacy=None):
    v4 = with_docker_user(capture(suite, 'q2-published-default.iptables-save'),
                          WANTED['ipv4'] if v4_lines is None else v4_lines)
    v6_text = capture(suite, 'q2-published-default.ip6tables-save')
    v6 = with_docker_user(v6_text, WANTED['ipv6'] if v6_lines is None else v6_lines) if ':DOCKER-USER' in v6_text \
        else v6_text
    iptables = {'nft': {'ipv4': family_facts(v4), 'ipv6': family_facts(v6)}}
    if legacy:
        iptables['legacy'] = {'ipv4': family_facts(legacy)}
    return dict(
        docker={'major': 28 if suite == 'sid' else 20, 'manages_iptables': True},
        daemon_json={'userland-proxy': False, 'allow-direct-routing': True} if suite == 'sid'
        else {'userland-proxy': False}, daemon_json_error=None, iptables=iptables, docker_backend='nft',
        networks=[DOCKER0, HOST_NETWORK], networks_error=None,
        backends_in_use=sorted(iptables), ip_forward={'ipv4': True, 'ipv6': False}, containers=[], findings=[],
        persistence=dict(docker_user_unit=persist, docker_user_unit_enabled=persist, firewalld_watch_unit_enabled=persist,
                         kept_rules=dict(WANTED) if persist else {}, kept_backend='nft', publisher_unit=False,
                         publisher_unit_enabled=False, published_containers=[],
                         programs=dict(restore=persist, firewalld_watch=persist, publish=False), engine_current=True if persist else None,
                         kept_table=compliance.nft.payload(WANTED_TABLE) if persist else None),
        # the backstop beside DOCKER-USER
        nftables=table_facts(WANTED_TABLE),
        firewalld=NO_FIREWALLD,
        # What docker_firewall_info decides on such a host (Docker 28 or 20, on iptables-nft).
        decisions=dict(firewall_backend='iptables', iptables_variant='nft', nft_path='/usr/sbin/nft',
                       direct_routing_dropped=suite == 'sid', published_twice_needs_proxy=False),
    )


def on_docker_29_nftables(facts):
    """`facts` of a router on Docker 29's nftables firewall backend, as docker_firewall_info reports and
    decides it."""
    facts['docker'] = {'major': 29, 'manages_iptables': True, 'firewall_backend': 'nftables'}
    facts['decisions'].update(firewall_backend='nftables', direct_routing_dropped=True, published_twice_needs_proxy=True)
    return facts


def failed(profile, facts, expected=None):
    expected = EXPECTED if expected is None else expected
    return [c['id'] for c in compliance.evaluate(profile, facts, expected) if c['status'] == 'fail']


def details(profile, facts, check_id, expected=None):
    expected = EXPECTED if expected is None else expected
    return [c for c in compliance.evaluate(profile, facts, expected) if c['id'] == check_id][0]['details']


class TestRouter:
    def test_converged_router_passes_every_router_check(self):
        checks = compliance.evaluate('docker_on_router', router_facts(), EXPECTED)
        assert [c['id'] for c in checks if c['status'] == 'pass'] == [
            i for i in compliance.PROFILE_CHECKS['docker_on_router'] if i not in NOT_ON_IPTABLES]
        assert all(c['status'] == 'skip' for c in checks if c['id'] not in compliance.PROFILE_CHECKS['docker_on_router']
                   or c['id'] in NOT_ON_IPTABLES)

    def test_the_backstop_table_missing_or_drifted_beside_docker_user(self):
        facts = router_facts()
        facts['nftables'] = table_facts(None)
        assert failed('docker_on_router', facts) == ['nft_table']
        assert details('docker_on_router', facts, 'nft_table') == ['missing: accept:int0:ext0', 'missing: allowlist:ext0',
                                                                   'missing: routed']
        drifted = compliance.nft.render(WANTED_TABLE).replace('elements = { 198.51.100.18 }',
                                                              'elements = { 198.51.100.18, 198.51.100.19 }')
        assert drifted != compliance.nft.render(WANTED_TABLE)
        facts['nftables'] = table_facts(compliance.nft.parse_table(drifted))
        assert details('docker_on_router', facts, 'nft_table') == [
            'the sets or rules of accept:int0:ext0, allowlist:ext0, routed differ from the declared ones']
        facts = router_facts()
        facts['persistence']['kept_table'] = None
        assert details('docker_on_router', facts, 'persistence') == [
            'the kept backstop table differs from the declared allowlists']

    def test_without_nft_the_backstop_is_skipped_unless_required(self):
        facts = router_facts()
        facts['nftables'] = table_facts(None, installed=False)
        facts['decisions']['nft_path'] = None
        facts['persistence']['kept_table'] = None
        checks = dict((c['id'], c) for c in compliance.evaluate('docker_on_router', facts, EXPECTED))
        assert checks['nft_table']['status'] == 'skip'
        assert checks['nft_table']['details'] == [compliance.NO_BACKSTOP]
        assert checks['persistence']['status'] == 'pass'
        required = dict(EXPECTED, backstop='always')
        assert failed('docker_on_router', facts, required) == ['nft_table', 'persistence']
        assert 'docker_on_router_backstop: always' in details('docker_on_router', facts, 'nft_table', required)[0]

    def test_an_unreadable_nft_is_a_failed_check_whatever_is_declared(self):
        for expected in (EXPECTED, dict(EXPECTED, backstop='never')):
            facts = router_facts()
            facts['nftables'] = dict(installed=True, tables=None,
                                     ours=dict(text='', blocks=[], error='nft list tables failed: denied'))
            assert details('docker_on_router', facts, 'nft_table', expected) == ['nft list tables failed: denied']

    def test_a_table_of_ours_where_no_backstop_is_declared_is_drift(self):
        # The backstop holds what drops: allowlists, or routed access (its guard, even without declarations).
        for expected in (dict(EXPECTED, backstop='never'), dict(EXPECTED, allowlists=[], routed=None)):
            facts = router_facts()
            assert 'nft_table' in failed('docker_on_router', facts, expected)
            assert details('docker_on_router', facts, 'nft_table', expected)[-1] == (
                'the table should not exist: it would drop beside DOCKER-USER')
            assert 'a kept nftables table would be loaded beside DOCKER-USER at boot' in details(
                'docker_on_router', facts, 'persistence', expected)
        facts = router_facts()
        facts['nftables'] = table_facts(None)
        facts['persistence']['kept_table'] = None
        assert failed('docker_on_router', facts, dict(EXPECTED, backstop='never')) == []

    def test_flushed_docker_user_lists_what_is_missing(self):
        facts = router_facts(v4_lines=[])
        assert failed('docker_on_router', facts) == ['router_rules_ipv4']
        assert details('docker_on_router', facts, 'router_rules_ipv4') == ['missing: %s' % line for line in WANTED['ipv4']]

    def test_rules_out_of_order_are_drift(self):
        assert failed('docker_on_router', router_facts(v4_lines=WANTED['ipv4'][2:] + WANTED['ipv4'][:2])) == [
            'router_rules_ipv4']

    def test_an_extra_block_of_ours_is_drift_and_foreign_rules_are_not(self):
        stale = '-A DOCKER-USER -i wg9 -o eth0 -m comment --comment "netops.docker_firewall/accept:wg9:eth0" -j ACCEPT'
        foreign = '-A DOCKER-USER -s 203.0.113.9/32 -j DROP'
        assert failed('docker_on_router', router_facts(v4_lines=WANTED['ipv4'] + [foreign])) == []
        facts = router_facts(v4_lines=WANTED['ipv4'] + [stale])
        assert details('docker_on_router', facts, 'router_rules_ipv4') == ['extra: %s' % stale]

    def test_ipv6_side_missing(self):
        assert failed('docker_on_router', router_facts(v6_lines=[])) == ['router_rules_ipv6']

    def test_docker_20_does_not_enforce_the_ipv6_allowlist(self):
        facts = router_facts(suite='bookworm')
        assert failed('docker_on_router', facts) == ['router_rules_ipv6']
        assert 'ipv6 DOCKER-USER does not exist' in details('docker_on_router', facts, 'router_rules_ipv6')[0]

    def test_persistence_missing_or_stale(self):
        assert failed('docker_on_router', router_facts(persist=False)) == ['persistence']
        facts = router_facts()
        facts['persistence']['kept_rules']['ipv4'] = WANTED['ipv4'][:1]
        assert failed('docker_on_router', facts) == ['persistence']
        assert failed('docker_on_router', router_facts(persist=False), dict(EXPECTED, persist=False)) == []

    @pytest.mark.parametrize('programs, engine_current, fault', [
        (dict(restore=False, firewalld_watch=True), True, '/usr/local/sbin/netops-docker-user-restore is not installed'),
        (dict(restore=True, firewalld_watch=False), True, '/usr/local/sbin/netops-docker-firewalld-watch is not installed'),
        (dict(restore=True, firewalld_watch=True), None,
         'the engine under /usr/local/lib/netops-docker-firewall, which /usr/local/sbin/netops-docker-user-restore '
         'runs, is missing'),
        (dict(restore=True, firewalld_watch=True), False,
         "the engine under /usr/local/lib/netops-docker-firewall is not this collection version's: run the role again"),
    ])
    def test_persistence_without_the_restore_program_or_its_engine(self, programs, engine_current, fault):
        facts = router_facts()
        facts['persistence'].update(programs=programs, engine_current=engine_current)
        assert failed('docker_on_router', facts) == ['persistence']
        assert details('docker_on_router', facts, 'persistence') == [fault]

    def test_persistence_without_the_firewalld_watcher(self):
        facts = router_facts()
        facts['persistence']['firewalld_watch_unit_enabled'] = False
        assert failed('docker_on_router', facts) == ['persistence']
        assert details('docker_on_router', facts, 'persistence')[0].startswith(
            'netops-docker-firewalld-watch.service is not wanted by firewalld.service')

    def test_docker_user_not_jumped_to_and_forwarding_off(self):
        v4 = with_docker_user(capture('sid', 'q2-published-default.iptables-save'), WANTED['ipv4'])
        facts = router_facts()
        facts['iptables']['nft']['ipv4'] = family_facts(v4.replace('-A FORWARD -j DOCKER-USER\n', ''))
        facts['ip_forward']['ipv4'] = False
        assert failed('docker_on_router', facts) == ['ip_forward', 'docker_user_first']
        assert details('docker_on_router', facts, 'docker_user_first') == [
            'ipv4 FORWARD does not jump to DOCKER-USER: its rules filter nothing']

    def test_a_rule_that_accepts_before_docker_user_is_drift_and_an_isolation_jump_is_not(self):
        v4 = with_docker_user(capture('trixie', 'q2-published-default.iptables-save'), WANTED['ipv4'])
        facts = router_facts(suite='trixie')
        reordered = v4.replace('-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n',
                               '-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n-A FORWARD -j DOCKER-USER\n')
        assert reordered != v4
        facts['iptables']['nft']['ipv4'] = family_facts(reordered)
        assert 'docker_user_first' not in failed('docker_on_router', facts)
        facts['iptables']['nft']['ipv4'] = family_facts(
            reordered.replace('-A FORWARD -j DOCKER-USER\n', '-A FORWARD -i ext0 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n'))
        assert details('docker_on_router', facts, 'docker_user_first') == [
            'ipv4 FORWARD accepts before DOCKER-USER: -A FORWARD -i ext0 -j ACCEPT']

    def test_a_rule_of_another_tool_above_ours_in_docker_user_is_drift_and_below_is_not(self):
        captured = capture('sid', 'q2-published-default.iptables-save')
        hand = '-A DOCKER-USER -s 198.51.100.19/32 -j ACCEPT'
        facts = router_facts()
        facts['iptables']['nft']['ipv4'] = family_facts(with_docker_user(captured, [hand] + WANTED['ipv4']))
        assert failed('docker_on_router', facts) == ['docker_user_first']
        assert details('docker_on_router', facts, 'docker_user_first') == [
            'ipv4 DOCKER-USER: a rule of another tool comes before ours (what it accepts or returns never meets the '
            'allowlists): ' + hand]
        facts['iptables']['nft']['ipv4'] = family_facts(with_docker_user(captured, WANTED['ipv4'] + [hand]))
        assert failed('docker_on_router', facts) == []

    def nftables_router(self, table_text, leftover=False):
        """A Docker 29 router on the nftables backend after a reboot (or before it: leftover)."""
        name = 'n1-switched-fwd0' if leftover else 'n3-switched-after-reboot'
        v4 = capture('docker29', name + '.iptables-save')
        if leftover:
            v4 = with_docker_user(v4, WANTED['ipv4'])
        facts = on_docker_29_nftables(router_facts())
        facts['iptables'] = {'nft': {'ipv4': family_facts(v4), 'ipv6': family_facts('')}}
        facts['nftables'] = {'installed': True, 'tables': ['ip docker-bridges'],
                             'ours': {'text': table_text, 'blocks': [], 'error': None} if table_text else None}
        wanted = compliance.Host(facts, EXPECTED).wanted_table
        facts['persistence'].update(kept_backend='nftables', kept_table=compliance.nft.payload(wanted), kept_rules={})
        return facts

    def test_a_router_on_docker_s_nftables_backend_is_checked_in_our_table(self):
        wanted = compliance.Host({}, EXPECTED).wanted_table
        facts = self.nftables_router(compliance.nft.render(wanted))
        checks = dict((c['id'], c['status']) for c in compliance.evaluate('docker_on_router', facts, EXPECTED))
        assert [i for i, status in checks.items() if status == 'pass'] == [
            'ip_forward', 'firewall_backend', 'nft_table', 'proxy_path', 'direct_routing', 'ports_published_twice',
            'persistence', 'firewalld_forwarding', 'docker_chains_clean', 'single_backend']
        assert [i for i, status in checks.items() if status == 'skip' and i.startswith(('router_', 'docker_user'))] == [
            'docker_user_first', 'router_rules_ipv4', 'router_rules_ipv6']

    def test_nftables_router_without_our_table_or_with_a_hand_added_source(self):
        assert failed('docker_on_router', self.nftables_router('')) == ['nft_table']
        assert details('docker_on_router', self.nftables_router(''), 'nft_table') == [
            'missing: accept:int0:ext0', 'missing: allowlist:ext0', 'missing: routed']
        wanted = compliance.Host({}, EXPECTED).wanted_table
        drifted = compliance.nft.render(wanted).replace('elements = { 198.51.100.18 }',
                                                        'elements = { 198.51.100.18, 198.51.100.19 }')
        assert failed('docker_on_router', self.nftables_router(drifted)) == ['nft_table']

    def test_an_unreadable_table_or_kept_file_is_a_failed_check_not_an_error(self):
        wanted = compliance.Host({}, EXPECTED).wanted_table
        facts = self.nftables_router(compliance.nft.render(wanted).replace('198.51.100.18', '198.51.100.999'))
        facts['persistence']['kept_table'] = 'table ip docker-bridges {\n}\n'
        checks = dict((c['id'], c) for c in compliance.evaluate('docker_on_router', facts, EXPECTED))
        assert checks['nft_table']['status'] == 'fail' and 'cannot be read' in checks['nft_table']['details'][0]
        assert checks['persistence']['status'] == 'fail' and 'cannot be read' in checks['persistence']['details'][-1]

    def test_rules_left_in_docker_user_after_the_switch_are_flagged(self):
        wanted = compliance.Host({}, EXPECTED).wanted_table
        facts = self.nftables_router(compliance.nft.render(wanted), leftover=True)
        assert failed('docker_on_router', facts) == ['firewall_backend']
        assert 'no longer uses' in details('docker_on_router', facts, 'firewall_backend')[0]

    def test_docker_proxy_path_around_the_allowlist(self):
        facts = router_facts()
        facts['daemon_json'] = {}
        assert failed('docker_on_router', facts) == ['proxy_path']
        assert 'not set (on by default)' in details('docker_on_router', facts, 'proxy_path')[0]
        facts['daemon_json'] = {'userland-proxy': True}
        assert failed('docker_on_router', facts) == ['proxy_path']
        assert [c['status'] for c in compliance.evaluate('docker_on_router', facts, dict(EXPECTED, allowlists=[]))
                if c['id'] == 'proxy_path'] == ['skip']

    def test_a_check_is_registered_once_with_its_profiles(self):
        assert len(compliance.CHECK_IDS) == len(set(compliance.CHECK_IDS))
        assert compliance.PROFILE_CHECKS['none'] == ('docker_chains_clean', 'single_backend')
        assert all(set(c.profiles) <= set(compliance.PROFILES) for c in compliance.REGISTRY)

    def test_a_rule_in_the_other_backend(self):
        legacy = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 198.51.100.77/32 -j DROP\nCOMMIT\n'
        assert failed('docker_on_router', router_facts(legacy=legacy)) == ['single_backend']

    def test_bad_declaration_is_a_clear_error(self):
        with pytest.raises(AnsibleFilterError, match='cannot be checked'):
            compliance_checks(router_facts(), 'docker_on_router', {'accept': [{'in_interface': 'docker0'}]})
        with pytest.raises(AnsibleFilterError, match="compliance_profile 'gateway'"):
            compliance_checks(router_facts(), 'gateway')


def kube_facts(suite='trixie', name='q5b-usernet-published', settings=None, findings=(), major=26):
    """A node with kube-proxy in iptables mode (the lab's stand-in) beside Docker's capture `name`."""
    v4 = capture(suite, name + '.iptables-save') + kube_node.kube('iptables.iptables-save.txt')
    return kube_node.node_facts(v4, capture(suite, name + '.ip6tables-save'), settings=settings, major=major,
                                findings=findings)


class TestKube:
    def test_node_with_the_preset_passes(self):
        assert failed('docker_beside_kube_proxy', kube_facts(), {}) == []

    def test_docker_28_still_writing_ip6tables_is_caught_twice(self):
        settings = compliance.preset_settings('k8s', 26)  # no ip6tables: false
        facts = kube_facts(suite='sid', settings=settings, major=28)
        assert failed('docker_beside_kube_proxy', facts, {}) == ['k8s_preset', 'no_docker_rules']
        assert details('docker_beside_kube_proxy', facts, 'k8s_preset', {}) == ['ip6tables is absent, not false']

    def test_docker_managing_iptables_again(self):
        facts = kube_facts(suite='trixie', name='q2-published-default', settings=dict(
            compliance.preset_settings('k8s', 26), iptables=True))
        assert failed('docker_beside_kube_proxy', facts, {}) == ['k8s_preset', 'no_docker_rules']

    def test_declared_settings_are_part_of_the_preset(self):
        assert failed('docker_beside_kube_proxy', kube_facts(), {'daemon_settings': {'userland-proxy': False}}) == [
            'k8s_preset']

    def test_standalone_container_and_missing_kube_proxy(self):
        facts = kube_node.node_facts(capture('trixie', 'q5b-usernet-published.iptables-save'),
                                     findings=[{'problem': 'web publishes 8080', 'fix': 'do this'}])
        assert failed('docker_beside_kube_proxy', facts, {}) == ['kube_proxy', 'standalone_ports']
        assert details('docker_beside_kube_proxy', facts, 'standalone_ports', {}) == ['web publishes 8080 Fix: do this.']

    def test_a_rule_of_ours_in_a_kube_chain_is_drift(self):
        ours = '*nat\n-A KUBE-SERVICES -p tcp -m comment --comment "netops.docker_firewall/publish:web" -j RETURN\nCOMMIT\n'
        facts = kube_node.node_facts(kube_node.kube('iptables.iptables-save.txt') + ours)
        assert failed('docker_beside_kube_proxy', facts, {}) == ['kube_proxy']
        assert details('docker_beside_kube_proxy', facts, 'kube_proxy', {}) == [
            "a rule of ours in kube-proxy's structures: nft ipv4: -A KUBE-SERVICES -p tcp -m comment --comment "
            '"netops.docker_firewall/publish:web" -j RETURN']

    def test_publisher_declared_but_not_installed(self):
        facts = kube_facts()
        facts['containers'] = [{'name': 'registry'}]
        assert failed('docker_beside_kube_proxy', facts, {'publish': ['registry']}) == ['publisher']
        assert details('docker_beside_kube_proxy', facts, 'publisher', {'publish': ['registry']}) == [
            'netops-docker-publish.service is not installed and enabled',
            '/usr/local/lib/netops-docker-firewall/netops_docker_publish.py is not installed',
            'the publisher is configured for nothing, not registry',
            'registry runs but none of its ports is published']


def test_fleet_report_counts_and_marks_unreachable_hosts():
    hostvars = {
        'r1': {'__compliance_result': {'profile': 'docker_on_router',
                                       'checks': compliance.evaluate('docker_on_router', router_facts(), EXPECTED)}},
        'r2': {'__compliance_result': {'profile': 'docker_on_router',
                                       'checks': compliance.evaluate('docker_on_router', router_facts(v6_lines=[]),
                                                                     EXPECTED)}},
        'gone': {},
    }
    report = compliance_report(hostvars, ['r2', 'gone', 'r1'])
    assert [h['name'] for h in report['hosts']] == ['gone', 'r1', 'r2']
    assert [h['compliant'] for h in report['hosts']] == [False, True, False]
    assert report['hosts'][0]['error'].startswith('no result')
    assert report['totals'] == {'hosts': 3, 'compliant': 1, 'failed_checks': 1} and not report['compliant']
    assert [c['id'] for c in report['checks']] == list(compliance.CHECK_IDS)


def test_every_query_documented_in_docs_compliance_md_runs():
    import re

    import jmespath

    with open(os.path.join(ROOT, 'docs', 'compliance.md')) as handle:
        queries = [q.replace('\\|', '|') for q in re.findall(r'^\| [^|`]+ \| `(hosts.+)` \|$', handle.read(), re.M)]
    assert len(queries) == 4
    hostvars = {
        'r1': {'__compliance_result': {'profile': 'docker_on_router',
                                       'checks': compliance.evaluate('docker_on_router', router_facts(v6_lines=[]),
                                                                     EXPECTED)}},
        'k1': {'__compliance_result': {'profile': 'docker_beside_kube_proxy',
                                       'checks': compliance.evaluate('docker_beside_kube_proxy', kube_facts(), {})}},
    }
    report = compliance_report(hostvars, ['r1', 'k1'])
    answers = [jmespath.search(query, report) for query in queries]
    assert answers[:3] == [['r1'], ['r1'], 1]
    assert answers[3] == [[], [{'id': 'router_rules_ipv6', 'details': details('docker_on_router', router_facts(
        v6_lines=[]), 'router_rules_ipv6')}]]
