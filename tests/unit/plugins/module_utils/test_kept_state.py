# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kept state (_kept_state, pure): which files each program keeps, with what text, in which order;
whose rules are kept (owner() decides, not a text search); what is refused before anything is
written; and the reader (_kept_state_host) that gives the restore program and docker_firewall_info
what the old readers gave."""

import os

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kept_state as kept_state
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _kept_state_host as kept_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    accept_block,
    allowlist_block,
    declared_blocks,
)

ALLOWLIST = allowlist_block('ext0', ['198.51.100.0/24', '2001:db8::/48'], ['443'], source_sets='always')
PAIR = accept_block('lan0', 'ext0')
DOCKER_RETURN = '-A DOCKER-USER -j RETURN'
# Another tool's rule that mentions the collection in a comment it does not start with: not ours.
MENTIONS_US = '-A DOCKER-USER -s 192.0.2.9/32 -m comment --comment "see netops.docker_firewall/README" -j DROP'
THEIRS = '-A DOCKER-USER -m set --match-set f2b-sshd src -j DROP'
OURS_V4 = PAIR.rules['ipv4'] + ALLOWLIST.rules['ipv4']
RULES = dict(ipv4=OURS_V4 + [THEIRS, MENTIONS_US, DOCKER_RETURN], ipv6=ALLOWLIST.rules['ipv6'] + [DOCKER_RETURN])
SETS = ipset.restore_text([line for s in ALLOWLIST.sets.values() for line in ipset.render(s)])
TABLE = nft.payload(nft.plan_table(None, declared_blocks([dict(in_interface='lan0', out_interface='ext0')], [])))


def params(**given):
    values = dict(program='restore', state='present', backend='nft', rules={}, ipsets='', table='', containers=[])
    values.update(given)
    return values


def test_only_the_collections_rules_are_kept_in_their_order_decided_by_owner():
    texts = kept_state.wanted(params(rules=RULES, ipsets=SETS, table=TABLE))
    assert texts[layout.KEPT_RULES % 'ipv4'] == '\n'.join(OURS_V4) + '\n'
    assert texts[layout.KEPT_RULES % 'ipv6'] == '\n'.join(ALLOWLIST.rules['ipv6']) + '\n'
    # What the role's Jinja `select('search', 'netops.docker_firewall/')` kept, and owner() does not.
    assert MENTIONS_US not in texts[layout.KEPT_RULES % 'ipv4']
    assert (texts[layout.KEPT_BACKEND], texts[layout.KEPT_SETS], texts[layout.KEPT_TABLE]) == ('nft\n', SETS, TABLE)


def test_a_managed_family_without_rules_of_ours_is_kept_empty_and_an_unmanaged_one_is_not_kept():
    """Empty, as the role's template wrote it ("\\n"): the restore then removes stale rules of ours."""
    texts = kept_state.wanted(params(rules=dict(ipv4=[DOCKER_RETURN])))
    assert texts[layout.KEPT_RULES % 'ipv4'] == '\n'
    assert texts[layout.KEPT_RULES % 'ipv6'] is None and texts[layout.KEPT_SETS] is None
    assert texts[layout.KEPT_TABLE] is None


def test_a_table_and_sets_that_lost_their_last_newline_in_templating_are_kept_whole():
    texts = kept_state.wanted(params(rules=RULES, ipsets=SETS.rstrip('\n'), table=TABLE.rstrip('\n')))
    assert (texts[layout.KEPT_SETS], texts[layout.KEPT_TABLE]) == (SETS, TABLE)


def test_under_dockers_nftables_backend_only_the_backend_and_the_table_are_kept():
    texts = kept_state.wanted(params(backend='nftables', rules=dict(nftables=['table inet ...']), table=TABLE))
    assert dict((name, text) for name, text in texts.items() if text is not None) == {
        layout.KEPT_BACKEND: 'nftables\n', layout.KEPT_TABLE: TABLE}


def test_the_publishers_list_is_what_the_roles_to_nice_json_wrote():
    """Byte for byte: a host converged by the earlier role sees no change."""
    from ansible.plugins.filter.core import to_nice_json
    texts = kept_state.wanted(params(program='publish', containers=['web', 'mirror', 'web']))
    assert texts == {layout.PUBLISH_CONFIG: to_nice_json({'backend': 'nft', 'containers': ['mirror', 'web']}) + '\n'}


