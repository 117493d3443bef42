# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The firewalld watcher (netops-docker-firewalld-watch.service, wanted by firewalld.service).

With firewalld's iptables backend, `firewall-cmd --reload` and a firewalld (re)start flush
iptables, and Docker then puts back its own chains with an empty DOCKER-USER; with either backend
Docker moves its jumps while it follows a reload. This follows firewalld on D-Bus (dbus-monitor): a
reload asked for (the method call, seen before firewalld starts flushing), its Reloaded signal, and
its bus name changing owner (stop, start). From each of them it checks that the kept policy is in
place, every 20 ms for 2 s and then every 0.1 s up to 10 s, and puts back what is not: the restore
program's --if-needed run, in this process, so that a check costs the reads and nothing more. Each
check holds the host lock as this watcher (a module waiting for it names the watcher); the restore
it runs takes the lock again, which re-enters it without waiting.

Private to this collection: the docker_firewall_engine module installs it with the engine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import subprocess
import time

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore as restore
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import (
    PROGRAM_WAIT,
    LockError,
    host_lock,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_runner import (
    HostRunner,
    failure,
    usage,
)

NAME = 'netops-docker-firewalld-watch'
FIREWALLD = 'org.fedoraproject.FirewallD1'
MATCHES = (
    "type='method_call',interface='%s',member='reload'" % FIREWALLD,
    "type='method_call',interface='%s',member='completeReload'" % FIREWALLD,
    "type='signal',interface='%s',member='Reloaded'" % FIREWALLD,
    "type='signal',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'" % FIREWALLD,
)
MEMBERS = ('reload', 'completeReload', 'Reloaded', 'NameOwnerChanged')
WINDOW = 10.0  # seconds of checks after each event
FAST = 2.0  # the first seconds of it, checked every FAST_TICK
FAST_TICK = 0.02
SLOW_TICK = 0.1


def event_of(line):
    """The firewalld event a dbus-monitor line announces, or None."""
    member = line.rstrip().rpartition('member=')[2]
    return member if 'member=' in line and member in MEMBERS else None


def tick(now, window_end):
    """How long to wait for the next line before checking again (None: until a line comes)."""
    if now < window_end - WINDOW + FAST:
        return FAST_TICK
    if now < window_end:
        return SLOW_TICK
    return None


class Lines:
    """Lines of a pipe, read with a timeout (select on the descriptor, so that no line waits in a
    buffer the timeout cannot see)."""

    def __init__(self, stream):
        self._fd = stream.fileno()
        self._pending = b''
        self.ended = False

    def next(self, timeout):
        """A line, or None when `timeout` passed without one (or the pipe ended: see `ended`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b'\n' not in self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._fd], [], [], left)[0]:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                self.ended = True
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b'\n', 1)
        return line.decode('utf-8', 'replace')


def put_back(runner, directory, lock_path):
    """One check: the restore's --if-needed run, under the host lock held as this watcher."""
    try:
        with host_lock(NAME, PROGRAM_WAIT, lock_path):
            status = restore.put_back(runner, directory, True, lock_path)
    except LockError as exc:
        runner.warn('%s; trying again' % exc)
        return
    if status != 0:
        runner.warn('the restore failed; trying again')


def watch(runner, lines, check, clock=time.monotonic):
    """Follow firewalld's events on `lines` and `check` as above until the stream ends."""
    window_end = 0.0
    while True:
        line = lines.next(tick(clock(), window_end))
        if line is not None:
            event = event_of(line)
            if event:
                runner.say('firewalld %s' % event)
                check()
                window_end = clock() + WINDOW
        elif lines.ended:
            return
        else:
            check()  # within the window, no message meanwhile


def main(argv, environ=None):
    environ = os.environ if environ is None else environ
    if argv:
        return usage('netops-docker-firewalld-watch')
    runner = HostRunner(NAME, environ)
    directory = environ.get('NETOPS_DOCKER_FIREWALL_DIR', layout.STATE_DIR)
    lock_path = environ.get('NETOPS_DOCKER_FIREWALL_LOCK', layout.HOST_LOCK)
    try:
        # A stream for the life of the program, which runs without Ansible: run_command cannot give it.
        monitor = subprocess.Popen(  # pylint: disable=ansible-bad-function
            [runner.get_bin_path('dbus-monitor', required=True), '--system'] + list(MATCHES), stdout=subprocess.PIPE)
    except OSError as exc:
        runner.warn(failure(exc))
        return 1
    try:
        watch(runner, Lines(monitor.stdout), lambda: put_back(runner, directory, lock_path))
    finally:
        monitor.kill()
        monitor.wait()
    runner.warn('dbus-monitor ended')
    return 1
