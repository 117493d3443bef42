# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() against an ordered table of the exact commands it must issue."""

import json

import pytest

from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args


class Command:
    """One expected command: argv, the stdin it must receive (None: any), and what it returns."""

    def __init__(self, argv, rc=0, stdout='', stderr='', data=None):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.data = data


class CommandTable:
    def __init__(self, commands):
        self.pending = list(commands)
        self.ran = []

    def run_command(self, args, data=None, **kwargs):
        assert self.pending, 'unexpected command %r' % (args,)
        expected = self.pending.pop(0)
        if hasattr(expected, 'matches'):
            assert expected.matches(list(args)), args
        else:
            assert list(args) == expected.argv
        assert kwargs.get('environ_update', {}).get('LC_ALL') == 'C'
        if expected.data is not None:
            assert data == expected.data
        self.ran.append((list(args), data))
        return expected.rc, expected.stdout, expected.stderr


def bin_path(module, name, required=False, opt_dirs=None):
    return '/usr/sbin/' + name


@pytest.fixture
def run_module(monkeypatch, capsys):
    """run_module(main, args, commands, legacy_tables=False, check_mode=False, diff=False) -> (result, table)"""

    def run(main, args, commands, legacy_tables=False, check_mode=False, diff=False):
        table = CommandTable(commands)
        # A module runs on the target: its warnings go into its result, even when a controller-side
        # test (filters) ran before in this process. And start without the previous run's warnings.
        monkeypatch.setattr(_internal, 'is_controller', False)
        warnings._global_warnings.clear()
        warnings._global_deprecations.clear()
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', table.run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', bin_path)
        monkeypatch.setattr(
            'ansible_collections.netops.docker_firewall.plugins.module_utils._iptables_host.IptablesHost.legacy_tables_exist',
            staticmethod(lambda family: legacy_tables))
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(module_args):
            with pytest.raises(SystemExit):
                main()
        result = json.loads(capsys.readouterr().out)
        assert table.pending == [], 'commands not run: %r' % [c.argv for c in table.pending]
        return result, table

    return run
