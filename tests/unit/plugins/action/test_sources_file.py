# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins of the DOCKER-USER modules: a sources_file (of an allowlist, of a routed-access
declaration) is read on the controller and its entries reach the module in sources_text, one a line in
one string; bad files and lines fail before any module runs."""

from unittest.mock import MagicMock

import pytest

from ansible.parsing.dataloader import DataLoader

from ansible_collections.netops.docker_firewall.plugins.action import (
    docker_user_allowlist,
    docker_user_chain,
    docker_user_routed,
)
from ansible_collections.netops.docker_firewall.plugins.plugin_utils import _sources_file

FILE = '''# partners
203.0.113.0/24

192.0.2.10-192.0.2.20   # monitoring
2001:db8:20::/48
'''
ENTRIES = ['203.0.113.0/24', '192.0.2.10-192.0.2.20', '2001:db8:20::/48']
TEXT = '203.0.113.0/24\n192.0.2.10-192.0.2.20\n2001:db8:20::/48'


def action(plugin, args, search_path, check_mode=False, async_val=0):
    """(the action plugin, the calls of _execute_module) for a task with `args`."""
    task = MagicMock(args=args, async_val=async_val, check_mode=check_mode, action=plugin.ActionModule.MODULE)
    task.get_search_path.return_value = [str(search_path)]
    connection = MagicMock(has_native_async=False)
    connection._shell.tmpdir = None
    module = plugin.ActionModule(task, connection, MagicMock(), DataLoader(), None, None)
    calls = []

    def execute_module(**kwargs):
        calls.append(kwargs)
        args = kwargs['module_args']
        declared = len(args.get('sources') or []) + len((args.get('sources_text') or '').splitlines())
        return dict(changed=False, sources_count={'declared': declared})

    module._execute_module = execute_module
    return module, calls


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(_sources_file.display, 'warning', seen.append)
    return seen


def test_allowlist_entries_go_in_sources_text_one_a_line_and_sources_file_is_gone(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    args = dict(interface='eth0', sources=['198.51.100.0/24'], sources_file=str(tmp_path / 'partners.txt'))
    plugin, calls = action(docker_user_allowlist, args, tmp_path)
    result = plugin.run(task_vars={})
    assert [c['module_name'] for c in calls] == ['netops.docker_firewall.docker_user_allowlist']
    assert calls[0]['module_args'] == dict(interface='eth0', sources=['198.51.100.0/24'], sources_text=TEXT)
    assert calls[0]['wrap_async'] is False
    assert result['sources_count'] == {'declared': 4}
    assert args['sources_file'] == str(tmp_path / 'partners.txt')  # the task's own args are left alone
    assert warnings == []


@pytest.mark.parametrize('where', ['files', '.'])
def test_a_relative_path_is_found_in_files_or_beside_the_playbook(tmp_path, where, warnings):
    (tmp_path / where).mkdir(exist_ok=True)
    (tmp_path / where / 'partners.txt').write_text(FILE)
    plugin, calls = action(docker_user_allowlist, dict(interface='eth0', sources_file='partners.txt'), tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == dict(interface='eth0', sources_text=TEXT)


def test_ad_hoc_comma_separated_sources_are_left_to_the_module(tmp_path, warnings):
    # `-a 'sources=a,b sources_file=...'` gives the sources as one string, which the module splits.
    (tmp_path / 'partners.txt').write_text(FILE)
    args = dict(interface='eth0', sources='198.51.100.7,198.51.100.9', sources_file='partners.txt')
    plugin, calls = action(docker_user_allowlist, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == dict(interface='eth0', sources='198.51.100.7,198.51.100.9', sources_text=TEXT)


def test_a_sources_text_given_comes_first_and_its_line_numbers_stay(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    args = dict(interface='eth0', sources_text='# office\n198.51.100.0/24\n', sources_file='partners.txt')
    plugin, calls = action(docker_user_allowlist, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == dict(interface='eth0', sources_text='# office\n198.51.100.0/24\n' + TEXT)


def test_check_mode_reads_the_file_too(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    plugin, calls = action(docker_user_allowlist, dict(interface='eth0', sources_file='partners.txt'), tmp_path,
                           check_mode=True)
    plugin.run(task_vars={})
    assert calls[0]['module_args']['sources_text'] == TEXT


def test_async_runs_wrap_the_module(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    plugin, calls = action(docker_user_allowlist, dict(interface='eth0', sources_file='partners.txt'), tmp_path,
                           async_val=60)
    plugin.run(task_vars={})
    assert calls[0]['wrap_async'] is True


def test_without_sources_file_the_arguments_pass_unchanged(tmp_path, warnings):
    args = dict(interface='eth0', sources=['198.51.100.0/24'], ports=['443'])
    plugin, calls = action(docker_user_allowlist, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == args


def test_absent_does_not_read_the_file(tmp_path, warnings):
    args = dict(interface='eth0', sources_file='missing.txt', state='absent')
    plugin, calls = action(docker_user_allowlist, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == args


def test_chain_reads_each_allowlists_file(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    (tmp_path / 'office.txt').write_text('198.51.100.0/24\n')
    args = dict(accept=[dict(in_interface='wg0', out_interface='eth0')], allowlists=[
        dict(interface='eth0', sources_file='partners.txt', ports=['443']),
        dict(interface='eth1', sources=['192.0.2.1']),
        dict(interface='eth2', sources=['192.0.2.2'], sources_file='office.txt'),
    ])
    plugin, calls = action(docker_user_chain, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_name'] == 'netops.docker_firewall.docker_user_chain'
    assert calls[0]['module_args'] == dict(accept=args['accept'], allowlists=[
        dict(interface='eth0', sources_text=TEXT, ports=['443']),
        dict(interface='eth1', sources=['192.0.2.1']),
        dict(interface='eth2', sources=['192.0.2.2'], sources_text='198.51.100.0/24'),
    ])


def test_chain_leaves_malformed_allowlists_to_the_module(tmp_path, warnings):
    for allowlists in ('eth0', [None, 'eth0']):
        plugin, calls = action(docker_user_chain, dict(allowlists=allowlists), tmp_path)
        plugin.run(task_vars={})
        assert calls[0]['module_args'] == dict(allowlists=allowlists)


def test_a_file_without_entries_warns(tmp_path, warnings):
    (tmp_path / 'empty.txt').write_text('# nothing yet\n\n')
    plugin, calls = action(docker_user_allowlist, dict(interface='eth0', sources_file='empty.txt'), tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args']['sources_text'] == ''
    assert len(warnings) == 1 and 'empty.txt holds no entry' in warnings[0]


def failure(plugin_module, args, tmp_path):
    plugin, calls = action(plugin_module, args, tmp_path)
    result = plugin.run(task_vars={})
    assert calls == [], 'the module ran'
    assert result['failed'] is True
    return result


def test_a_missing_file_names_the_field_and_the_path(tmp_path, warnings):
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file='missing.txt'), tmp_path)
    assert result['field'] == 'sources_file' and result['value'] == 'missing.txt'
    assert result['msg'].startswith("sources_file: 'missing.txt' is not valid: no such file on the controller "
                                    "(searched {0}/files/missing.txt, {0}/missing.txt".format(tmp_path))
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file=str(tmp_path / 'no.txt')), tmp_path)
    assert result['msg'] == "sources_file: '%s' is not valid: no such file on the controller" % (tmp_path / 'no.txt')


def test_an_unreadable_file_names_the_path(tmp_path, warnings):
    (tmp_path / 'a-directory').mkdir()
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file=str(tmp_path / 'a-directory')),
                     tmp_path)
    assert result['value'] == str(tmp_path / 'a-directory')
    assert 'cannot be read on the controller' in result['msg']


def test_a_file_that_is_not_utf8_names_the_path(tmp_path, warnings):
    (tmp_path / 'latin1.txt').write_bytes(b'198.51.100.7 # caf\xe9\n')
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file='latin1.txt'), tmp_path)
    assert result['field'] == 'sources_file' and 'not UTF-8' in result['msg']


def test_a_bad_line_names_the_file_the_line_and_the_entry(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE + '\n198.51.100.300  # typo\n')
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file='partners.txt'), tmp_path)
    assert result['field'] == 'sources_file' and result['value'] == '198.51.100.300'
    assert result['msg'].startswith("sources_file: '198.51.100.300' (%s line 7) is not valid: "
                                    % (tmp_path / 'partners.txt'))


def test_a_bad_line_in_a_chain_names_the_allowlist(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text('::ffff:198.51.100.1\n')
    args = dict(allowlists=[dict(interface='eth0', sources=[]), dict(interface='eth1', sources_file='partners.txt')])
    result = failure(docker_user_chain, args, tmp_path)
    assert result['field'] == 'allowlists[1].sources_file'
    assert result['msg'].endswith('write the IPv4 form 198.51.100.1/32')
    assert '(%s line 1)' % (tmp_path / 'partners.txt') in result['msg']


@pytest.mark.parametrize('value', ['', 5, ['partners.txt']])
def test_a_sources_file_that_is_not_a_path_is_refused(tmp_path, warnings, value):
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_file=value), tmp_path)
    assert result['field'] == 'sources_file' and result['value'] == value


def test_a_sources_text_that_is_not_a_text_is_refused(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    result = failure(docker_user_allowlist, dict(interface='eth0', sources_text=['198.51.100.7'],
                                                 sources_file='partners.txt'), tmp_path)
    assert result['field'] == 'sources_text'


def test_chain_reads_each_routed_declarations_file_as_it_reads_the_allowlists(tmp_path, warnings):
    (tmp_path / 'partners.txt').write_text(FILE)
    (tmp_path / 'vpn.txt').write_text('10.8.0.0/24\n')
    args = dict(allowlists=[dict(interface='eth0', sources_file='partners.txt')], routed=[
        dict(interface='wg0', sources_file='vpn.txt', networks=['172.18.0.0/16']),
        dict(interface='lan0'),
    ])
    plugin, calls = action(docker_user_chain, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == dict(allowlists=[dict(interface='eth0', sources_text=TEXT)], routed=[
        dict(interface='wg0', sources_text='10.8.0.0/24', networks=['172.18.0.0/16']),
        dict(interface='lan0'),
    ])


def test_routed_reads_each_declarations_file_and_absent_reads_none(tmp_path, warnings):
    (tmp_path / 'vpn.txt').write_text('10.8.0.0/24\n2001:db8:8::/64\n')
    args = dict(routed=[dict(interface='wg0', sources=['10.9.0.1'], sources_file='vpn.txt')])
    plugin, calls = action(docker_user_routed, args, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_name'] == 'netops.docker_firewall.docker_user_routed'
    assert calls[0]['module_args'] == dict(routed=[dict(interface='wg0', sources=['10.9.0.1'],
                                                        sources_text='10.8.0.0/24\n2001:db8:8::/64')])
    absent = dict(routed=[dict(interface='wg0', sources_file='missing.txt')], state='absent')
    plugin, calls = action(docker_user_routed, absent, tmp_path)
    plugin.run(task_vars={})
    assert calls[0]['module_args'] == absent


def test_a_bad_line_in_a_routed_file_names_the_declaration(tmp_path, warnings):
    (tmp_path / 'vpn.txt').write_text('10.8.0.0/24\n10.8.1.1/16\n')
    result = failure(docker_user_routed, dict(routed=[dict(interface='wg0'), dict(interface='wg1',
                                                                                  sources_file='vpn.txt')]), tmp_path)
    assert result['field'] == 'routed[1].sources_file' and result['value'] == '10.8.1.1/16'
    assert '(%s line 2)' % (tmp_path / 'vpn.txt') in result['msg']
