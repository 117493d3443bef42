# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A set of files written on the host as one: every file is staged (a synced temporary file beside
it) before the first is installed by a rename, so a failed write (disk full, read-only file system)
changes no file; and what those writers read of the files and directories they own. Used by the
modules that own files of the layout (docker_firewall_engine, docker_firewall_persistence).

Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _daemon_host as daemon_host


class FilesError(Exception):
    """A file could not be written or removed; the message says what was changed before (`changed`)."""

    def __init__(self, message, changed=False):
        super(FilesError, self).__init__(message)
        self.changed = changed


def install_files(module, wanted, paths):
    """Write `paths`, each `wanted[path]` = (text, mode), in their order: all staged, then installed."""
    staged = []
    try:
        for path in paths:
            staged.append((daemon_host.stage_file(path, *wanted[path]), path))
    except daemon_host.WriteError as exc:
        for tmp, _path in staged:
            os.unlink(tmp)
        raise FilesError('%s; no file was changed' % exc)
    installed = []
    for tmp, path in staged:
        try:
            daemon_host.install_staged(module, tmp, path, wanted[path][1])
        except (IOError, OSError) as exc:  # a rename in the file's own directory: not expected to fail
            for left, _path in staged[len(installed):]:
                if os.path.exists(left):
                    os.unlink(left)
            raise FilesError('installing %s failed: %s; replaced before it: %s (run the task again)'
                             % (path, exc, ', '.join(installed) or 'nothing'), changed=bool(installed))
        installed.append(path)


def remove_files(paths):
    for index, path in enumerate(paths):
        try:
            os.unlink(path)
        except OSError as exc:
            raise FilesError('removing %s failed: %s' % (path, exc), changed=index > 0)


def remove_empty_directory(path):
    """Remove `path` when it is a directory with nothing in it; True when it was removed."""
    if os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)
        return True
    return False


def path_exists(path):
    """Whether `path` is on the host (a symlink: what it points to)."""
    return os.path.exists(path)


def entry_exists(path):
    """Whether the directory entry `path` is on the host, a symlink whose target is gone included."""
    return os.path.lexists(path)


def installed_file(path):
    """(text, mode) of a file on the host, or None when there is none (or it is not text): then it is
    written again."""
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8')
        return text, os.stat(path).st_mode & 0o7777
    except (IOError, OSError, UnicodeDecodeError):
        return None


def unlisted_files(top, listed):
    """Python files under `top` (compiled caches aside, subdirectories too) whose path relative to it,
    with '/', is not in `listed`."""
    found = []
    for directory, subdirectories, names in os.walk(top):
        subdirectories[:] = sorted(name for name in subdirectories if name != '__pycache__')
        relative = os.path.relpath(directory, top)
        for name in sorted(names):
            path = name if relative == os.curdir else '/'.join(relative.split(os.sep) + [name])
            if name.endswith('.py') and path not in listed:
                found.append(os.path.join(directory, name))
    return found


def left_empty(directory, removed):
    """Whether removing the files `removed` leaves the directory empty (it exists)."""
    try:
        return set(os.listdir(directory)) <= set(removed)
    except OSError:
        return False


def remove_directory(path, trees):
    """Remove the subdirectories `trees` of `path` with all in them (those there), then `path` when that
    leaves it empty."""
    for tree in trees:
        shutil.rmtree(os.path.join(path, tree), ignore_errors=True)
    remove_empty_directory(path)
