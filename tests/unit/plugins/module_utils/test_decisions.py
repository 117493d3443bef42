# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_decisions: each decision the collection takes about a host, on what each Docker generation shows
(20.10, 26, 28, 29 on iptables, 29 on nftables) and at the edges: Docker not running, no firewall backend
reported before 28.1, nft missing, firewalld's "+firewalld" suffix. Every expected value is written out."""

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _blocks, _nft, _publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule, RuleSyntaxError

# What each generation shows the decisions: dockerd's major, what `docker info` reports as
# FirewallBackend.Driver (nothing before 28.1), what daemon.json names as firewall-backend.
GENERATIONS = {
    '20.10': dict(major=20, driver=None, configured=None),
    '26': dict(major=26, driver=None, configured=None),
    '28': dict(major=28, driver='iptables', configured=None),
    '29-iptables': dict(major=29, driver='iptables', configured=None),
    '29-nftables': dict(major=29, driver='nftables', configured='nftables'),
}


def firewall_of(generation, **changes):
    seen = dict(GENERATIONS[generation], **changes)
    return decisions.firewall_backend(seen['configured'], decisions.reported_firewall_backend(seen['driver']))


# --- Docker's firewall backend ---------------------------------------------------------------------


@pytest.mark.parametrize('generation, backend', [
    ('20.10', 'iptables'), ('26', 'iptables'), ('28', 'iptables'), ('29-iptables', 'iptables'),
    ('29-nftables', 'nftables'),
])
def test_the_firewall_backend_of_each_generation(generation, backend):
    assert firewall_of(generation).value == backend


@pytest.mark.parametrize('driver, reported', [
    ('nftables+firewalld', 'nftables'), ('iptables+firewalld', 'iptables'), ('nftables', 'nftables'),
    ('', None), (None, None),
])
def test_firewalld_s_suffix_is_not_part_of_the_backend(driver, reported):
    assert decisions.reported_firewall_backend(driver) == reported


def test_firewalld_running_beside_docker_29_on_nftables_changes_nothing():
    assert firewall_of('29-nftables', driver='nftables+firewalld') == firewall_of('29-nftables')


def test_before_28_1_nothing_is_reported_and_daemon_json_or_the_default_decides():
    assert decisions.firewall_backend(None, None) == (
        'iptables', "Docker's default: daemon.json names no firewall-backend")
    assert decisions.firewall_backend('iptables', None).value == 'iptables'


def test_docker_not_running_is_decided_by_daemon_json_for_its_next_start():
    stopped = firewall_of('29-nftables', driver=None)
    assert stopped.value == 'nftables' and stopped.reason.startswith('daemon.json names it')
    assert firewall_of('29-iptables', driver=None).value == 'iptables'


def test_the_running_dockerd_wins_over_a_daemon_json_it_has_not_read_yet():
    found = decisions.firewall_backend('nftables', 'iptables')
    assert found == ('iptables', 'the running dockerd reports it (daemon.json names nftables for its next start)')
    # The DOCKER-USER modules do not ask the running dockerd: they write for the next start.
    assert decisions.firewall_backend('nftables').value == 'nftables'


def test_the_backend_asked_for_wins_and_says_when_it_is_a_switch():
    assert decisions.firewall_backend(None, 'iptables', requested='nftables') == (
        'nftables', 'asked for, a switch from iptables')
    assert decisions.firewall_backend('nftables', 'nftables', requested='nftables') == ('nftables', 'asked for')
    assert decisions.firewall_backend('nftables', None, requested='iptables').value == 'iptables'


def test_a_backend_docker_does_not_know_is_docker_s_default():
    assert decisions.firewall_backend('ebtables').value == 'iptables'
    assert decisions.firewall_backend(None, 'ebtables').value == 'iptables'


@pytest.mark.parametrize('configured, requested, switch', [
    (None, 'auto', False), ('nftables', 'auto', False),
    (None, 'nftables', True), ('iptables', 'nftables', True), ('nftables', 'iptables', True),
    (None, 'iptables', False), ('nftables', 'nftables', False),
])
def test_a_switch_is_a_backend_asked_for_that_daemon_json_does_not_give(configured, requested, switch):
    assert decisions.firewall_backend_switch(configured, requested).value is switch


# --- the iptables variant --------------------------------------------------------------------------

