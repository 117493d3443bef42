# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_firewall_engine: the engine files land byte for byte, the launchers run them without
Ansible, check mode writes nothing, a converged run changes nothing, stale files go, and the engine
stays while another program uses it. The program's unit is installed from the layout and enabled,
and stopped, disabled and removed with the program, with the exact systemctl commands. Every path of
the layout is moved into the test's directory."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _engine_files as engine_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _daemon_host as daemon_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _units as units
from ansible_collections.netops.docker_firewall.plugins.modules import docker_firewall_engine
from fake_runner import Call

MODULE_UTILS = os.path.join(ROOT, 'plugins', 'module_utils')
SYSTEMCTL = '/usr/sbin/systemctl'
RELOAD = [SYSTEMCTL, 'daemon-reload']


def enable(unit):
    return [SYSTEMCTL, 'enable', unit]


def installing(unit):
    """What a first install runs: systemd reloaded for the new unit file, the unit enabled."""
    return [Call(RELOAD), Call(enable(unit))]


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The layout's engine directory and program paths, under tmp_path."""
    lib = tmp_path / 'lib'
    package_dir = os.path.join(str(lib), *layout.ENGINE_PACKAGE.split('.'))
    programs = {'restore': (str(tmp_path / 'sbin' / 'netops-docker-user-restore'),) + layout.PROGRAMS['restore'][1:],
                'firewalld_watch': (str(tmp_path / 'sbin' / 'netops-docker-firewalld-watch'),)
                + layout.PROGRAMS['firewalld_watch'][1:],
                'publish': (str(lib / 'netops_docker_publish.py'),) + layout.PROGRAMS['publish'][1:]}
    monkeypatch.setattr(layout, 'ENGINE_DIR', str(lib))
    monkeypatch.setattr(layout, 'PROGRAMS', programs)
    monkeypatch.setattr(layout, 'RETIRED_FILES', (str(lib / 'netops_publish.py'),))
    monkeypatch.setattr(layout, 'UNIT_DIR', str(tmp_path / 'systemd'))
    monkeypatch.setattr(engine_files, 'ENGINE_PACKAGE_DIR', package_dir)
    (tmp_path / 'sbin').mkdir()
    return dict(lib=lib, package_dir=package_dir, programs=programs, units=tmp_path / 'systemd')


def engine_paths(host):
    return sorted(os.path.join(host['package_dir'], name) for name in layout.ENGINE_FILES)


def installed_engine_files(host):
    """The files under the engine's package directory, as paths in it (compiled caches aside)."""
    return sorted(os.path.relpath(os.path.join(directory, name), host['package_dir'])
                  for directory, _subdirectories, names in os.walk(host['package_dir'])
                  for name in names if '__pycache__' not in directory)


def run(run_module, check_mode=False, diff=False, commands=(), **args):
    """The module with python= this test's interpreter, unless the test gives one (None: the default),
    against the exact systemctl commands `commands`."""
    args.setdefault('python', sys.executable)
    if args['python'] is None:
        del args['python']
    return run_module(docker_firewall_engine.main, args, list(commands), check_mode=check_mode, diff=diff)[0]


def enabled_as_systemctl_would(program):
    """The link `systemctl enable` makes (the fake runner makes none)."""
    link = units.enabled_link(program)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(units.unit_path(program), link)


def install(run_module, program, **args):
    """A first install, the unit enabled as systemctl would."""
    result = run(run_module, program=program, commands=installing(units.UNIT_OF[program]), **args)
    enabled_as_systemctl_would(program)
    return result


def test_check_mode_reports_every_file_and_writes_nothing(run_module, host):
    result = run(run_module, check_mode=True, diff=True, program='restore')
    assert result['changed'] and result['unit_changed'] and result['unit'] == 'netops-docker-user.service'
    assert result['written'] == sorted(engine_paths(host) + [host['programs']['restore'][0],
                                                             str(host['units'] / 'netops-docker-user.service')])
    assert result['removed'] == []
    assert result['commands'] == [RELOAD, enable('netops-docker-user.service')]  # reported, none run
    assert [d['before'] for d in result['diff']] == [''] * len(result['written'])
    assert not host['lib'].exists() and os.listdir(os.path.dirname(host['programs']['restore'][0])) == []
    assert not host['units'].exists()


def test_the_engine_is_installed_byte_for_byte_and_a_second_run_changes_nothing(run_module, host):
    result = install(run_module, 'restore')
    assert result['changed'] and len(result['written']) == len(layout.ENGINE_FILES) + 2
    for name in layout.ENGINE_FILES:
        with open(os.path.join(MODULE_UTILS, name), 'rb') as source, \
                open(os.path.join(host['package_dir'], name), 'rb') as installed:
            assert installed.read() == source.read(), name
        assert os.stat(os.path.join(host['package_dir'], name)).st_mode & 0o7777 == 0o644
    launcher = host['programs']['restore'][0]
    assert os.stat(launcher).st_mode & 0o7777 == 0o755
    with open(launcher) as handle:
        text = handle.read()
    assert text.startswith('#!/bin/sh\n') and "\nexec %s -I -c 'import sys; " % sys.executable in text
    again = run(run_module, program='restore')
    assert not again['changed'] and again['written'] == [] and again['removed'] == [] and again['commands'] == []
    assert not again['unit_changed']


