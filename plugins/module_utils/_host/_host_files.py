# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A set of files written on the host as one: every file is staged (a synced temporary file beside
it) before the first is installed by a rename, so a failed write (disk full, read-only file system)
changes no file. Used by the modules that own files of the layout (docker_firewall_engine,
docker_firewall_persistence).

Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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