BOTH = ['nft', 'legacy']


@pytest.mark.parametrize('installed, holding, variant', [
    (BOTH, ['nft'], 'nft'),  # Debian 11 and later, Docker's default everywhere
    (BOTH, ['legacy'], 'legacy'),  # the legacy alternative chosen (bookworm q7)
    (['legacy'], ['legacy'], 'legacy'),
    (BOTH, [], 'nft'),  # Docker not running, or its nftables backend: the first installed
    (['legacy'], [], 'legacy'),
    (BOTH, BOTH, 'nft'),  # both hold the chains and nothing else says: the first (a writer refuses)
    ([], [], None),
])
def test_the_variant_holding_the_chains(installed, holding, variant):
    assert decisions.iptables_variant(installed, holding).value == variant


def test_no_iptables_says_what_to_install():
    assert decisions.iptables_variant([], []) == (
        None, 'no iptables-nft-save or iptables-legacy-save found: install the iptables package')


def test_the_variant_asked_for_is_taken_unread():
    assert decisions.iptables_variant([], [], requested='legacy') == ('legacy', 'asked for (iptables_variant: legacy)')
    assert decisions.iptables_variant(BOTH, ['nft'], requested='legacy').value == 'legacy'


def test_where_several_or_none_hold_them_the_default_then_the_variant_in_use_decide():
    assert decisions.iptables_variant(BOTH, [], default='legacy').value == 'legacy'
    assert decisions.iptables_variant(BOTH, BOTH, default='legacy').value == 'legacy'
    assert decisions.iptables_variant(BOTH, [], in_use=['legacy']).value == 'legacy'
    assert decisions.iptables_variant(BOTH, BOTH, in_use=['legacy', 'nft']).value == 'legacy'
    # A default or a variant in use that holds nothing of the chains does not decide between holders.
    assert decisions.iptables_variant(['nft'], [], default='legacy').value == 'nft'
    assert decisions.iptables_variant(BOTH, ['nft'], default='legacy', in_use=['legacy']).value == 'nft'


def test_the_default_is_read_only_when_it_decides():
    asked = []

    def default():
        asked.append(True)
        return 'legacy'
    assert decisions.iptables_variant(BOTH, ['nft'], default=default).value == 'nft' and asked == []
    assert decisions.iptables_variant(BOTH, [], default=default).value == 'legacy' and asked == [True]


@pytest.mark.parametrize('text, variant', [
    ('iptables v1.8.9 (nf_tables)\n', 'nft'), ('iptables v1.8.9 (legacy)\n', 'legacy'),
    ('iptables v1.6.1\n', None), ('', None), (None, None),
])
def test_the_variant_the_iptables_command_runs(text, variant):
    assert decisions.iptables_default(text) == variant


# --- the backstop ----------------------------------------------------------------------------------

NFT = '/usr/sbin/nft'


@pytest.mark.parametrize('mode, backend, nft_path, drops, kept', [
    ('auto', 'iptables', NFT, True, True),
    ('auto', 'iptables', None, True, False),  # nft missing
    ('always', 'iptables', NFT, True, True),
    ('always', 'iptables', None, True, True),  # required: the role fails, compliance reports it
    ('never', 'iptables', NFT, True, False),
    ('auto', 'nftables', NFT, True, False),  # the table is the policy itself
    ('always', 'nftables', NFT, True, False),
    ('auto', 'iptables', NFT, False, False),  # nothing declared drops
    ('always', 'iptables', NFT, False, False),
])
def test_the_backstop(mode, backend, nft_path, drops, kept):
    assert decisions.backstop(mode, backend, nft_path, drops).value is kept


@pytest.mark.parametrize('generation, kept', [
    ('20.10', True), ('26', True), ('28', True), ('29-iptables', True), ('29-nftables', False),
])
def test_the_backstop_on_each_generation_with_nft(generation, kept):
    assert decisions.backstop('auto', firewall_of(generation).value, NFT).value is kept


def test_without_nft_the_reason_says_what_lapses():
    assert decisions.backstop('auto', 'iptables', None) == (False, decisions.BACKSTOP_WITHOUT_NFT)
    assert decisions.backstop('always', 'iptables', None) == (True, 'backstop: always, but nft is not installed')


# --- the tools -------------------------------------------------------------------------------------


