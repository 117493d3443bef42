# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What daemon_json needs from the host: the file, the Docker version, the unit's flags,
`dockerd --validate`, and an atomic write; for docker_firewall_info and docker_leftovers too, the
installed Docker's version (`dockerd --version`), and for docker_leftovers whether dockerd started
after daemon.json last changed. Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    docker_major,
    unit_flags,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _docker_host as docker_host

# `dockerd --validate` exists from Docker 23 on (20.10 answers "unknown flag").
VALIDATE_SINCE = 23


class WriteError(Exception):
    """A file could not be written; nothing was changed."""


class DaemonHost:
    def __init__(self, module):
        self._module = module

    def _run(self, cmd):
        return self._module.run_command(cmd, environ_update={'LC_ALL': 'C', 'LANG': 'C'})

    @staticmethod
    def read(path):
        """The file's text, or None when it does not exist. Bytes that are not UTF-8 are kept as
        surrogates, for parse_existing to refuse (or replace_invalid to replace)."""
        try:
            with open(path, 'rb') as handle:
                return handle.read().decode('utf-8', 'surrogateescape')
        except (IOError, OSError) as exc:
            if not os.path.exists(path):
                return None
            raise exc

    def docker_major(self):
        dockerd = self._module.get_bin_path('dockerd')
        if dockerd is None:
            return None, None
        rc, out, err = self._run([dockerd, '--version'])
        return (docker_major(out), out.strip()) if rc == 0 else (None, None)

    @staticmethod
    def started_after(path, settings):
        """Whether the running dockerd (its pid file as `settings`, daemon.json, name it) started after `path`
        last changed; None when no dockerd runs or there is no `path`."""
        started = docker_host.dockerd_started_at(settings.get('pidfile') or '/var/run/docker.pid')
        return None if started is None or not os.path.exists(path) else started > os.stat(path).st_mtime

    def unit_flags(self, unit='docker.service'):
        systemctl = self._module.get_bin_path('systemctl')
        if systemctl is None:
            return []
        rc, out, err = self._run([systemctl, 'show', '--property=ExecStart', unit])
        return unit_flags(out) if rc == 0 else []

    def validate(self, content):
        """dockerd's own verdict on `content`: (True, output) or (False, reason). Uses a private
        temporary file outside /etc/docker, so check mode writes nothing there."""
        dockerd = self._module.get_bin_path('dockerd', required=True)
        handle, path = tempfile.mkstemp(prefix='daemon-json-validate-', suffix='.json')
        try:
            with os.fdopen(handle, 'w') as stream:
                stream.write(content)
            rc, out, err = self._run([dockerd, '--validate', '--config-file', path])
        finally:
            os.unlink(path)
        return rc == 0, (out + err).strip().replace(path, 'daemon.json')

    def write(self, path, content, backup):
        """Atomically replace `path` with `content` (0644, root); returns the backup path or None.
        A write that fails (disk full, read-only file system) raises WriteError and leaves `path`
        and its directory as they were."""
        backup_file = None
        if backup and os.path.exists(path):
            backup_file = self._module.backup_local(path)
        write_atomically(self._module, path, content)
        return backup_file


def write_atomically(module, path, content, mode=0o644):
    """Replace `path` with `content` (root-owned, `mode`) through a synced temporary file in its
    directory and a rename: readers see the old file or the new one, never a part. A write that
    fails raises WriteError and leaves `path` as it was."""
    install_staged(module, stage_file(path, content, mode), path, mode)


def stage_file(path, content, mode=0o644):
    """The synced temporary file beside `path` that install_staged renames into place. A failure
    raises WriteError and leaves nothing behind. Staging every file of a set before installing any
    keeps a failed write (disk full, read-only file system) from leaving half a set."""
    directory = os.path.dirname(path) or '.'
    tmp = None
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        handle, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path))
        with os.fdopen(handle, 'w') as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
    except (IOError, OSError) as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise WriteError('%s could not be written: %s; it was left as it was'
                         % (path, exc.strerror or exc))
    return tmp


def install_staged(module, tmp, path, mode=0o644):
    module.atomic_move(tmp, path)
    module.set_mode_if_different(path, '%04o' % mode, False)
    module.set_owner_if_different(path, 'root', False)
    module.set_group_if_different(path, 'root', False)
