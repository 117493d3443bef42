# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The firewalld watcher: which dbus-monitor lines are firewalld's events, when it checks (every
20 ms for 2 s after an event, every 0.1 s up to 10 s, then only on events), lines read through a
real pipe without waiting in a buffer, and a failed check that only warns. No D-Bus, no iptables:
the check is a recorder and the clock is the test's."""

import os
import threading

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _firewalld_watch as watcher
from fake_runner import FakeRunner, record_host_lock
from plugins.module_utils.test_host_lock import free, other_holder
from plugins.module_utils.test_restore import (
    DOCKER29,
    JUMP,
    LISTED_TABLE,
    FORWARD_FIRST,
    MOVED,
    OURS,
    TOOL_PATHS,
    deleted,
    in_place,
    inserted,
    keep,
    payload,
    saved,
    table_listed,
    written,
)

# dbus-monitor's lines, as it prints them for the matches the watcher subscribes to.
RELOAD = ('method call time=1796150000.000001 sender=:1.7 -> destination=org.fedoraproject.FirewallD1 serial=2 '
          'path=/org/fedoraproject/FirewallD1; interface=org.fedoraproject.FirewallD1; member=reload')
RELOADED = ('signal time=1796150000.5 sender=:1.3 -> destination=(null destination) serial=40 '
            'path=/org/fedoraproject/FirewallD1; interface=org.fedoraproject.FirewallD1; member=Reloaded')
OWNER = ('signal time=1796150001.0 sender=org.freedesktop.DBus -> destination=(null destination) serial=9 '
         'path=/org/freedesktop/DBus; interface=org.freedesktop.DBus; member=NameOwnerChanged')
ARGUMENT = '   string "org.fedoraproject.FirewallD1"'


@pytest.mark.parametrize('line, event', [
    (RELOAD, 'reload'), (RELOADED, 'Reloaded'), (OWNER, 'NameOwnerChanged'),
    (RELOAD.replace('member=reload', 'member=completeReload'), 'completeReload'),
    (ARGUMENT, None), ('signal time=1 sender=:1.3 -> destination=x; interface=y; member=getZones', None),
    ('   string "member=reload is not a member line"', None),
])
def test_only_firewalld_s_events_count(line, event):
    assert watcher.event_of(line) == event


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class ScriptedLines:
    """What next() returns in turn: a line, or None (the timeout passed); each call advances the
    clock by the timeout asked for (or 1 s for an unbounded wait) and records that timeout. The
    stream ends when the answers run out, or at a None for an unbounded wait."""

    def __init__(self, clock, answers):
        self.clock = clock
        self.answers = list(answers)
        self.timeouts = []
        self.ended = False

    def next(self, timeout):
        self.timeouts.append(timeout)
        self.clock.now += 1.0 if timeout is None else timeout
        answer = self.answers.pop(0) if self.answers else None
        if answer is None and (timeout is None or not self.answers):
            self.ended = True  # an unbounded wait returns only a line, or at the end of the stream
        return answer


def test_without_an_event_it_only_waits_and_never_checks():
    clock = Clock()
    lines = ScriptedLines(clock, [ARGUMENT, ARGUMENT])
    checks = []
    watcher.watch(FakeRunner([], {}, watcher.NAME), lines, lambda: checks.append(clock.now), clock)
    assert checks == [] and lines.timeouts == [None, None, None]


def test_an_event_checks_at_once_then_every_20_ms_for_2_s_then_every_100_ms_up_to_10_s():
    clock = Clock()
    lines = ScriptedLines(clock, [RELOAD] + [None] * 500)
    checks = []
    runner = FakeRunner([], {}, watcher.NAME)
    watcher.watch(runner, lines, lambda: checks.append(round(clock.now - 1001.0, 3)), clock)
    assert runner.said == ['firewalld reload']
    assert checks[0] == 0.0
    fast = [t for t in lines.timeouts[1:] if t == watcher.FAST_TICK]
    slow = [t for t in lines.timeouts[1:] if t == watcher.SLOW_TICK]
    # 2 s / 20 ms, then 8 s / 100 ms (one more where the sum of the ticks lands just short of an edge)
    assert 100 <= len(fast) <= 101 and 79 <= len(slow) <= 81
    assert lines.timeouts[1:1 + len(fast)] == fast and None in lines.timeouts[1 + len(fast) + len(slow):]
    assert len(checks) == 1 + len(fast) + len(slow)  # the event, then each timeout inside the window
    assert max(checks) == pytest.approx(10.0, abs=0.11)


def test_each_event_restarts_the_window():
    clock = Clock()
    lines = ScriptedLines(clock, [RELOAD, None, RELOADED])
    checks = []
    runner = FakeRunner([], {}, watcher.NAME)
    watcher.watch(runner, lines, lambda: checks.append(clock.now), clock)
    assert runner.said == ['firewalld reload', 'firewalld Reloaded']
    assert len(checks) == 3 and lines.timeouts[:3] == [None, watcher.FAST_TICK, watcher.FAST_TICK]
    assert lines.timeouts[3] == watcher.FAST_TICK  # within the new window