def test_a_tool_is_where_the_lookup_found_it_or_names_its_package():
    assert decisions.tool('nft', NFT) == (NFT, 'found at /usr/sbin/nft')
    assert decisions.tool('nft', None) == (None, 'nft is not installed (the nftables package)')
    assert decisions.tool('ipset', '') == (None, 'ipset is not installed (the ipset package)')


# --- what a generation does of its own -------------------------------------------------------------


@pytest.mark.parametrize('generation, dropped', [
    ('20.10', False), ('26', False), ('28', True), ('29-iptables', True), ('29-nftables', True),
])
def test_the_raw_table_drop_of_direct_routing_from_28_on(generation, dropped):
    assert decisions.direct_routing_dropped(GENERATIONS[generation]['major']).value is dropped


def test_an_unknown_docker_version_is_taken_as_no_drop():
    assert decisions.direct_routing_dropped(None) == (
        False, "Docker's version is not known: nothing is set that it might refuse")
    assert decisions.direct_routing_dropped(27).value is False and decisions.direct_routing_dropped(30).value is True


@pytest.mark.parametrize('generation, needs', [
    ('20.10', False), ('26', False), ('28', False), ('29-iptables', False), ('29-nftables', True),
])
def test_only_docker_29_on_nftables_needs_docker_proxy_for_a_port_published_twice(generation, needs):
    major = GENERATIONS[generation]['major']
    assert decisions.published_twice_needs_proxy(major, firewall_of(generation).value).value is needs


def test_a_later_docker_or_an_unknown_one_is_not_taken_for_29():
    assert decisions.published_twice_needs_proxy(30, 'nftables').value is False
    assert decisions.published_twice_needs_proxy(None, 'nftables').value is False


# --- whether a rule is ours ------------------------------------------------------------------------

OURS = '-A DOCKER-USER -i ext0 -m comment --comment "netops.docker_firewall/allowlist:ext0" -j DROP'


@pytest.mark.parametrize('line, name', [
    (OURS, 'allowlist:ext0'),
    ('-A FORWARD -m comment --comment netops.docker_firewall/publish -j NETOPS-DFW-PUBLISH', 'publish'),
    ('-A DOCKER-USER -m comment --comment "kept" -m comment --comment "netops.docker_firewall/routed" -j RETURN',
     'routed'),
    # nft list output: a rule, and our set and chain comments.
    ('iifname "ext0" jump allowlist-ext0 comment "netops.docker_firewall/allowlist:ext0"', 'allowlist:ext0'),
    ('\t\tjump services comment "netops.docker_firewall/publish"', 'publish'),
    # Not ours: no comment of ours, or one that only mentions the prefix further on.
    ('-A DOCKER-USER -j RETURN', None),
    ('-A FORWARD -m comment --comment "copied from netops.docker_firewall/routed" -j ACCEPT', None),
    ('ip daddr 10.0.0.1 comment "see netops.docker_firewall/x"', None),
    ('jump services comment "kube-proxy"', None),
    ('comment "netops.docker_firewall"', None),  # the table's comment names the collection, not a block
])
def test_owner_and_is_ours(line, name):
    assert decisions.owner(line) == name
    assert decisions.is_ours(line) is (name is not None)


def test_a_parsed_rule_is_read_as_its_line():
    assert decisions.owner(Rule(OURS)) == 'allowlist:ext0' and not decisions.is_ours(Rule('-A FORWARD -j DOCKER-USER'))


def test_a_line_without_the_prefix_is_not_parsed_and_a_bad_one_with_it_is_an_error():
    assert decisions.is_ours('not a rule at all') is False
    with pytest.raises(RuleSyntaxError):
        decisions.is_ours('-X netops.docker_firewall/x')


def test_one_prefix_for_every_tag():
    assert decisions.TAG_PREFIX == 'netops.docker_firewall/'
    assert _blocks.TAG_PREFIX is decisions.TAG_PREFIX and _nft.TAG_PREFIX is decisions.TAG_PREFIX
    assert _publish.TAG == 'netops.docker_firewall/publish'


def test_a_report_is_the_values_and_the_reasons():
    assert decisions.report(backstop=decisions.Decision(True, 'why'), nft_path=decisions.Decision(None, 'not there')) == {
        'backstop': True, 'nft_path': None, 'reasons': {'backstop': 'why', 'nft_path': 'not there'}}
