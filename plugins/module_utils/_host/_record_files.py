# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The records of converged runs on the host (layout.CONVERGED_DIR, _engine/_converged says what a
record holds): read only where the file and its directories are the running user's and writable by
no one else, written whole by a rename, readable by that user alone.

Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _converged as converged


def _trusted(status, kind):
    """Whether a record's file or one of its directories (os.stat_result) is of the `kind` expected
    (stat.S_ISREG, stat.S_ISDIR; a symlink is neither), the effective user's and writable by no one else:
    what another user could put there proves nothing."""
    return kind(status.st_mode) and status.st_uid == os.geteuid() and not status.st_mode & 0o022


def _trusted_directories(path):
    """Whether the record's directory and the one above it (layout.CONVERGED_DIR and its parent) are trusted."""
    directory = os.path.dirname(path)
    return all(_trusted(os.lstat(d), stat.S_ISDIR) for d in (directory, os.path.dirname(directory)))


def read_record(path, declared):
    """The record at `path` of the declaration digest `declared`, or None (none, another declaration's,
    unreadable, or not trusted: see _trusted)."""
    if declared is None:
        return None
    try:
        if not _trusted_directories(path):
            return None
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(handle, 'rb') as stream:
            if not _trusted(os.fstat(stream.fileno()), stat.S_ISREG):
                return None
            text = stream.read().decode('utf-8')
    except (IOError, OSError, ValueError):
        return None
    return converged.parse_record(text, declared)


def write_record(path, record):
    """Keep a run's record, readable by the running user alone (it holds the sources): its directories are made 0700.
    One that cannot be written (no /run), or whose directory is not trusted, only makes the next run take
    the full path."""
    # Imported here: a run the record proves writes none, and compiles no more than it needs.
    from ansible_collections.netops.docker_firewall.plugins.module_utils._host._daemon_host import WriteError, stage_file
    directory = os.path.dirname(path)
    try:
        for made in (os.path.dirname(directory), directory):
            if not os.path.lexists(made):
                os.mkdir(made, 0o700)
        if not _trusted_directories(path):
            return
        tmp = stage_file(path, converged.render_record(record), 0o600)
    except (OSError, WriteError):
        return
    try:
        os.rename(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
