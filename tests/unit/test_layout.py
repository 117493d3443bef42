# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The on-host layout is defined once (plugins/module_utils/_engine/_layout.py, with the units in _units.py):
every path under the state directory, every script path and every unit name of ours that a script, a
module, a doc or a scenario spells out must be one of it. The roles spell out none of them: the modules
that own the state directory and the units (docker_firewall_persistence, docker_firewall_engine) write
them, and the roles use the unit names those return. A rename in one place fails here instead of making
compliance report "not installed"."""

import os
import re
import sys

import pytest

from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _units as units

SEARCHED = ('roles', 'plugins', 'molecule', 'playbooks', 'docs', 'README.md')
STATE_PATH = re.compile(re.escape(layout.STATE_DIR)
                        + r'/(docker-user\.(?:\{\{[^}]*\}\}|\{ipv4,ipv6\}|\$family|[a-z0-9]+)\.rules|[A-Za-z0-9_.-]+)')
SCRIPT_PATH = re.compile(r'/usr/local/(?:s?bin|lib)/netops[A-Za-z0-9_./-]*')
UNIT_NAME = re.compile(r'netops-[a-z-]+\.service')
# A file name written with the family left to a template or a shell/brace expansion.
FAMILY_FORMS = re.compile(r"\{\{[^}]*\}\}|\{ipv4,ipv6\}|\$family")


def files(searched=SEARCHED):
    for top in searched:
        path = os.path.join(ROOT, top)
        if os.path.isfile(path):
            yield path
            continue
        for directory, dirs, names in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
            for name in names:
                if not name.endswith(('.pyc', '.tar')):
                    yield os.path.join(directory, name)


def occurrences(pattern, searched=SEARCHED):
    found = []
    for path in files(searched):
        with open(path, encoding='utf-8', errors='replace') as handle:
            text = handle.read()
        found.extend((os.path.relpath(path, ROOT), match) for match in pattern.findall(text))
    return found


def test_every_state_file_named_anywhere_is_in_the_layout():
    known = set(layout.STATE_FILES)
    unknown = []
    for where, name in occurrences(STATE_PATH):
        name = FAMILY_FORMS.sub('ipv4', name).rstrip('.')
        if name not in known:
            unknown.append((where, name))
    assert unknown == []


def test_every_script_path_named_anywhere_is_in_the_layout():
    known = set(layout.SCRIPTS) | set(os.path.dirname(script) for script in layout.SCRIPTS) \
        | set(engine_files.engine_paths()) | set(layout.RETIRED_FILES)
    assert [(where, path) for where, path in occurrences(SCRIPT_PATH) if path.rstrip('/.') not in known] == []


def test_every_unit_named_anywhere_is_in_the_layout():
    assert [(where, unit) for where, unit in occurrences(UNIT_NAME) if unit not in layout.UNITS] == []


@pytest.mark.parametrize('unit', layout.UNITS)
def test_each_unit_is_defined_once_as_data_of_the_layout_and_no_unit_file_is_left_in_a_role(unit):
    """docker_firewall_engine installs the units from _units (test_units holds their WantedBy and
    ExecStart to the layout); a unit file in a role's files/ would be a second definition."""
    assert list(units.UNIT_OF.values()).count(unit) == 1
    assert [os.path.join(directory, unit) for directory, _dirs, names in os.walk(os.path.join(ROOT, 'roles'))
            if unit in names] == []


OWNED_BY_MODULES = (STATE_PATH, re.compile(re.escape(layout.STATE_DIR)), UNIT_NAME)


@pytest.mark.parametrize('top', ['roles', 'molecule'])
def test_no_role_or_scenario_names_a_kept_file_or_a_unit(top):
    """The state directory is docker_firewall_persistence's, the units docker_firewall_engine's: roles and
    scenarios read the names from those modules' results and from docker_firewall_info."""
    assert [(where, found) for pattern in OWNED_BY_MODULES for where, found in occurrences(pattern, (top,))] == []


PROGRAM_TASK = re.compile(r'netops\.docker_firewall\.docker_firewall_engine:\n\s+program: ([a-z_]+)')


@pytest.mark.parametrize('script', layout.SCRIPTS)
def test_each_script_is_installed_by_a_role(script):
    """A program by a role task of the docker_firewall_engine module, any other script by a task
    that names its path."""
    programs = dict((path, name) for name, (path, _module, _what) in layout.PROGRAMS.items())
    if script in programs:
        installed = [where for where, name in occurrences(PROGRAM_TASK)
                     if name == programs[script] and where.startswith('roles/') and where.endswith('.yml')]
    else:
        installed = [where for where, path in occurrences(SCRIPT_PATH)
                     if path == script and where.startswith('roles/') and where.endswith('.yml')]
    assert installed, '%s is installed by no role task' % script


