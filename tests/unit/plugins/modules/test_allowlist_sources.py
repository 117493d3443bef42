# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The allowlist modules with input at scale: merged entries written, counted in the result, and a
reordered or re-spelt list converged; a sources_file that did not go through the action plugin is
refused before anything is read."""

import pytest

from fake_runner import Tool
from plugins.modules.test_docker_user_modules import (
    DOCKER28,
    DOCKER28_V6,
    V4_RESTORE,
    V4_SAVE,
    V4_TEST,
    V6_RESTORE,
    V6_SAVE,
    V6_TEST,
    restore,
    save_with,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _sources
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.modules import (
    docker_user_allowlist,
    docker_user_chain,
    docker_user_routed,
)

DECLARED = ['198.51.100.128/25', '198.51.100.0-198.51.100.127', '198.51.100.7', '192.0.2.10',
            '192.0.2.11-192.0.2.20', '2001:db8::/48', '2001:db8::1', '2001:db8::1']
# The same addresses, reordered and spelt otherwise.
RESPELT = ['2001:db8:0::/48', '192.0.2.10-192.0.2.20', '198.51.100.0/24']
# Merged: IPv4 a range and a network, IPv6 one network; each one rule for port 443.
TAG = '-m comment --comment "netops.docker_firewall/allowlist:eth0"'
_REPLIES_AND_BRIDGES = [
    '-A DOCKER-USER -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN' % TAG,
    '-A DOCKER-USER -i eth0 -o docker+ -m conntrack ! --ctstate DNAT %s -j DROP' % TAG,
    '-A DOCKER-USER -i eth0 -o br-+ -m conntrack ! --ctstate DNAT %s -j DROP' % TAG,
]
_DROP = '-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 443 %s -j DROP' % TAG
OURS = dict(
    ipv4=_REPLIES_AND_BRIDGES + [
        '-A DOCKER-USER -i eth0 -p tcp -m iprange --src-range 192.0.2.10-192.0.2.20 -m conntrack --ctorigdstport 443 %s -j RETURN'
        % TAG,
        '-A DOCKER-USER -s 198.51.100.0/24 -i eth0 -p tcp -m conntrack --ctorigdstport 443 %s -j RETURN' % TAG,
        _DROP],
    ipv6=_REPLIES_AND_BRIDGES + [
        '-A DOCKER-USER -s 2001:db8::/48 -i eth0 -p tcp -m conntrack --ctorigdstport 443 %s -j RETURN' % TAG,
        _DROP])
COUNT = dict(declared=8, ipv4=2, ipv6=1, ipsets={})


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    """No daemon.json: the modules read one of the test's own."""
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(tmp_path / 'daemon.json'))


