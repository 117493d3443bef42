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


def program_modules():
    """The host programs' engine modules. Ansible bundles with a module every module_utils file the module
    imports, wherever the import stands: these imports make the programs, and every engine file they
    import, travel with each module that imports this file. In a function, they cost a run that
    starts no program nothing: engine_source reads the files' bytes and compiles none of them.
    ENGINE_FILES is held to what these modules import by a unit test."""
    from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _firewalld_watch
    from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _publish_watcher
    from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore
    return dict((module.__name__, module) for module in (_firewalld_watch, _publish_watcher, _restore))


def engine_source(name):
    """The text of one engine file (its path in ENGINE_FILES) as this process has it (a file, or a
    member of the zip of the module's payload), read through its subpackage's loader without importing
    (compiling) the file."""
    subpackage, filename = name.split('/')
    package = importlib.import_module('%s.%s' % (layout.ENGINE_PACKAGE, subpackage))
    path = os.path.join(os.path.dirname(package.__file__), filename)
    return package.__loader__.get_data(path).decode('utf-8')


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
