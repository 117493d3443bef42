# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state directory as the host has it: the one reader of the kept files, for the
docker_firewall_persistence module (which writes them), docker_firewall_info and the restore program.

Private to this collection. Standard library and engine files only. A file that does not exist is
None; any other failed read raises: it is never "nothing kept"."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kept_state import parse_policy


def read_file(path):
    """(text, mode) of a kept file, or None when it does not exist. Bytes that are not UTF-8 (another
    tool's comment in a kept rule) are kept as surrogates, so they go back out as they came."""
    try:
        with open(path, encoding='utf-8', errors='surrogateescape') as handle:
            return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def read_files(directory=None, names=None):
    """{name: (text, mode) or None} of the kept files `names` (all of the layout's by default)."""
    directory = layout.STATE_DIR if directory is None else directory
    return dict((name, read_file(os.path.join(directory, name))) for name in names or layout.STATE_FILES)


def read_state(directory=None):
    """{name: text or None} of every kept file."""
    return dict((name, entry[0] if entry else None) for name, entry in read_files(directory).items())


def read_kept(directory=None):
    """The KeptPolicy the restore program puts back. Raises IOError when there is none (no backend kept)."""
    texts = read_state(directory)
    if texts[layout.KEPT_BACKEND] is None:
        path = os.path.join(layout.STATE_DIR if directory is None else directory, layout.KEPT_BACKEND)
        raise IOError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    return parse_policy(texts)
