# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host lock (_host_lock): a free lock is taken at once and carries its holder's record; one
held by another process is waited for, polled, for a bounded time, then refused with an error naming
the holder (program, pid, since when); a holder that exits or is killed releases it, and the record
it leaves blocks nothing; the lock is released when the body raises; a process that holds it takes
it again without waiting (the firewalld watcher runs the restore in-process).

The other holders are real processes (other_holder), which take the lock with this same code; the
waits run on the test's clock, so that a 30 s wait takes no time."""

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import (
    LockError,
    LockTimeout,
    host_lock,
)

RECORD = re.compile(r'^(\d+) (\S+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)\n$')
# A process that takes the lock at PATH as HOLDER with the collection's code, says so, and holds it
# until its stdin is closed.
HOLDING = '''
import sys
sys.path[:0] = %(path)r
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import host_lock
with host_lock(%(holder)r, path=%(lock)r):
    sys.stdout.write('held\\n')
    sys.stdout.flush()
    sys.stdin.read()
'''


@contextlib.contextmanager
def other_holder(lock, holder='docker_user_chain'):
    """Another process holding the lock at `lock` as `holder`, for the body of a `with`. Yields it."""
    process = subprocess.Popen([sys.executable, '-c', HOLDING % dict(path=sys.path, holder=holder, lock=str(lock))],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert process.stdout.readline() == 'held\n'
        yield process
    finally:
        process.stdin.close()
        process.wait(10)


class Clock:
    """time.monotonic and time.sleep of the test: a sleep moves the clock on; `on_sleep` runs at each."""

    def __init__(self, on_sleep=None):
        self.now = 100.0
        self.sleeps = []
        self.on_sleep = on_sleep

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def never_sleeps(seconds):
    pytest.fail('waited %s s for a lock this process can have at once' % seconds)


def free(lock):
    """Whether another open file description can take the lock at once (as another process would)."""
    with open(str(lock), 'a') as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            return False
        return True


def exited_pid():
    process = subprocess.Popen([sys.executable, '-c', 'pass'])
    process.wait(10)
    return process.pid


@pytest.fixture
def lock(tmp_path):
    return tmp_path / 'netops-docker-firewall.lock'


def test_the_lock_is_the_layout_s_file_in_run():
    assert layout.HOST_LOCK == '/run/netops-docker-firewall.lock'
    assert (_host_lock.LOCK_WAIT, _host_lock.PROGRAM_WAIT) == (30.0, 15.0)


def test_a_free_lock_is_taken_at_once_with_the_holder_s_record_and_released_after(lock):
    with host_lock('docker_user_allowlist', path=str(lock), sleep=never_sleeps):
        assert not free(lock)
        pid, holder, since = RECORD.match(lock.read_text()).groups()
        assert (int(pid), holder) == (os.getpid(), 'docker_user_allowlist')
        assert '%s (pid %s, since %s)' % (holder, pid, since) == _host_lock.holder_of(str(lock))
    assert free(lock) and _host_lock._held == {}


def test_by_default_the_lock_is_host_lock(lock, monkeypatch):
    monkeypatch.setattr(_host_lock, 'HOST_LOCK', str(lock))
    with host_lock('docker_publish', sleep=never_sleeps):
        assert not free(lock) and lock.read_text().split()[1] == 'docker_publish'


def test_a_lock_held_by_another_process_is_polled_for_the_wait_then_refused_naming_the_holder(lock):
    clock = Clock()
    with other_holder(lock, 'docker_user_chain') as other:
        since = lock.read_text().split()[2]
        with pytest.raises(LockTimeout) as refused:
            with host_lock('netops-docker-user-restore', wait=15.0, path=str(lock), clock=clock, sleep=clock.sleep):
                pytest.fail('the body ran without the lock')
        assert str(refused.value) == ('the host lock %s is held by docker_user_chain (pid %d, since %s); gave up '
                                      'after waiting 15 s' % (lock, other.pid, since))
        # Polled without blocking, every 20 ms, until the wait was over; the holder's record is left as it was.
        assert clock.sleeps == [_host_lock.POLL] * len(clock.sleeps) and clock.now == pytest.approx(115.0, abs=0.03)
        assert lock.read_text().split()[:2] == [str(other.pid), 'docker_user_chain']
    assert _host_lock._held == {}


def test_a_lock_released_during_the_wait_is_taken_then_and_the_wait_is_told(lock):
    with other_holder(lock) as other:
        clock = Clock(on_sleep=lambda count: count == 3 and (other.stdin.close(), other.wait(10)))
        before = time.time()
        with host_lock('docker_publish', wait=30.0, path=str(lock), clock=clock, sleep=clock.sleep) as taken:
            assert len(clock.sleeps) >= 3 and lock.read_text().split()[:2] == [str(os.getpid()), 'docker_publish']
            assert taken['waited'] == pytest.approx(sum(clock.sleeps)) and taken['waited'] >= 3 * _host_lock.POLL
            assert before <= taken['taken_at'] <= time.time()


def test_a_free_lock_is_told_as_taken_without_a_wait(lock):
    with host_lock('docker_user_chain', path=str(lock), sleep=never_sleeps) as taken:
        assert taken['waited'] == 0.0


def test_a_holder_that_is_killed_releases_the_lock_and_its_record_blocks_nothing(lock):
    with other_holder(lock) as other:
        other.send_signal(signal.SIGKILL)
        other.wait(10)
        stale = lock.read_text()
        assert stale.split()[:2] == [str(other.pid), 'docker_user_chain']
        with host_lock('netops-docker-user-restore', wait=0.0, path=str(lock), sleep=never_sleeps):
            assert lock.read_text().split()[:2] == [str(os.getpid()), 'netops-docker-user-restore']


def test_a_stale_record_of_an_exited_process_does_not_block(lock):
    lock.write_text('%d docker_user_allowlist 2031-01-02T03:04:05+00:00\n' % exited_pid())
    with host_lock('docker_user_chain', wait=0.0, path=str(lock), sleep=never_sleeps):
        assert RECORD.match(lock.read_text()).group(2) == 'docker_user_chain'  # the whole record replaced


def test_while_the_lock_is_held_a_stale_record_is_said_to_be_stale(lock):
    """Between its take and its record, the holder is named by the record of the one before."""
    pid = exited_pid()
    with open(str(lock), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        lock.write_text('%d docker_user_allowlist 2031-01-02T03:04:05+00:00\n' % pid)
        with pytest.raises(LockTimeout) as refused:
            with host_lock('docker_publish', wait=0.0, path=str(lock)):
                pass
    assert str(refused.value) == (
        'the host lock %s is held by a process that has not written its name in it yet (the record names '
        'docker_user_allowlist, pid %d, since 2031-01-02T03:04:05+00:00, which has exited: a stale record, which '
        'blocks nothing); gave up after waiting 0 s' % (lock, pid))


@pytest.mark.parametrize('text', ['', 'garbage\n', '12 only-two\n'])
def test_a_holder_without_a_record_is_said_to_be_unnamed(lock, text):
    with open(str(lock), 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        lock.write_text(text)
        assert _host_lock.holder_of(str(lock)) == 'a process that has not written its name in it yet'


def test_the_lock_is_released_when_the_body_raises(lock):
    with pytest.raises(ValueError):
        with host_lock('docker_user_chain', path=str(lock)):
            raise ValueError('a failed write')
    assert free(lock) and _host_lock._held == {}


def test_a_process_that_holds_the_lock_takes_it_again_at_once_and_keeps_it_until_the_outermost_release(lock):
    with host_lock('netops-docker-firewalld-watch', path=str(lock)):
        record = lock.read_text()
        with host_lock('netops-docker-user-restore', wait=0.0, path=str(lock), sleep=never_sleeps):
            assert lock.read_text() == record  # the outer holder is still the one named
        assert not free(lock)
        with pytest.raises(ValueError):
            with host_lock('netops-docker-user-restore', path=str(lock), sleep=never_sleeps):
                raise ValueError('the inner body fails')
        assert not free(lock) and _host_lock._held[str(lock)][1] == 1
    assert free(lock) and _host_lock._held == {}


def test_the_descriptor_is_not_inherited_by_the_commands_run_under_the_lock(lock):
    with host_lock('docker_user_chain', path=str(lock)):
        assert not os.get_inheritable(_host_lock._held[str(lock)][0])


def test_a_lock_file_that_cannot_be_opened_is_an_error_not_a_wait(tmp_path):
    missing = tmp_path / 'missing' / 'netops-docker-firewall.lock'
    with pytest.raises(LockError) as refused:
        with host_lock('docker_user_chain', path=str(missing), sleep=never_sleeps):
            pytest.fail('the body ran without the lock')
    assert not isinstance(refused.value, LockTimeout)
    assert str(refused.value) == 'the host lock %s cannot be opened: No such file or directory' % missing
    assert _host_lock._held == {}
