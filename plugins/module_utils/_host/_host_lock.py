# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host lock: one exclusive lock that every writer of the collection's state (the modules that
write DOCKER-USER, the nftables table, the ipsets, the publisher's chains and the kept files; the
restore, the firewalld watcher and the publisher watcher) holds for its whole read, plan, dry run,
write and read-back, so that no two of them interleave. The xtables lock (`-w`) serialises one
command, not a read and the write planned from it.

An flock on a file in /run: the kernel releases it when its holder exits, however it exits, and
/run is empty after a reboot, so a crashed holder never blocks anyone. The holder writes
"PID HOLDER STARTED" into the file for the error of those who wait; a record whose process has
exited is stale and blocks nothing (only the flock does). Waiting is bounded: polled without
blocking until `wait` seconds have passed, then LockTimeout names the holder.

Re-entrant within one process: a process that holds the lock and takes it again (the firewalld
watcher holds it for each check and runs the restore in-process, which takes it too) is let in at
once; the lock is released when the outermost holder lets go.

Private to this collection. Standard library only (no Ansible imports): the host programs run it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import errno
import fcntl
import os
import time

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout

HOST_LOCK = layout.HOST_LOCK
LOCK_WAIT = 30.0  # seconds a module waits for the lock
PROGRAM_WAIT = 15.0  # seconds the restore and the watchers wait (systemd starts them again)
POLL = 0.02  # seconds between two tries

# {path: [descriptor, depth]}: the locks this process holds, and how many times it entered each.
_held = {}


class LockError(Exception):
    """The host lock could not be had: nothing was read or written under it."""


class LockTimeout(LockError):
    """Another process held the host lock for longer than the wait; the message names it."""


@contextlib.contextmanager
def host_lock(holder, wait=LOCK_WAIT, path=None, clock=time.monotonic, sleep=time.sleep):
    """Hold the host lock for the body of a `with`, as `holder` (a program or module name). Gives
    {waited: seconds spent waiting for another holder, taken_at: when it was taken (seconds since
    the epoch)}."""
    path = path or HOST_LOCK
    waited = 0.0
    if path in _held:
        _held[path][1] += 1  # this process holds it already
    else:
        fd, waited = _take(path, holder, wait, clock, sleep)
        _held[path] = [fd, 1]
    taken = dict(waited=round(waited, 3), taken_at=time.time())
    try:
        yield taken
    finally:
        _held[path][1] -= 1
        if not _held[path][1]:
            _release(_held.pop(path)[0])


@contextlib.contextmanager
def module_lock(module, holder, wait=None):
    """The host lock around a module's read, plan, write and read-back (waited for LOCK_WAIT seconds
    by default). In check mode, which writes nothing, no lock: it reads without waiting. A lock that
    cannot be had fails the module, before it has read anything."""
    if module.check_mode:
        yield None
        return
    try:
        with host_lock(holder, LOCK_WAIT if wait is None else wait) as taken:
            yield taken
    except LockError as exc:
        module.fail_json(msg='%s; nothing was changed' % exc, changed=False)


def _take(path, holder, wait, clock, sleep):
    """(a descriptor of `path` that holds its flock, with this process's record written in, seconds
    spent waiting for another holder: 0 when the lock was free)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the commands run
    except OSError as exc:
        raise LockError('the host lock %s cannot be opened: %s' % (path, exc.strerror))
    try:
        started = clock()
        deadline = started + wait
        waited = 0.0
        while not _try_flock(fd):
            if clock() >= deadline:
                raise LockTimeout('the host lock %s is held by %s; gave up after waiting %g s'
                                  % (path, holder_of(path), wait))
            sleep(POLL)
            waited = clock() - started
        os.ftruncate(fd, 0)
        os.write(fd, record(holder).encode('utf-8'))
    except BaseException:
        os.close(fd)
        raise
    return fd, waited


def _try_flock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (IOError, OSError) as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _release(fd):
    os.close(fd)  # closing the only descriptor releases the flock


def record(holder, pid=None, now=None):
    """What a holder writes in the lock file: "PID HOLDER STARTED" (local time, ISO 8601)."""
    now = now or datetime.datetime.now(datetime.timezone.utc).astimezone()
    return '%d %s %s\n' % (pid or os.getpid(), '_'.join(holder.split()), now.isoformat(timespec='seconds'))


def holder_of(path):
    """Who holds the lock at `path`, from its holder's record, for the error of those who wait."""
    try:
        with open(path) as handle:
            words = handle.read().split()
    except (IOError, OSError):
        words = []
    if len(words) != 3 or not words[0].isdigit():
        return 'a process that has not written its name in it yet'
    pid, holder, since = int(words[0]), words[1], words[2]
    if not _alive(pid):
        return ('a process that has not written its name in it yet (the record names %s, pid %d, since %s, '
                'which has exited: a stale record, which blocks nothing)' % (holder, pid, since))
    return '%s (pid %d, since %s)' % (holder, pid, since)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM  # it exists, owned by another user
    return True