def test_lines_come_through_a_real_pipe_one_by_one_and_a_timeout_is_none():
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, 'rb', buffering=0) as stream:
        lines = watcher.Lines(stream)
        os.write(write_fd, (RELOAD + '\n' + RELOADED + '\n').encode())  # two lines in one write
        assert lines.next(1.0) == RELOAD
        assert lines.next(1.0) == RELOADED  # not left in a buffer the timeout cannot see
        assert lines.next(0.05) is None and not lines.ended
        timer = threading.Timer(0.1, os.write, (write_fd, b'half a li'))
        timer.start()
        assert lines.next(0.5) is None  # a part of a line is not a line
        timer.join()
        os.write(write_fd, b'ne\n')
        assert lines.next(1.0) == 'half a line'
        os.close(write_fd)
        assert lines.next(1.0) is None and lines.ended


def test_a_check_that_fails_warns_and_the_watcher_goes_on(monkeypatch, tmp_path):
    runner = FakeRunner([], {}, watcher.NAME)
    monkeypatch.setattr(watcher.restore, 'read_kept', lambda directory: 'kept in %s' % directory)
    results = iter([1, 0])
    monkeypatch.setattr(watcher.restore, 'restore', lambda run, kept, if_needed: next(results))
    lock = str(tmp_path / 'lock')
    watcher.put_back(runner, str(tmp_path), lock)
    watcher.put_back(runner, str(tmp_path), lock)
    assert runner.warned == ['the restore failed; trying again']

    def unreadable(directory):
        raise IOError(2, 'No such file or directory')

    monkeypatch.setattr(watcher.restore, 'read_kept', unreadable)
    watcher.put_back(runner, str(tmp_path), lock)
    assert runner.warned[-2:] == ['the kept policy could not be read, nothing was written: [Errno 2] No such file or directory',
                                  'the restore failed; trying again']


def test_a_check_holds_the_lock_as_the_watcher_and_the_restore_in_it_re_enters_it_without_waiting(tmp_path, monkeypatch):
    keep(tmp_path / 'kept', 'nft', OURS, table=True)
    lock = tmp_path / 'netops-docker-firewall.lock'
    # The IPv6 jump is below Docker's: the check writes that family.
    script = [
        table_listed(LISTED_TABLE),
        saved('ipv4', DOCKER29['ipv4'].set('DOCKER-USER', OURS['ipv4'])),
        saved('ipv6', DOCKER29['ipv6'].set('FORWARD', ['-A FORWARD -j DOCKER-FORWARD', JUMP]).set('DOCKER-USER', OURS['ipv6'])),
    ] + written('ipv6', payload(*MOVED + deleted(OURS['ipv6']) + inserted(OURS['ipv6'])),
                DOCKER29['ipv6'].set('FORWARD', FORWARD_FIRST).set('DOCKER-USER', OURS['ipv6']))
    runner = FakeRunner(script, TOOL_PATHS, watcher.NAME)
    locks = record_host_lock(monkeypatch, lambda: runner.ran)
    # Re-entering must not wait: a restore that waited for its own watcher would give up at once.
    monkeypatch.setattr(watcher.restore, 'PROGRAM_WAIT', 0.0)
    watcher.put_back(runner, str(tmp_path / 'kept'), str(lock))
    assert runner.ran == [call.expected for call in script]
    assert (runner.said, runner.warned) == ([in_place('ipv6')], [])
    # One take, as the watcher, before the first command; released after the last.
    assert locks == [('taken', 'netops-docker-firewalld-watch', 0), ('released', 6)]
    assert lock.read_text().split()[1] == 'netops-docker-firewalld-watch' and free(lock)


def test_a_check_while_another_writer_holds_the_lock_runs_nothing_and_is_tried_again(tmp_path, monkeypatch):
    keep(tmp_path / 'kept', 'nft', OURS, table=True)
    lock = tmp_path / 'netops-docker-firewall.lock'
    monkeypatch.setattr(watcher, 'PROGRAM_WAIT', 0.2)
    runner = FakeRunner([], TOOL_PATHS, watcher.NAME)
    with other_holder(lock, 'docker_user_chain') as other:
        since = lock.read_text().split()[2]
        watcher.put_back(runner, str(tmp_path / 'kept'), str(lock))
    assert runner.ran == [] and runner.said == []
    assert runner.warned == ['the host lock %s is held by docker_user_chain (pid %d, since %s); gave up after waiting '
                             '0.2 s; trying again' % (lock, other.pid, since)]


def test_without_dbus_monitor_it_says_so_and_fails(capsys):
    assert watcher.main([], environ={'PATH': '/nonexistent'}) == 1
    assert 'dbus-monitor not found' in capsys.readouterr().err
    assert watcher.main(['--once']) == 2


def test_when_dbus_monitor_ends_the_watcher_fails_for_systemd_to_start_it_again(tmp_path, capsys, monkeypatch):
    """A dbus-monitor stand-in prints one unrelated line and exits: no check ran, exit status 1."""
    monitor = tmp_path / 'dbus-monitor'
    monitor.write_text('#!/bin/sh\necho "signal time=1 sender=:1.2 -> destination=x; interface=y; member=Other"\n')
    os.chmod(str(monitor), 0o755)
    checks = []
    monkeypatch.setattr(watcher, 'put_back', lambda *args: checks.append(args))
    assert watcher.main([], environ={'PATH': str(tmp_path)}) == 1
    assert checks == [] and capsys.readouterr().err == 'netops-docker-firewalld-watch: warning: dbus-monitor ended\n'
