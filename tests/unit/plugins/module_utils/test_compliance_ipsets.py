# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance with allowlists kept in ipsets: the `ipsets` check (the sets DOCKER-USER matches hold
exactly the declared sources: none missing or extra, no entry added or removed by hand) and the kept
sets under `persistence`. Facts as docker_firewall_info reads them from real captures, built as
test_compliance.py builds them."""

import pytest

from plugins.module_utils.test_compliance import (
    NO_FIREWALLD,
    capture,
    on_docker_29_nftables,
    table_facts,
    with_docker_user,
)
from plugins.module_utils.test_ipset import saved_by_ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _compliance as compliance
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._module._docker_user_module import SetPlan
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import family_facts

V4 = 'netops-dfw-ext0-v4'
V6 = 'netops-dfw-ext0-v6'
ALLOWLIST = {'interface': 'ext0', 'sources': ['198.51.100.0/24', '192.0.2.10-192.0.2.20', '2001:db8:10::/48',
                                              '2001:db8:20::7'],
             'ports': ['443'], 'source_sets': 'always'}
EXPECTED = dict(accept=[{'in_interface': 'int0', 'out_interface': 'ext0'}], allowlists=[ALLOWLIST])
HOST = compliance.Host({}, EXPECTED)
WANTED = HOST.wanted
SETS = dict((s.name, s) for s in HOST.blocks['allowlist:ext0'].sets.values())
V4_ENTRIES = ('192.0.2.10/31', '192.0.2.12/30', '192.0.2.16/30', '192.0.2.20', '198.51.100.0/24')
V6_ENTRIES = ('2001:db8:10::/48', '2001:db8:20::7')
# docker-user.ipsets as the docker_on_router role keeps it.
KEPT_SETS = SetPlan(wanted=SETS).payload()
OURS_ONLY = 'Docker runs its nftables firewall backend: see nft_table'


def sets_text(v4=V4_ENTRIES, v6=V6_ENTRIES, others=()):
    """docker_firewall_info's ipsets text: ours as `ipset save` prints them (hash order, the kernel's
    hash size), None leaving a set out; `others`: more sets of ours, (name, entries)."""
    found = [ipset.IpSet(name, family, list(entries)) for name, family, entries in
             ((V4, 'ipv4', v4), (V6, 'ipv6', v6)) if entries is not None]
    found += [ipset.IpSet(name, 'ipv6' if name.endswith('6') else 'ipv4', list(entries)) for name, entries in others]
    return saved_by_ipset(found, hashsize=2048, seed=3)


def router_facts(ipsets=None, kept_sets=KEPT_SETS, suite='sid', expected=None):
    """A converged router on Docker's iptables backend (Docker 28: sid, both families; Docker 20:
    bookworm, no IPv6 DOCKER-USER), its ipsets as `ipsets` gives them (by default as declared)."""
    expected = EXPECTED if expected is None else expected
    wanted = compliance.Host({}, expected).wanted
    v4 = with_docker_user(capture(suite, 'q2-published-default.iptables-save'), wanted['ipv4'])
    v6_text = capture(suite, 'q2-published-default.ip6tables-save')
    v6 = with_docker_user(v6_text, wanted['ipv6']) if ':DOCKER-USER' in v6_text else v6_text
    table = compliance.Host({}, expected).wanted_table
    return dict(
        docker={'major': 28 if suite == 'sid' else 20, 'manages_iptables': True},
        daemon_json={'userland-proxy': False}, daemon_json_error=None,
        iptables={'nft': {'ipv4': family_facts(v4), 'ipv6': family_facts(v6)}}, docker_backend='nft',
        backends_in_use=['nft'], ip_forward={'ipv4': True, 'ipv6': False}, containers=[], findings=[],
        persistence=dict(docker_user_unit=True, docker_user_unit_enabled=True, firewalld_watch_unit_enabled=True,
                         kept_rules=dict(wanted), kept_backend='nft', kept_table=compliance.nft.payload(table),
                         kept_sets=kept_sets, publisher_unit=False, publisher_unit_enabled=False,
                         published_containers=[], programs=dict(restore=True, firewalld_watch=True, publish=False),
                         engine_current=True),
        nftables=table_facts(table),
        ipsets=dict(text=sets_text() if ipsets is None else ipsets, error=None),
        firewalld=NO_FIREWALLD,
        decisions=dict(firewall_backend='iptables', iptables_variant='nft', nft_path='/usr/sbin/nft',
                       direct_routing_dropped=suite == 'sid', published_twice_needs_proxy=False),
    )


def checks(facts, expected=None):
    expected = EXPECTED if expected is None else expected
    return dict((c['id'], (c['status'], c['details']))
                for c in compliance.evaluate('docker_on_router', facts, expected))


def failed(facts, expected=None):
    return [check_id for check_id, (status, _details) in checks(facts, expected).items() if status == 'fail']


def test_the_facts_are_those_of_a_router_whose_rules_match_the_sets():
    assert sorted(SETS) == [V4, V6] and SETS[V4].entries == list(V4_ENTRIES) and SETS[V6].entries == list(V6_ENTRIES)
    facts = router_facts()
    assert ' --match-set %s src ' % V4 in '\n'.join(facts['iptables']['nft']['ipv4']['docker_user']['rules'])
    assert ' --match-set %s src ' % V6 in '\n'.join(facts['iptables']['nft']['ipv6']['docker_user']['rules'])


def test_a_converged_router_with_sets_passes_every_router_check():
    results = checks(router_facts())
    # Declared without routed access, on Docker's iptables backend: those two checks do not apply; reachability
    # is skipped without docker_firewall_info's answer (test_compliance_reachability.py).
    assert [i for i, (status, _d) in results.items() if status == 'pass'] == [
        i for i in compliance.PROFILE_CHECKS['docker_on_router']
        if i not in ('direct_routing', 'ports_published_twice', 'reachability')]
    assert results['ipsets'] == ('pass', []) and results['persistence'] == ('pass', [])


def test_an_address_added_by_hand_is_named():
    facts = router_facts(sets_text(v4=V4_ENTRIES + ('203.0.113.9',)))
    assert failed(facts) == ['ipsets']
    assert checks(facts)['ipsets'][1] == [
        'ipset netops-dfw-ext0-v4 differs: 1 not declared (203.0.113.9), 0 declared missing ()']


def test_an_address_removed_by_hand_is_named():
    facts = router_facts(sets_text(v6=V6_ENTRIES[:1]))
    assert failed(facts) == ['ipsets']
    assert checks(facts)['ipsets'][1] == [
        'ipset netops-dfw-ext0-v6 differs: 0 not declared (), 1 declared missing (2001:db8:20::7)']


def test_many_differences_are_counted_and_the_first_five_named():
    added = ['203.0.113.%d' % (2 * k) for k in range(7)]
    facts = router_facts(sets_text(v4=V4_ENTRIES[1:] + tuple(added)))
    assert checks(facts)['ipsets'][1] == [
        'ipset netops-dfw-ext0-v4 differs: 7 not declared (203.0.113.0, 203.0.113.10, 203.0.113.12, 203.0.113.2, '
        '203.0.113.4 and 2 more), 1 declared missing (192.0.2.10/31)']


def test_the_same_addresses_spelt_otherwise_pass():
    # hash:net keeps what it is given: a network added as its two halves holds the same addresses.
    facts = router_facts(sets_text(v4=V4_ENTRIES[:-1] + ('198.51.100.0/25', '198.51.100.128/25')))
    assert checks(facts)['ipsets'] == ('pass', [])


def test_a_missing_set_is_named_with_its_size():
    facts = router_facts(sets_text(v6=None))
    assert failed(facts) == ['ipsets']
    assert checks(facts)['ipsets'][1] == ['missing: ipset netops-dfw-ext0-v6 (2 entries)']


def test_extra_sets_of_ours_are_named_and_sets_of_others_are_not_reported():
    facts = router_facts(sets_text(others=[('netops-dfw-eth9-v4', ['203.0.113.7']),
                                           ('netops-dfw-ext0-t4', ['192.0.2.10/31'])]))
    assert checks(facts)['ipsets'] == ('fail', ['extra: ipset netops-dfw-eth9-v4', 'extra: ipset netops-dfw-ext0-t4'])
    others = 'create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\n'
    assert checks(router_facts(others + sets_text()))['ipsets'] == ('pass', [])


def test_a_set_of_the_wrong_kind_or_too_small_differs():
    small = sets_text().replace('maxelem 65536', 'maxelem 4', 1)
    assert small != sets_text()
    assert checks(router_facts(small))['ipsets'][0] == 'fail'
    kind = sets_text().replace('%s hash:net' % V4, '%s hash:ip' % V4)
    assert checks(router_facts(kind))['ipsets'][0] == 'fail'
    assert checks(router_facts(kind))['ipsets'][1] == [
        'ipset netops-dfw-ext0-v4 is hash:ip ipv4 with room for 65536 entries, not hash:net ipv4 for 5']


def test_an_exception_added_by_hand_with_nomatch_is_named():
    facts = router_facts(sets_text() + 'add %s 198.51.100.7 nomatch\n' % V4)
    assert checks(facts)['ipsets'] == ('fail', [
        'ipset netops-dfw-ext0-v4 differs: 1 not declared (198.51.100.7 nomatch), 0 declared missing ()'])


def test_an_unreadable_read_is_a_failed_check():
    facts = router_facts()
    facts['ipsets'] = dict(text='', error='reading the ipsets failed: ipset v7.17: Kernel error received: '
                                          'Operation not permitted')
    assert failed(facts) == ['ipsets']
    assert checks(facts)['ipsets'][1] == ['the ipsets cannot be read: reading the ipsets failed: ipset v7.17: Kernel '
                                          'error received: Operation not permitted']
    facts['ipsets'] = dict(text=sets_text() + 'add %s 192.0.2.300\n' % V4, error=None)
    assert checks(facts)['ipsets'][1] == ['the ipsets cannot be read: set netops-dfw-ext0-v4: '
                                          "'192.0.2.300' does not appear to be an IPv4 or IPv6 network"]


def test_the_check_is_skipped_under_docker_s_nftables_backend():
    facts = router_facts(sets_text(v4=None, others=[('netops-dfw-eth9-v4', ['203.0.113.7'])]))
    facts = on_docker_29_nftables(facts)
    assert checks(facts)['ipsets'] == ('skip', [OURS_ONLY])
    facts['ipsets'] = dict(text='', error='ipset is not installed')
    assert checks(facts)['ipsets'] == ('skip', [OURS_ONLY])


def test_on_docker_20_only_the_family_whose_chain_exists_has_a_set():
    assert checks(router_facts(sets_text(v6=None), suite='bookworm'))['ipsets'] == ('pass', [])
    assert checks(router_facts(sets_text(), suite='bookworm'))['ipsets'] == ('fail', ['extra: ipset %s' % V6])


def test_allowlists_without_sets_want_none():
    expected = dict(EXPECTED, allowlists=[dict(ALLOWLIST, source_sets='never')])
    facts = router_facts('', kept_sets=None, expected=expected)
    assert failed(facts, expected) == []
    facts = router_facts(sets_text(v6=None), kept_sets=None, expected=expected)
    assert checks(facts, expected)['ipsets'] == ('fail', ['extra: ipset %s' % V4])


def test_ipsets_facts_of_a_host_that_read_none_are_missing_sets():
    facts = router_facts()
    del facts['ipsets']
    assert checks(facts)['ipsets'][1] == ['missing: ipset netops-dfw-ext0-v4 (5 entries)',
                                          'missing: ipset netops-dfw-ext0-v6 (2 entries)']


# ---------------------------------------------------------------------------------------------
# persistence: the kept sets


DIFFER = 'the kept ipsets differ from the declared allowlists (%s kept, %s declared)'
BOTH = '%s, %s' % (V4, V6)


@pytest.mark.parametrize('kept, details', [
    pytest.param(KEPT_SETS.replace('add %s 198.51.100.0/24\n' % V4, 'add %s 198.51.100.0/25\n' % V4),
                 [DIFFER % (BOTH, BOTH)], id='an-entry-differs'),
    pytest.param(KEPT_SETS + 'add %s 2001:db8:30::1\n' % V6, [DIFFER % (BOTH, BOTH)], id='an-entry-added'),
    pytest.param(KEPT_SETS[:KEPT_SETS.index('create %s' % V6)], [DIFFER % (V4, BOTH)], id='a-set-not-kept'),
    pytest.param(KEPT_SETS + 'create netops-dfw-eth9-v4 hash:net family inet hashsize 1024 maxelem 65536\n',
                 [DIFFER % ('netops-dfw-eth9-v4, ' + BOTH, BOTH)], id='a-set-kept-too-many'),
    pytest.param(None, [DIFFER % ('none', BOTH)], id='nothing-kept'),
    pytest.param(KEPT_SETS.replace('hashsize 1024', 'hashsize lots', 1),
                 ['the kept ipsets cannot be read: line 1: create netops-dfw-ext0-v4 hash:net family inet hashsize '
                  'lots maxelem 65536', DIFFER % ('none', BOTH)], id='unreadable'),
])
def test_persistence_fails_when_the_kept_sets_differ(kept, details):
    facts = router_facts(kept_sets=kept)
    assert failed(facts) == ['persistence']
    assert checks(facts)['persistence'][1] == details


def test_persistence_takes_kept_sets_in_another_order_and_size():
    assert checks(router_facts(kept_sets=sets_text()))['persistence'] == ('pass', [])


def test_persistence_fails_when_sets_are_kept_and_none_declared():
    expected = dict(EXPECTED, allowlists=[dict(ALLOWLIST, source_sets='never')])
    facts = router_facts('', expected=expected)
    assert failed(facts, expected) == ['persistence']
    assert checks(facts, expected)['persistence'][1] == [DIFFER % (BOTH, 'none')]
