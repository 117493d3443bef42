# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compliance check firewalld_forwarding: it reads docker_firewall_info's verdicts (built here from
the lab router's real firewall-cmd output with the engine the module runs, _firewalld) for the
declared router pairs and routed-access interfaces, and fails on a reject, a drop, a verdict that
depends, and a pair nobody evaluated."""

from captures import firewalld
from plugins.module_utils.test_compliance import EXPECTED, NO_FIREWALLD, router_facts
from plugins.module_utils.test_firewalld import IPTABLES_CONF, policy, with_zone
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as fw

ROUTED, NONE = '2.3.1-routed', '2.3.1-none'
# What EXPECTED declares: int0 <-> ext0 (bidirectional by default) and routed access from int0.
PAIRS = [('int0', 'ext0'), ('ext0', 'int0'), ('int0', 'docker0')]


def firewalld_facts(case, zones=None, policies='', conf=None, pairs=None):
    """docker_firewall_info's firewalld where firewalld runs with the lab's listings (edited), asked about `pairs`
    (PAIRS unless given)."""
    pairs = PAIRS if pairs is None else pairs
    parsed = fw.state(zones or firewalld(case, 'list-all-zones.txt'),
                      firewalld(case, 'list-all-policies.txt') + policies,
                      conf_text=conf or firewalld(case, 'firewalld.conf'))
    found = dict(installed=True, running=True, backend=parsed['backend'], error=None, **fw.summary(parsed))
    found['forwarding'] = [fw.evaluate(parsed, True, in_interface, out_interface)
                           for in_interface, out_interface in pairs]
    return found


def check(found, expected=None):
    facts = router_facts()
    if found is None:
        del facts['firewalld']
    else:
        facts['firewalld'] = found
    results = compliance.evaluate('docker_on_router', facts, EXPECTED if expected is None else expected)
    result = [c for c in results if c['id'] == 'firewalld_forwarding'][0]
    if expected is None:  # the facts are those of a router converged on EXPECTED: no other check fails
        assert [c['id'] for c in results if c['status'] == 'fail'] in ([], ['firewalld_forwarding'])
    return result['status'], result['details']


def test_zones_and_policies_that_route_pass():
    status, details = check(firewalld_facts(ROUTED))
    assert status == 'pass'
    assert details == [
        'firewalld accepts forwarding from int0 (zone lablan) to ext0 (zone labwan): policy lan-wan (its target is '
        'ACCEPT)',
        'firewalld accepts forwarding from ext0 (zone labwan) to int0 (zone lablan): policy wan-lan (its target is '
        'ACCEPT)',
        'firewalld accepts forwarding from int0 (zone lablan) to docker0 (zone docker): policy docker-forwarding (its '
        'target is ACCEPT)']


def test_no_zones_fails_with_the_zones_what_decides_and_the_fix():
    status, details = check(firewalld_facts(NONE))
    assert status == 'fail' and len(details) == 3
    assert details[0].startswith(
        "firewalld rejects forwarding from int0 (zone public, implicit) to ext0 (zone public, implicit): firewalld's "
        'final reject (both interfaces are only implicitly in the default zone public')
    assert details[0].endswith('Fix: put int0 and ext0 in zones of their own and add a policy that forwards from zone '
                               'int0 to zone ext0: firewall-cmd --permanent --new-zone=int0; firewall-cmd --permanent '
                               '--zone=int0 --add-interface=int0; firewall-cmd --permanent --new-zone=ext0; '
                               'firewall-cmd --permanent --zone=ext0 --add-interface=ext0; firewall-cmd --permanent '
                               '--new-policy=int0-ext0; firewall-cmd --permanent --policy=int0-ext0 '
                               '--add-ingress-zone=int0; firewall-cmd --permanent --policy=int0-ext0 '
                               '--add-egress-zone=ext0; firewall-cmd --permanent --policy=int0-ext0 --set-target=ACCEPT; '
                               'firewall-cmd --reload')
    assert details[1].startswith('firewalld rejects forwarding from ext0 (zone public, implicit) to int0 ')
    # Routed access into Docker's zone stands: Docker's policy takes every ingress zone.
    assert details[2] == ('firewalld accepts forwarding from int0 (zone public, implicit) to docker0 (zone docker): '
                          'policy docker-forwarding (its target is ACCEPT)')


def test_routed_access_dropped_on_its_way_into_docker_s_zone_fails():
    zones = with_zone(with_zone(firewalld(ROUTED, 'list-all-zones.txt'), 'lablan', interfaces=''), 'drop',
                      interfaces='int0')
    block = policy('no-containers', -10, 'DROP', 'drop', 'docker')
    status, details = check(firewalld_facts(ROUTED, zones, block), dict(EXPECTED, accept=[]))
    assert status == 'fail'
    assert details[0].startswith('firewalld drops forwarding from int0 (zone drop) to docker0 (zone docker): policy '
                                 'no-containers (its target is DROP)')
    assert 'firewall-cmd --permanent --policy=drop-docker --set-priority=-11' in details[0]


def test_what_may_decide_part_of_the_traffic_fails_as_unknown():
    audit = policy('lan-audit', -10, 'CONTINUE', 'lablan', 'labwan',
                   rules='rule family="ipv4" source address="198.51.100.0/24" drop')
    status, details = check(firewalld_facts(ROUTED, policies=audit))
    assert status == 'fail'
    assert details[0].startswith('unknown: whether firewalld forwards from int0 (zone lablan) to ext0 (zone labwan) '
                                 'depends on policy lan-audit: policy lan-audit: rich rule rule family="ipv4" source '
                                 'address="198.51.100.0/24" drop; the rest: accept by policy lan-wan')
    assert details[1:] == [
        'firewalld accepts forwarding from ext0 (zone labwan) to int0 (zone lablan): policy wan-lan (its target is '
        'ACCEPT)',
        'firewalld accepts forwarding from int0 (zone lablan) to docker0 (zone docker): policy docker-forwarding (its '
        'target is ACCEPT)']


def test_a_pair_docker_firewall_info_was_not_asked_about_fails_as_unknown():
    status, details = check(firewalld_facts(ROUTED, pairs=[('int0', 'ext0')]))
    assert status == 'fail'
    assert details == [
        'unknown: firewalld forwarding from ext0 to int0 was not evaluated: docker_firewall_info reads it for '
        'forward_pairs and forward_to_docker (the compliance role passes the declarations)',
        'unknown: firewalld forwarding from int0 to docker0 was not evaluated: docker_firewall_info reads it for '
        'forward_pairs and forward_to_docker (the compliance role passes the declarations)',
        'firewalld accepts forwarding from int0 (zone lablan) to ext0 (zone labwan): policy lan-wan (its target is '
        'ACCEPT)']


def test_firewalld_s_state_unreadable_fails():
    found = dict(NO_FIREWALLD, installed=True, running=True, error='firewall-cmd --list-all-zones failed (rc 252): x')
    found['forwarding'] = [fw.evaluate(None, True, i, o, found['error']) for i, o in PAIRS]
    status, details = check(found)
    assert status == 'fail' and all(d.startswith('unknown: whether firewalld forwards from int0 to ext0 depends on what '
                                                 'could not be read: ') for d in details[:1])
    assert len(details) == 3


def test_not_applicable_without_firewalld_or_on_its_iptables_backend():
    assert check(NO_FIREWALLD) == ('pass', ['not applicable: firewalld does not run'])
    status, details = check(firewalld_facts(NONE, conf=IPTABLES_CONF))
    assert status == 'pass' and details[0].startswith('not applicable: firewalld runs its iptables backend')


def test_nothing_declared_passes():
    assert check(firewalld_facts(NONE, pairs=[]), dict(EXPECTED, accept=[], routed=[])) == (
        'pass', ['no router pair or routed access declared'])


def test_facts_of_an_older_collection_fail():
    assert check(None) == ('fail', ['docker_firewall_info reported no firewalld: a collection older than this check '
                                    'read the host'])


def test_not_part_of_the_kubernetes_node_profile():
    assert 'firewalld_forwarding' in compliance.PROFILE_CHECKS['docker_on_router']
    assert 'firewalld_forwarding' not in compliance.PROFILE_CHECKS['docker_beside_kube_proxy']