def test_merged_rules_are_written_and_counted(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=DECLARED, ports=['443']), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(V4_TEST, data=restore(inserted=OURS['ipv4'])),
        Tool(V6_TEST, data=restore(inserted=OURS['ipv6'])),
        Tool(V4_RESTORE, data=restore(inserted=OURS['ipv4'])),
        Tool(V6_RESTORE, data=restore(inserted=OURS['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['sources_count'] == COUNT
    sources = [line for line in result['rules']['ipv4'] if '--ctorigdstport 443' in line and line.endswith('RETURN')]
    assert [line.split(' -i ')[0] for line in sources] == [
        '-A DOCKER-USER', '-A DOCKER-USER -s 198.51.100.0/24']
    assert '-m iprange --src-range 192.0.2.10-192.0.2.20' in sources[0]


def test_check_mode_counts_without_writing(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=DECLARED, ports=['443']), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True)
    assert result['changed'] is True and result['commands'] == [] and result['sources_count'] == COUNT
    assert result['rules']['ipv4'][:len(OURS['ipv4'])] == OURS['ipv4']


def test_the_same_addresses_reordered_and_respelt_are_converged(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=RESPELT, ports=['443']), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is False and result['commands'] == []
    assert result['sources_count'] == dict(declared=3, ipv4=2, ipv6=1, ipsets={})


def test_chain_counts_per_allowlist(run_module):
    result, table = run_module(docker_user_chain.main, dict(allowlists=[
        dict(interface='eth0', sources=RESPELT, ports=['443']),
        dict(interface='eth1', sources=[])]), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True)
    assert result['sources_count'] == {'allowlist:eth0': dict(declared=3, ipv4=2, ipv6=1, ipsets={}),
                                       'allowlist:eth1': dict(declared=0, ipv4=0, ipv6=0, ipsets={})}


def test_absent_reports_no_count(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', state='absent'), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True)
    assert 'sources_count' not in result and result['changed'] is False


def test_a_sources_file_the_action_plugin_did_not_read_is_refused(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources_file='/srv/allow.txt'), [])
    assert result['failed'] is True and result['field'] == 'sources_file' and result['value'] == '/srv/allow.txt'
    assert 'read on the controller, by the action plugin' in result['msg']
    assert table.ran == []


def test_chain_refuses_an_unread_sources_file_and_an_allowlist_without_sources(run_module):
    result, table = run_module(docker_user_chain.main, dict(allowlists=[
        dict(interface='eth0', sources=[]), dict(interface='eth1', sources_file='/srv/allow.txt')]), [])
    assert result['failed'] is True and result['field'] == 'allowlists[1].sources_file'
    result, table = run_module(docker_user_chain.main, dict(allowlists=[dict(interface='eth0')]), [])
    assert result['failed'] is True and 'sources, sources_text, sources_file' in result['msg']
    assert 'allowlists' in result['msg']
    assert table.ran == []


def test_allowlist_needs_sources_or_a_file(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0'), [])
    assert result['failed'] is True and 'sources, sources_text, sources_file' in result['msg']


# sources_text: the lines of a sources file in one string (how the action plugins pass a sources_file on).
TEXT = '# the office\n198.51.100.0-198.51.100.127\n198.51.100.128/25  # the lab\n\n' + '\n'.join(DECLARED[2:])


def test_sources_text_adds_its_lines_to_the_sources_and_writes_the_same_rules(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources=DECLARED[:1],
                                                                sources_text=TEXT, ports=['443']), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is False and result['sources_count'] == dict(COUNT, declared=9)


def test_a_bad_line_of_sources_text_names_its_line_before_the_host_is_read(run_module):
    result, table = run_module(docker_user_allowlist.main, dict(interface='eth0', sources_text=TEXT + '\n192.0.2.300'),
                               [])
    assert result['failed'] is True and result['field'] == 'sources_text' and result['value'] == '192.0.2.300'
    assert '(sources_text line 11)' in result['msg'] and table.ran == []
    result, table = run_module(docker_user_chain.main, dict(allowlists=[
        dict(interface='eth0', sources_text='192.0.2.1\n::ffff:192.0.2.1')]), [])
    assert result['field'] == 'allowlists[0].sources_text' and '(allowlists[0].sources_text line 2)' in result['msg']
    assert table.ran == []


def test_chain_allowlists_take_sources_text(run_module):
    result, table = run_module(docker_user_chain.main, dict(allowlists=[
        dict(interface='eth0', sources_text='\n'.join(RESPELT), ports=['443']),
        dict(interface='eth1', sources_text='# none yet\n')]), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
    ], check_mode=True)
    assert result['sources_count'] == {'allowlist:eth0': dict(declared=3, ipv4=2, ipv6=1, ipsets={}),
                                       'allowlist:eth1': dict(declared=0, ipv4=0, ipv6=0, ipsets={})}


@pytest.mark.parametrize('main, args', [
    (docker_user_allowlist.main, dict(interface='eth0', sources=DECLARED[:1], sources_text=TEXT, ports=['443'])),
    (docker_user_chain.main, dict(allowlists=[dict(interface='eth0', sources=DECLARED[:1], sources_text=TEXT)],
                                  routed=[dict(interface='wg0', sources=DECLARED[:1], sources_text=TEXT)])),
    (docker_user_routed.main, dict(routed=[dict(interface='wg0', sources=DECLARED[:1], sources_text=TEXT)])),
], ids=['allowlist', 'chain', 'routed'])
def test_each_entry_of_sources_and_sources_text_is_parsed_once_on_the_host(run_module, monkeypatch, main, args):
    """A line of sources_text is parsed where its lines are read, and the block takes the Source made there."""
    parsed = []
    parse_source = _sources.parse_source
    monkeypatch.setattr(_sources, 'parse_source', lambda *a: parsed.append(a[1]) or parse_source(*a))
    result, _table = run_module(main, args, [Tool(V4_SAVE, stdout=DOCKER28), Tool(V6_SAVE, stdout=DOCKER28_V6)],
                                check_mode=True)
    assert result['changed'] is True
    declarations = len(args.get('allowlists', [])) + len(args.get('routed', [])) or 1
    assert sorted(parsed) == sorted((DECLARED[:1] + DECLARED) * declarations)
