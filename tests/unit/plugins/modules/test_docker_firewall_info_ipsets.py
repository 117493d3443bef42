# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_info's `ipsets` result: `ipset save` is run only where a DOCKER-USER rule (of any
backend and family) matches a set of ours or sets are kept for boot (`persistence.kept_sets`, the
kept docker-user.ipsets), after every other read, and only our sets are reported; a failed read is
an error in the result, not a failed task."""

import pytest

import plugins.modules.conftest as modules_conftest
from fake_runner import Tool
from plugins.modules.test_docker_firewall_info import READ_ONLY, capture, commands
from plugins.module_utils.test_ipset import saved_by_ipset
from plugins.modules.test_allowlist_ipsets import FOREIGN
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._ipset import IpSet
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_info

IPSET_SAVE = ['/usr/sbin/ipset', 'save']
DOCKER28_V4 = capture('sid', 'q2-published-default.iptables-save')
DOCKER28_V6 = capture('sid', 'q2-published-default.ip6tables-save')
BLOCK = allowlist_block('ext0', ['198.51.100.0/24', '2001:db8::/48'], ['443'], source_sets='always')
OURS = saved_by_ipset([IpSet('netops-dfw-ext0-v4', 'ipv4', ['198.51.100.0/24']),
                       IpSet('netops-dfw-ext0-v6', 'ipv6', ['2001:db8::/48']),
                       IpSet('netops-dfw-ext0-t4', 'ipv4', ['192.0.2.1'])], hashsize=2048)
THEIRS = '-A DOCKER-USER -m set --match-set f2b-sshd src -j DROP'


def with_docker_user(text, lines):
    """A save output with `lines` appended to DOCKER-USER."""
    return text.replace('-A FORWARD -j DOCKER-USER\n', '-A FORWARD -j DOCKER-USER\n' + ''.join(
        line + '\n' for line in lines), 1)


@pytest.fixture(autouse=True)
def state_dir(monkeypatch, tmp_path):
    """The collection's state directory (the kept files) in the test's directory, empty."""
    directory = tmp_path / 'state'
    directory.mkdir()
    monkeypatch.setattr(layout, 'STATE_DIR', str(directory))
    return directory


def run(run_module, tmp_path, table, legacy_tables=False):
    result, ran = run_module(docker_firewall_info.main, dict(daemon_json=str(tmp_path / 'daemon.json')), table,
                             legacy_tables=legacy_tables)
    for argv, data, _binary_data, _environ in ran.ran:
        assert data is None and (argv[0].endswith('-save') or argv[1] in READ_ONLY
                                 or ' '.join(argv[1:3]) in READ_ONLY or argv == IPSET_SAVE), argv
    assert 'failed' not in result and result['changed'] is False
    return result, [argv for argv, _data, _binary_data, _environ in ran.ran]


def test_ipset_is_not_run_where_no_rule_matches_a_set_of_ours(run_module, tmp_path):
    result, ran = run(run_module, tmp_path, commands(with_docker_user(DOCKER28_V4, [THEIRS]), DOCKER28_V6))
    assert IPSET_SAVE not in ran
    assert result['ipsets'] == {'text': '', 'error': None}


def test_a_rule_matching_a_set_of_ours_reads_the_sets_after_everything_else_and_keeps_ours(run_module, tmp_path):
    table = commands(with_docker_user(DOCKER28_V4, [THEIRS] + BLOCK.rules['ipv4']),
                     with_docker_user(DOCKER28_V6, BLOCK.rules['ipv6']))
    table.append(Tool(IPSET_SAVE, stdout=FOREIGN + OURS))
    result, ran = run(run_module, tmp_path, table)
    assert ran[-1] == IPSET_SAVE and ran.count(IPSET_SAVE) == 1
    # Every set of ours, also one no rule matches (the staging set), as ipset printed it.
    assert result['ipsets'] == {'text': OURS, 'error': None}
    assert result['iptables']['nft']['ipv4']['docker_user']['blocks'] == ['allowlist:ext0']


def test_a_rule_of_ours_in_the_legacy_backend_also_reads_the_sets(run_module, tmp_path):
    legacy = with_docker_user(capture('bookworm', 'q2-published-default.iptables-save'), BLOCK.rules['ipv4'])
    table = commands(DOCKER28_V4, DOCKER28_V6, legacy=legacy)
    table.append(Tool(IPSET_SAVE, stdout=OURS))
    result, ran = run(run_module, tmp_path, table, legacy_tables=True)
    assert result['ipsets'] == {'text': OURS, 'error': None}


def test_a_failed_read_is_reported_as_an_error_and_the_rest_of_the_facts_stand(run_module, tmp_path):
    table = commands(with_docker_user(DOCKER28_V4, BLOCK.rules['ipv4']), DOCKER28_V6)
    table.append(Tool(IPSET_SAVE, rc=1, stderr='ipset v7.17: Kernel error received: Operation not permitted\n'))
    result, ran = run(run_module, tmp_path, table)
    assert result['ipsets'] == {'text': '', 'error': 'reading the ipsets failed (ipset v7.17: Kernel error received: '
                                                     'Operation not permitted)'}
    assert result['docker_backend'] == 'nft'


def test_ipset_not_installed_is_reported_as_an_error(run_module, tmp_path, monkeypatch):
    def bin_path(module, name, required=False, opt_dirs=None):
        return None if name == 'ipset' else '/usr/sbin/' + name
    monkeypatch.setattr(modules_conftest, 'bin_path', bin_path)
    result, ran = run(run_module, tmp_path, commands(with_docker_user(DOCKER28_V4, BLOCK.rules['ipv4']), DOCKER28_V6))
    assert result['ipsets']['text'] == ''
    assert result['ipsets']['error'].startswith('ipset is not installed: install the ipset package')


def test_the_kept_sets_are_reported_under_persistence_and_the_sets_read_where_they_are_kept(
        run_module, tmp_path, state_dir):
    result, ran = run(run_module, tmp_path, commands(DOCKER28_V4, DOCKER28_V6))
    assert result['persistence']['kept_sets'] is None and IPSET_SAVE not in ran
    kept = 'create netops-dfw-ext0-v4 hash:net family inet hashsize 1024 maxelem 65536\n' \
           'add netops-dfw-ext0-v4 198.51.100.0/24\n'
    (state_dir / layout.KEPT_SETS).write_text(kept)
    # No rule matches a set (DOCKER-USER flushed, say), but sets are kept for boot: they are read.
    table = commands(DOCKER28_V4, DOCKER28_V6)
    table.append(Tool(IPSET_SAVE, stdout=FOREIGN + OURS))
    result, ran = run(run_module, tmp_path, table)
    assert result['persistence']['kept_sets'] == kept
    assert result['ipsets'] == {'text': OURS, 'error': None}
