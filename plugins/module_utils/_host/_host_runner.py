# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the host programs (the boot-time restore, the publisher watcher) give the host layers in
place of an AnsibleModule: run_command, get_bin_path and warn, on the standard library alone.

Private to this collection. The host layers (_iptables_host, _docker_host) take either this or
an AnsibleModule, so that a module and a host program run the very same commands."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

# Where get_bin_path looks besides PATH, as AnsibleModule.get_bin_path does.
_SBIN = ('/sbin', '/usr/sbin', '/usr/local/sbin')
# No command of ours should take long; a hung one must not hang the boot or a watcher.
TIMEOUT = 60


def usage(text):
    """The usage line of a host program, and its exit status."""
    sys.stdout.write('usage: %s\n' % text)
    return 2


def failure(exc):
    """An exception as a host program's warning says it: the message, then the command's stderr."""
    stderr = (getattr(exc, 'stderr', '') or '').strip()
    return '%s (%s)' % (exc, stderr) if stderr else str(exc)


class HostRunner:
    """run_command / get_bin_path / warn with AnsibleModule's signatures (the parts we use)."""

    def __init__(self, name, environ=None, stderr=None):
        self._name = name
        self._environ = os.environ if environ is None else environ
        self._stderr = stderr or sys.stderr

    def get_bin_path(self, arg, required=False):
        directories = self._environ.get('PATH', '').split(os.pathsep) + list(_SBIN)
        for directory in directories:
            path = os.path.join(directory, arg)
            if directory and os.path.isfile(path) and os.access(path, os.X_OK):
                return path
        if required:
            raise OSError('%s: %s not found in PATH or %s' % (self._name, arg, ', '.join(_SBIN)))
        return None

    def run_command(self, args, data=None, binary_data=False, environ_update=None):
        """(rc, stdout, stderr) as text; a command that cannot start or times out is rc 127 / 124."""
        env = dict(self._environ)
        env.update(environ_update or {})
        if data is not None and not binary_data and not data.endswith('\n'):
            data += '\n'
        try:
            # Bytes that are not UTF-8 (another tool's rule comment) come back as they went out.
            # A host program has no AnsibleModule: this is its run_command.
            done = subprocess.run(  # pylint: disable=ansible-bad-function
                args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding='utf-8',
                errors='surrogateescape', env=env, timeout=TIMEOUT, check=False)
        except OSError as exc:
            return 127, '', str(exc)
        except subprocess.TimeoutExpired:
            return 124, '', '%s did not finish within %d s' % (args[0], TIMEOUT)
        return done.returncode, done.stdout, done.stderr

    def warn(self, message):
        self._stderr.write('%s: warning: %s\n' % (self._name, message))
        self._stderr.flush()

    def say(self, message):
        sys.stdout.write('%s: %s\n' % (self._name, message))
        sys.stdout.flush()
