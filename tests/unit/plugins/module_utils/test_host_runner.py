# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""HostRunner: what the host programs run commands with, in place of an AnsibleModule. It runs only
/bin/sh and printf here, with short timeouts."""

import os

from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_runner
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_runner import HostRunner, failure
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import CommandError


def test_output_that_is_not_utf8_is_read_and_written_back_unchanged(tmp_path):
    runner = HostRunner('test', {'PATH': '/usr/bin:/bin'})
    rc, out, err = runner.run_command(['/bin/sh', '-c', r'printf "comment \351\n"'])
    assert (rc, err) == (0, '') and out.encode('utf-8', 'surrogateescape') == b'comment \xe9\n'
    target = tmp_path / 'stdin'
    rc, _out, _err = runner.run_command(['/bin/sh', '-c', 'cat > "%s"' % target], data=out, binary_data=True)
    assert rc == 0 and target.read_bytes() == b'comment \xe9\n'


def test_the_environment_update_and_the_exit_status_reach_the_caller():
    runner = HostRunner('test', {'PATH': '/usr/bin:/bin'})
    assert runner.run_command(['/bin/sh', '-c', 'echo "$LC_ALL" >&2; exit 3'], environ_update={'LC_ALL': 'C'}) == \
        (3, '', 'C\n')


def test_a_command_that_cannot_start_or_hangs_is_an_exit_status(monkeypatch):
    runner = HostRunner('test', {'PATH': '/usr/bin:/bin'})
    assert runner.run_command(['/nonexistent/tool'])[0] == 127
    monkeypatch.setattr(_host_runner, 'TIMEOUT', 0.2)
    rc, _out, err = runner.run_command(['/bin/sh', '-c', 'sleep 5'])
    assert rc == 124 and 'did not finish' in err


def test_tools_are_found_on_path_first_then_in_the_sbin_directories(tmp_path):
    tool = tmp_path / 'iptables-nft-save'
    tool.write_text('#!/bin/sh\n')
    os.chmod(str(tool), 0o755)
    runner = HostRunner('test', {'PATH': str(tmp_path)})
    assert runner.get_bin_path('iptables-nft-save') == str(tool)
    assert runner.get_bin_path('no-such-tool-of-ours') is None
    try:
        runner.get_bin_path('no-such-tool-of-ours', required=True)
    except OSError as exc:
        assert str(exc) == 'test: no-such-tool-of-ours not found in PATH or /sbin, /usr/sbin, /usr/local/sbin'
    else:
        raise AssertionError('a required tool that is missing must raise')


def test_a_failure_names_the_command_s_stderr_when_there_is_one():
    assert failure(CommandError('reading the ipv4 rules failed', [], 4, '', 'lock held\n')) == \
        'reading the ipv4 rules failed (lock held)'
    assert failure(OSError('nft not found')) == 'nft not found'