@pytest.mark.parametrize('program, usage', [('restore', 'usage: netops-docker-user-restore [--if-needed]'),
                                            ('publish', 'usage: netops_docker_publish.py sync|watch')])
def test_an_installed_program_runs_on_the_installed_engine_alone(run_module, host, program, usage):
    """-I: no PYTHONPATH, no user site; only the standard library and the files the module wrote."""
    install(run_module, program)
    done = subprocess.run([host['programs'][program][0], 'no-such-argument'], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=30, env={'PATH': '/usr/bin:/bin'},
                          check=False)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (2, usage, '')


def test_by_default_the_launcher_finds_python3_on_path_when_it_starts(run_module, host, tmp_path):
    """Not the interpreter Ansible ran the module with: a versioned path (python3.11) may be gone
    after an upgrade, and the boot would run without the policy."""
    install(run_module, 'restore', python=None)
    launcher = host['programs']['restore'][0]
    with open(launcher) as handle:
        assert "\nexec python3 -I -c 'import sys; " in handle.read()
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    os.symlink(sys.executable, str(bin_dir / 'python3'))  # this test's Python, found as python3
    done = subprocess.run([launcher, '--bad'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=30, env={'PATH': '%s:/usr/bin:/bin' % bin_dir}, check=False)
    assert (done.returncode, done.stdout.strip()) == (2, 'usage: netops-docker-user-restore [--if-needed]')


@pytest.mark.parametrize('python', ['python3; rm -rf /', '$(id)', 'python 3', ''])
def test_an_interpreter_a_shell_would_expand_is_refused_and_nothing_written(run_module, host, python):
    result = run(run_module, program='restore', python=python)
    assert result['failed'] and result['msg'].startswith('python: %r is not valid' % python)
    assert not host['lib'].exists() and os.listdir(os.path.dirname(host['programs']['restore'][0])) == []
    assert not host['units'].exists()


def test_a_changed_engine_file_is_rewritten_with_a_diff(run_module, host):
    install(run_module, 'restore')
    rules = os.path.join(host['package_dir'], '_engine', '_rules.py')
    with open(rules, 'a') as handle:
        handle.write('# changed by hand\n')
    result = run(run_module, diff=True, program='restore')
    assert result['written'] == [rules] and result['commands'] == [] and not result['unit_changed']
    assert result['diff'][0]['before'].endswith('# changed by hand\n')
    assert result['diff'][0]['after'] == engine_files.engine_source('_engine/_rules.py')


def test_stale_and_retired_files_are_removed(run_module, host):
    install(run_module, 'publish')
    stale = os.path.join(host['package_dir'], '_gone_since.py')
    retired = str(host['lib'] / 'netops_publish.py')
    for path in (stale, retired):
        with open(path, 'w') as handle:
            handle.write('# an earlier version\n')
    result = run(run_module, program='publish')
    assert result['removed'] == sorted([stale, retired]) and result['written'] == []
    assert not os.path.exists(stale) and not os.path.exists(retired)


def test_the_flat_engine_of_an_earlier_version_is_replaced_by_its_subpackages(run_module, host):
    """Before the engine had subpackages, its files were all in the package directory: they go, the
    subpackages' files come, and the engine is the layout's files and nothing else."""
    os.makedirs(host['package_dir'])
    flat = [os.path.join(host['package_dir'], name.rsplit('/', 1)[1]) for name in layout.ENGINE_FILES
            if not name.endswith('/__init__.py')]
    for path in flat:
        with open(path, 'w') as handle:
            handle.write('# an earlier version\n')
    result = run(run_module, program='restore', commands=installing('netops-docker-user.service'))
    assert result['removed'] == sorted(flat)
    assert installed_engine_files(host) == sorted(layout.ENGINE_FILES)


def removing(unit):
    return [Call([SYSTEMCTL, 'stop', unit]), Call([SYSTEMCTL, 'disable', unit]), Call(RELOAD)]


def test_the_engine_stays_while_another_program_uses_it(run_module, host):
    install(run_module, 'restore')
    install(run_module, 'publish')
    result = run(run_module, program='publish', state='absent', commands=removing('netops-docker-publish.service'))
    assert result['removed'] == sorted([host['programs']['publish'][0], str(host['units'] / 'netops-docker-publish.service')])
    assert all(os.path.exists(path) for path in engine_paths(host))
    result = run(run_module, program='restore', state='absent', commands=removing('netops-docker-user.service'))
    assert result['removed'] == sorted(engine_paths(host) + [host['programs']['restore'][0],
                                                             str(host['units'] / 'netops-docker-user.service')])
    assert not host['lib'].exists()
    assert not run(run_module, program='restore', state='absent')['changed']


def test_a_failed_write_changes_no_file(run_module, host, monkeypatch):
    """Disk full at the third file: the engine stays the earlier version's, whole, and no temporary
    file is left."""
    install(run_module, 'restore')
    for name in layout.ENGINE_FILES:
        with open(os.path.join(host['package_dir'], name), 'a') as handle:
            handle.write('# an earlier version\n')
    before = dict((name, open(os.path.join(host['package_dir'], name)).read()) for name in layout.ENGINE_FILES)
    staged = []
    real_stage = daemon_host.stage_file

    def stage_until_full(path, text, mode):
        if len(staged) == 2:
            raise daemon_host.WriteError('%s could not be written: No space left on device' % path)
        staged.append(path)
        return real_stage(path, text, mode)

    monkeypatch.setattr(daemon_host, 'stage_file', stage_until_full)
    result = run(run_module, program='restore')
    assert result['failed'] and result['msg'].endswith('No space left on device; no file was changed')
    assert installed_engine_files(host) == sorted(layout.ENGINE_FILES)
    assert dict((name, open(os.path.join(host['package_dir'], name)).read()) for name in layout.ENGINE_FILES) == before


@pytest.mark.parametrize('program, unit, wanted_by', [
    ('restore', 'netops-docker-user.service', 'docker.service'),
    ('firewalld_watch', 'netops-docker-firewalld-watch.service', 'firewalld.service'),
    ('publish', 'netops-docker-publish.service', 'multi-user.target')])
def test_the_unit_is_installed_from_the_layout_and_enabled(run_module, host, program, unit, wanted_by):
    result = run(run_module, program=program, commands=installing(unit))
    assert (result['unit'], result['unit_changed']) == (unit, True)
    assert result['commands'] == [RELOAD, enable(unit)]
    with open(str(host['units'] / unit)) as handle:
        text = handle.read()
    assert text == units.unit_text(program)
    assert '\nWantedBy=%s\n' % wanted_by in text and '\nExecStart=%s' % layout.PROGRAMS[program][0] in text
    assert os.stat(str(host['units'] / unit)).st_mode & 0o7777 == 0o644


def test_a_unit_file_changed_by_hand_is_rewritten_and_systemd_reloaded_only(run_module, host):
    install(run_module, 'restore')
    unit = host['units'] / 'netops-docker-user.service'
    unit.write_text(unit.read_text().replace('Before=docker.service\n', ''))
    result = run(run_module, program='restore', commands=[Call(RELOAD)])
    assert result['changed'] and result['unit_changed'] and result['written'] == [str(unit)]
    assert unit.read_text() == units.unit_text('restore')


def test_a_disabled_unit_is_enabled_again_without_a_reload(run_module, host):
    install(run_module, 'restore')
    os.unlink(units.enabled_link('restore'))
    result = run(run_module, program='restore', commands=[Call(enable('netops-docker-user.service'))])
    assert result['changed'] and not result['unit_changed'] and result['written'] == []


def stopped_while_installed(argv, paths):
    """systemctl stop/disable: the unit file and the program must still be there when it runs."""
    return Call(argv, holds=lambda: all(os.path.exists(path) for path in paths))


def test_absent_stops_and_disables_the_unit_before_its_files_go_then_reloads(run_module, host):
    install(run_module, 'publish')
    unit = 'netops-docker-publish.service'
    paths = [str(host['units'] / unit), host['programs']['publish'][0]]
    result = run(run_module, program='publish', state='absent',
                 commands=[stopped_while_installed([SYSTEMCTL, 'stop', unit], paths),
                           stopped_while_installed([SYSTEMCTL, 'disable', unit], paths), Call(RELOAD)])
    assert result['changed'] and result['unit_changed']
    assert not any(os.path.exists(path) for path in paths)


def test_check_mode_absent_reports_the_commands_and_runs_none(run_module, host):
    install(run_module, 'restore')
    result = run(run_module, check_mode=True, program='restore', state='absent')
    unit = 'netops-docker-user.service'
    assert result['commands'] == [[SYSTEMCTL, 'stop', unit], [SYSTEMCTL, 'disable', unit], RELOAD]
    assert (host['units'] / unit).exists() and os.path.exists(host['programs']['restore'][0])


def test_absent_where_nothing_was_installed_runs_nothing(run_module, host):
    result = run(run_module, program='firewalld_watch', state='absent')
    assert not result['changed'] and result['commands'] == [] and result['removed'] == []


def test_a_failed_systemctl_fails_the_task_with_its_output(run_module, host):
    unit = 'netops-docker-user.service'
    result = run(run_module, program='restore',
                 commands=[Call(RELOAD), Call(enable(unit), rc=1, stderr='Failed to enable unit: Access denied\n')])
    assert result['failed'] and result['msg'] == 'enable %s failed: Failed to enable unit: Access denied' % unit
    assert (result['cmd'], result['rc']) == (enable(unit), 1)
