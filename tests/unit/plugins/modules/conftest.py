# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() against the one fake runner (tests/unit/fake_runner.py): an ordered script
of the exact commands it must issue, each a Call (Tool for iptables, ip6tables, ipset and nft). Hold the
modules that write the collection's state to the host lock: a run that writes nothing (check mode)
never takes it, any other takes it before its first command and releases it after its last."""

import json

import pytest

from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

from fake_runner import FakeRunner, record_host_lock

# The modules that hold the host lock (as their own name) around all they run, but in check mode.
LOCK_HOLDERS = ('docker_user_accept', 'docker_user_allowlist', 'docker_user_chain', 'docker_user_routed',
                'docker_publish', 'docker_leftovers')


def held_locks(holder, check_mode, commands):
    """The host lock's events allowed for a run of a writer that ran `commands` commands: none in
    check mode; else taken before the first command and released after the last (a run that fails
    before it, on its input or on the lock, may not take it)."""
    if check_mode:
        return [[]]
    whole_run = [('taken', holder, 0), ('released', commands)]
    return [whole_run] if commands else [whole_run, []]


def bin_path(module, name, required=False, opt_dirs=None):
    return '/usr/sbin/' + name


# Tools the test host lacks unless a test installs them (run_module's `absent`): firewall-cmd, which only
# docker_firewall_info looks for, so that a test of anything else scripts no firewalld command.
ABSENT = ('firewall-cmd',)


@pytest.fixture
def run_module(monkeypatch, capsys):
    """run_module(main, args, commands, legacy_tables=False, check_mode=False, diff=False, absent=ABSENT) ->
    (result, table): table is the FakeRunner, with `locks`, the host lock's events (record_host_lock);
    `absent`, the tools get_bin_path does not find (every other is in /usr/sbin)."""

    def run(main, args, commands, legacy_tables=False, check_mode=False, diff=False, absent=ABSENT):
        table = FakeRunner(commands)
        table.locks = record_host_lock(monkeypatch, lambda: table.ran)
        # A module runs on the target: its warnings go into its result, even when a controller-side
        # test (filters) ran before in this process. And start without the previous run's warnings.
        monkeypatch.setattr(_internal, 'is_controller', False)
        warnings._global_warnings.clear()
        warnings._global_deprecations.clear()
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', table.run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda module, name, required=False, opt_dirs=None:
                            None if name in absent else bin_path(module, name, required, opt_dirs))
        monkeypatch.setattr(
            'ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host.IptablesHost.legacy_tables_exist',
            staticmethod(lambda family: legacy_tables))
        module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(module_args):
            with pytest.raises(SystemExit):
                main()
        result = json.loads(capsys.readouterr().out)
        assert table.pending == [], 'commands not run: %r' % [call.expected[0] for call in table.pending]
        holder = main.__module__.rpartition('.')[2]
        if holder in LOCK_HOLDERS:
            assert table.locks in held_locks(holder, check_mode, len(table.ran)), table.locks
        return result, table

    return run
