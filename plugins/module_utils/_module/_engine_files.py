# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The files a host program needs on the host: the engine (the collection's own module_utils files,
byte for byte, from the payload the module runs from, in their subpackages) and a launcher per program.

Private to this collection. No host access, no Ansible imports: the docker_firewall_engine module
compares these with the host and writes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
# The programs: importing them here makes Ansible ship every engine file with the module (it
# bundles what a module imports); ENGINE_FILES is held to what they import by a unit test.
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _firewalld_watch  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _publish_watcher  # noqa: F401 pylint: disable=unused-import
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore  # noqa: F401 pylint: disable=unused-import

ENGINE_PACKAGE_DIR = os.path.join(layout.ENGINE_DIR, *layout.ENGINE_PACKAGE.split('.'))

# The interpreter is looked up when the program starts (a Python upgrade that removes the one
# Ansible ran with must not leave the boot without the policy); -I: no PYTHONPATH, no user site.
LAUNCHER = '''#!/bin/sh
# netops.docker_firewall: %(what)s.
# Installed by the docker_firewall_engine module: the program is the collection's engine under
# %(engine_dir)s, the same files its modules run.
exec %(python)s -I -c 'import sys; sys.path.insert(0, "%(engine_dir)s")
from %(package)s.%(module)s import main
sys.exit(main(sys.argv[1:]))' "$@"
'''
DEFAULT_PYTHON = 'python3'


def engine_source(name):
    """The text of one engine file (its path in ENGINE_FILES) as this process loaded it (from a file,
    or from the zip of the module's payload); a subpackage's __init__.py is the package's source."""
    module = '.'.join([layout.ENGINE_PACKAGE] + name[:-len('.py')].split('/'))
    if module.endswith('.__init__'):
        module = module[:-len('.__init__')]
    module = importlib.import_module(module)
    return module.__loader__.get_source(module.__name__)


def launcher(program, python):
    path, module, what = layout.PROGRAMS[program]
    return LAUNCHER % dict(python=python, what=what, engine_dir=layout.ENGINE_DIR, package=layout.ENGINE_PACKAGE,
                           module=module)


def wanted_files(program, python):
    """{path: (text, mode)} that `program` needs: its launcher and every engine file."""
    files = dict((path, (engine_source(name), 0o644)) for name, path in engine_file_paths())
    path = layout.PROGRAMS[program][0]
    files[path] = (launcher(program, python), 0o755)
    return files


def engine_file_paths():
    """(name in ENGINE_FILES, path on the host) of every engine file, in the list's order."""
    return [(name, os.path.join(ENGINE_PACKAGE_DIR, *name.split('/'))) for name in layout.ENGINE_FILES]


def engine_paths():
    return [path for _name, path in engine_file_paths()]


def plan(wanted, current, removed):
    """(paths to write, paths to remove): `current` maps each path in `wanted` or `removed` to its
    (text, mode) on the host, or None when it does not exist."""
    write = sorted(path for path, entry in wanted.items() if current.get(path) != entry)
    remove = sorted(path for path in removed if current.get(path) is not None)
    return write, remove
