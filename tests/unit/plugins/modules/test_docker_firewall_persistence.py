# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_persistence: the kept files land as the restore program and the publisher read
them, under the host lock, all or none; check mode and diff write nothing; a converged run changes
nothing; absent removes the program's files and the directory once empty; bad input and a held lock
write nothing. The state directory and the lock are moved into the test's directory; no command runs."""

import fcntl
import os

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _daemon_host as daemon_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_persistence
from plugins.module_utils.test_kept_state import DOCKER_RETURN, OURS_V4, RULES, SETS, TABLE, THEIRS

RESTORE = dict(program='restore', backend='nft', rules=RULES, ipsets=SETS, table=TABLE)
PUBLISH = dict(program='publish', backend='legacy', containers=['mirror'])


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The state directory (not created) and the host lock, under tmp_path."""
    monkeypatch.setattr(layout, 'STATE_DIR', str(tmp_path / 'state'))
    monkeypatch.setattr(_host_lock, 'HOST_LOCK', str(tmp_path / 'lock'))
    return dict(state=tmp_path / 'state', lock=str(tmp_path / 'lock'))


def run(run_module, args, check_mode=False, diff=False):
    return run_module(docker_firewall_persistence.main, args, [], check_mode=check_mode, diff=diff)[0]


def files(host):
    """{name: (text, mode)} of what is in the state directory."""
    if not host['state'].exists():
        return None
    return dict((path.name, (path.read_text(), os.stat(str(path)).st_mode & 0o7777)) for path in host['state'].iterdir())


def path(host, name):
    return str(host['state'] / name)


def lock_is_held(host):
    """Whether a process holds the host lock (another open file cannot take it)."""
    with open(host['lock'], 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def test_check_mode_reports_every_file_with_a_diff_and_writes_nothing(run_module, host):
    result = run(run_module, RESTORE, check_mode=True, diff=True)
    names = ['docker-user.ipsets', 'docker-firewall.nft', 'docker-user.ipv4.rules', 'docker-user.ipv6.rules', 'backend']
    assert result['changed'] and result['written'] == [path(host, name) for name in names]
    assert [(d['before_header'], d['before']) for d in result['diff']] == [(path(host, name), '') for name in names]
    assert result['diff'][2]['after'] == '\n'.join(OURS_V4) + '\n'
    assert files(host) is None and not os.path.exists(host['lock'])  # no lock taken either


def test_the_kept_policy_is_what_the_restore_program_reads_and_a_second_run_changes_nothing(run_module, host):
    result = run(run_module, RESTORE)
    assert result['changed'] and result['removed'] == [] and len(result['written']) == 5
    assert result['kept_rules'] == dict(ipv4=OURS_V4, ipv6=[line for line in RULES['ipv6'] if line != DOCKER_RETURN])
    kept = _restore.read_kept(str(host['state']))
    assert (kept.backend, kept.rules, kept.sets, kept.table) == ('nft', result['kept_rules'], SETS, TABLE)
    assert THEIRS not in kept.rules['ipv4']
    assert set(mode for _text, mode in files(host).values()) == {0o644}
    assert os.stat(str(host['state'])).st_mode & 0o777 == 0o755
    again = run(run_module, RESTORE)
    assert not again['changed'] and again['written'] == again['removed'] == []


def test_files_no_longer_kept_are_removed(run_module, host):
    run(run_module, RESTORE)
    result = run(run_module, dict(RESTORE, backend='nftables', rules=dict(nftables=['...']), ipsets=''), diff=True)
    assert result['written'] == [path(host, 'backend')]
    assert result['removed'] == [path(host, name) for name in
                                 ('docker-user.ipsets', 'docker-user.ipv4.rules', 'docker-user.ipv6.rules')]
    assert [d['after'] for d in result['diff']] == ['nftables\n', '', '', '']
    assert files(host) == {'backend': ('nftables\n', 0o644), 'docker-firewall.nft': (TABLE, 0o644)}


def test_the_publishers_list_is_kept_beside_the_policy_and_removed_alone(run_module, host):
    run(run_module, RESTORE)
    result = run(run_module, PUBLISH)
    assert result['written'] == [path(host, 'publish.json')] and result['kept_rules'] == {}
    assert files(host)['publish.json'][0] == '{\n    "backend": "legacy",\n    "containers": [\n        "mirror"\n    ]\n}\n'
    result = run(run_module, dict(program='publish', state='absent'))
    assert result['removed'] == [path(host, 'publish.json')] and 'backend' in files(host)


def test_absent_removes_the_programs_files_then_the_empty_directory(run_module, host):
    run(run_module, RESTORE)
    checked = run(run_module, dict(program='restore', state='absent'), check_mode=True)
    assert checked['removed'][-1] == str(host['state']) and len(files(host)) == 5
    result = run(run_module, dict(program='restore', state='absent'))
    assert result['removed'] == checked['removed'] and result['kept'] == [] and files(host) is None
    again = run(run_module, dict(program='restore', state='absent'))
    assert not again['changed'] and again['removed'] == []


def test_absent_where_nothing_was_kept_changes_nothing(run_module, host):
    for program in ('restore', 'publish'):
        assert not run(run_module, dict(program=program, state='absent'))['changed']
    assert files(host) is None


def test_the_files_are_written_under_the_host_lock(run_module, host, monkeypatch):
    held = []
    real_stage = daemon_host.stage_file

    def stage(path, text, mode):
        held.append(lock_is_held(host))
        return real_stage(path, text, mode)

    monkeypatch.setattr(daemon_host, 'stage_file', stage)
    run(run_module, RESTORE)
    assert held == [True] * 5 and not lock_is_held(host)


def test_a_held_lock_writes_nothing_and_names_its_holder(run_module, host, monkeypatch):
    real = _host_lock.host_lock
    monkeypatch.setattr(_host_lock, 'host_lock', lambda holder, wait=0, path=None: real(holder, 0.1, path))
    with open(host['lock'], 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(_host_lock.record('netops-docker-user-restore'))
        handle.flush()
        result = run(run_module, RESTORE)
    assert result['failed'] and not result['changed']
    assert 'is held by netops-docker-user-restore (pid %d' % os.getpid() in result['msg']
    assert result['msg'].endswith('; nothing was changed') and files(host) is None


def test_a_failed_write_changes_no_file(run_module, host, monkeypatch):
    """Disk full at the third file: every kept file stays the earlier run's, and no temporary file is left."""
    run(run_module, RESTORE)
    before = files(host)
    staged = []
    real_stage = daemon_host.stage_file

    def stage_until_full(path, text, mode):
        if len(staged) == 2:
            raise daemon_host.WriteError('%s could not be written: No space left on device' % path)
        staged.append(path)
        return real_stage(path, text, mode)

    monkeypatch.setattr(daemon_host, 'stage_file', stage_until_full)
    result = run(run_module, dict(RESTORE, backend='legacy', rules=dict(ipv4=OURS_V4[:1], ipv6=[])))
    assert result['failed'] and result['msg'].endswith('No space left on device; no file was changed')
    assert not result['changed'] and files(host) == before


@pytest.mark.parametrize('args, message', [
    (dict(RESTORE, ipsets='create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536\n'),
     "ipsets: not the ipset restore input of the collection's sets"),
    (dict(RESTORE, rules=dict(ipv5=[])), 'rules: ipv5 is not an address family'),
    (dict(PUBLISH, table=TABLE), 'table: not part of the kept state of program=publish'),
    (dict(program='restore'), 'state is present but all of the following are missing: backend'),
])
def test_bad_input_writes_nothing(run_module, host, args, message):
    result = run(run_module, args)
    assert result['failed'] and message in result['msg'] and files(host) is None


def test_a_kept_file_that_cannot_be_read_is_an_error_not_nothing(run_module, host):
    (host['state'] / 'docker-user.ipv4.rules').mkdir(parents=True)
    result = run(run_module, RESTORE)
    assert result['failed'] and 'Is a directory' in result['msg']
    assert sorted(os.listdir(str(host['state']))) == ['docker-user.ipv4.rules']