@pytest.mark.parametrize('given, message', [
    (dict(rules=dict(ipv5=[])), 'rules: ipv5 is not an address family (ipv4, ipv6)'),
    (dict(rules=dict(ipv4='-A DOCKER-USER -j DROP')), 'rules: ipv4 is not a list of rule lines'),
    (dict(rules=dict(ipv4=['-I DOCKER-USER -j DROP'])), 'rules: not an append rule: -I DOCKER-USER -j DROP'),
    (dict(ipsets='create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536\n'),
     "ipsets: not the ipset restore input of the collection's sets"),
    (dict(ipsets=SETS + 'flush\n'), "ipsets: not the ipset restore input of the collection's sets"),
    (dict(table='flush ruleset\n'), "table: not the nft -f input of the collection's table"),
    (dict(table=TABLE + 'flush ruleset\n'), "table: not the nft -f input of the collection's table"),
    (dict(containers=['web']), 'containers: not part of the kept state of program=restore'),
    (dict(program='publish', rules=RULES), 'rules: not part of the kept state of program=publish'),
    (dict(program='publish', backend='nftables'), 'backend: nftables is not a backend of program=publish'),
])
def test_what_cannot_be_kept_is_refused(given, message):
    with pytest.raises(kept_state.KeptStateError) as exc:
        kept_state.wanted(params(**given))
    assert str(exc.value).startswith(message)


def test_the_plan_installs_sets_and_table_before_the_rules_and_the_backend_last():
    wanted = kept_state.wanted(params(rules=RULES, ipsets=SETS, table=TABLE))
    write, remove = kept_state.plan('restore', wanted, {})
    assert write == [layout.KEPT_SETS, layout.KEPT_TABLE, layout.KEPT_RULES % 'ipv4', layout.KEPT_RULES % 'ipv6',
                     layout.KEPT_BACKEND] and remove == []
    current = dict((name, (text, 0o644)) for name, text in wanted.items() if text is not None)
    assert kept_state.plan('restore', wanted, current) == ([], [])
    current[layout.KEPT_BACKEND] = ('nft\n', 0o600)  # a mode changed by hand is put right
    assert kept_state.plan('restore', wanted, current) == ([layout.KEPT_BACKEND], [])
    current[layout.KEPT_BACKEND] = ('nft\n', 0o644)
    fewer = kept_state.wanted(params(rules=dict(ipv4=RULES['ipv4'])))
    assert kept_state.plan('restore', fewer, current) == (
        [], [layout.KEPT_SETS, layout.KEPT_TABLE, layout.KEPT_RULES % 'ipv6'])


def test_absent_removes_only_the_programs_own_files():
    current = {layout.PUBLISH_CONFIG: ('{}\n', 0o644), layout.KEPT_BACKEND: ('nft\n', 0o644)}
    assert kept_state.plan('restore', kept_state.wanted(params(state='absent')), current) == ([], [layout.KEPT_BACKEND])
    assert kept_state.plan('publish', kept_state.wanted(params(program='publish', state='absent')), current) == (
        [], [layout.PUBLISH_CONFIG])


def write_texts(directory, texts):
    for name, text in texts.items():
        if text is not None:
            with open(os.path.join(str(directory), name), 'w', encoding='utf-8', errors='surrogateescape') as handle:
                handle.write(text)


@pytest.mark.parametrize('given, rules', [
    (dict(rules=RULES, ipsets=SETS, table=TABLE), dict(ipv4=OURS_V4, ipv6=ALLOWLIST.rules['ipv6'])),
    (dict(rules=dict(ipv4=[])), dict(ipv4=[])),
    (dict(backend='nftables', table=TABLE), {}),
])
def test_the_restore_program_reads_what_was_kept_with_the_one_reader(tmp_path, given, rules):
    assert _restore.read_kept is kept_host.read_kept
    write_texts(tmp_path, kept_state.wanted(params(**given)))
    kept = _restore.read_kept(str(tmp_path))
    assert (kept.backend, kept.rules, kept.table, kept.sets) == (
        given.get('backend', 'nft'), rules, given.get('table'), given.get('ipsets'))


def test_a_rule_comment_that_is_not_utf8_goes_back_out_as_it_came(tmp_path):
    line = OURS_V4[0] + ' -m comment --comment "caf\udce9"'
    write_texts(tmp_path, {layout.KEPT_BACKEND: 'nft\n', layout.KEPT_RULES % 'ipv4': line + '\n'})
    assert kept_host.read_kept(str(tmp_path)).rules == {'ipv4': [line]}


def test_no_kept_backend_is_a_failed_read_and_an_unreadable_file_is_not_nothing(tmp_path):
    with pytest.raises(IOError) as exc:
        kept_host.read_kept(str(tmp_path))
    assert exc.value.filename == os.path.join(str(tmp_path), layout.KEPT_BACKEND)
    (tmp_path / (layout.KEPT_RULES % 'ipv4')).mkdir()  # EISDIR: a read that fails, not a file that is not there
    with pytest.raises(IOError):
        kept_host.read_state(str(tmp_path))


def test_the_publishers_list_as_docker_firewall_info_reports_it():
    assert kept_state.published_containers({layout.PUBLISH_CONFIG: '{"backend": "nft", "containers": ["a"]}'}) == ['a']
    for text in (None, '', 'not json', '[]', '{"containers": "a"}'):
        assert kept_state.published_containers({layout.PUBLISH_CONFIG: text}) == []