def imported_engine_modules(name, seen=None):
    """The collection's module_utils a module_utils file imports, itself included, transitively, as
    paths in plugins/module_utils: 'subpackage/_file.py', and the subpackage's '__init__.py'."""
    seen = set() if seen is None else seen
    seen.update((name, name.split('/')[0] + '/__init__.py'))
    with open(os.path.join(ROOT, 'plugins', 'module_utils', *name.split('/'))) as handle:
        text = handle.read()
    for package, imported in re.findall(r'plugins\.module_utils\.(_[a-z_]+)(?:\.| import )(_[a-z_]+)', text):
        if '%s/%s.py' % (package, imported) not in seen:
            imported_engine_modules('%s/%s.py' % (package, imported), seen)
    return seen


def test_the_engine_files_are_exactly_what_the_programs_import():
    needed = set()
    for _path, module, _what in layout.PROGRAMS.values():
        needed |= imported_engine_modules(module.replace('.', '/') + '.py')
    assert sorted(needed) == sorted(layout.ENGINE_FILES)


def test_every_program_is_bundled_with_the_modules_that_install_or_compare_it():
    """Ansible ships what a module imports: _engine_files.program_modules imports each program."""
    bundled = sorted(engine_files.program_modules())
    assert bundled == sorted('%s.%s' % (layout.ENGINE_PACKAGE, module) for _path, module, _what in layout.PROGRAMS.values())


def test_an_engine_file_is_read_byte_for_byte_without_being_imported():
    """engine_source reads the file through its subpackage's loader: the text on disk, and no import
    (no compile) of a program a run does not start."""
    name = '_programs/_firewalld_watch.py'
    module = '%s._programs._firewalld_watch' % layout.ENGINE_PACKAGE
    loaded = sys.modules.pop(module, None)
    try:
        with open(os.path.join(ROOT, 'plugins', 'module_utils', '_programs', '_firewalld_watch.py'), 'rb') as handle:
            assert engine_files.engine_source(name) == handle.read().decode('utf-8')
        assert module not in sys.modules
    finally:
        if loaded is not None:
            sys.modules[module] = loaded


# The layers of plugins/module_utils (plugins/module_utils/README.md), each with the layers it may import.
LAYERS = {
    '_engine': ('_engine',),
    '_host': ('_engine', '_host'),
    '_programs': ('_engine', '_host', '_programs'),
    '_module': ('_engine', '_host', '_programs', '_module'),
}
# Controller-side plugins run the pure engines only.
CONTROLLER_SIDE = ('filter', 'action', 'plugin_utils')
LAYER_IMPORT = re.compile(r'plugins\.module_utils\.(_[a-z_]+)')


def python_files(top):
    for directory, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in names:
            if name.endswith('.py'):
                yield os.path.join(directory, name)


def test_every_module_util_is_in_a_layer_and_every_layer_is_a_package():
    module_utils = os.path.join(ROOT, 'plugins', 'module_utils')
    assert sorted(name for name in os.listdir(module_utils) if name != '__pycache__') == sorted(list(LAYERS) + ['README.md'])
    for layer in LAYERS:
        assert os.path.isfile(os.path.join(module_utils, layer, '__init__.py')), layer


@pytest.mark.parametrize('layer', sorted(LAYERS))
def test_a_layer_imports_only_the_layers_above_it(layer):
    """Imports in functions included: a lazy import is an import all the same."""
    for path in python_files(os.path.join(ROOT, 'plugins', 'module_utils', layer)):
        with open(path) as handle:
            imported = set(LAYER_IMPORT.findall(handle.read()))
        assert imported <= set(LAYERS[layer]), '%s imports %s' % (os.path.relpath(path, ROOT), sorted(imported))


def test_the_controller_side_plugins_run_the_pure_engines_only():
    for kind in CONTROLLER_SIDE:
        for path in python_files(os.path.join(ROOT, 'plugins', kind)):
            with open(path) as handle:
                imported = set(LAYER_IMPORT.findall(handle.read()))
            assert imported <= {'_engine'}, '%s imports %s' % (os.path.relpath(path, ROOT), sorted(imported))
