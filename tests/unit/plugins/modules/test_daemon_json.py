# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""daemon_json: the commands it runs, the file it writes, and what it refuses."""

import json
import os

import pytest

from fake_runner import Call, Unstated
from ansible_collections.netops.docker_firewall.plugins.modules import daemon_json

VERSION_20 = Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 20.10.24+dfsg1, build 5d6db84\n')
VERSION_28 = Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 28.5.2+dfsg4, build 1234\n')
UNIT = Call(['/usr/sbin/systemctl', 'show', '--property=ExecStart', 'docker.service'],
            stdout='ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// '
                   '--containerd=/run/containerd/containerd.sock ; ignore_errors=no }\n')


def validate(rc=0, stdout='configuration OK\n'):
    """dockerd --validate on a temporary file whose name the module chooses."""
    return Call(['/usr/sbin/dockerd', '--validate', '--config-file', Unstated('a temporary file')], rc=rc, stdout=stdout)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / 'daemon.json')


def test_preset_on_docker_28_is_validated_written_and_needs_a_restart(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path, preset='k8s'), [VERSION_28, UNIT, validate()])
    assert result['changed'] is True
    assert result['restart'] == 'restart' and result['restart_needed'] is True
    assert result['validated_by'] == ['types', 'conflicts', 'dockerd --validate']
    with open(path) as handle:
        written = json.load(handle)
    assert written == result['config']
    assert written['iptables'] is False and written['ip6tables'] is False
    assert oct(os.stat(path).st_mode & 0o777) == '0o644'


def test_docker_20_has_no_validate_flag_so_only_our_checks_run(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path, preset='k8s'), [VERSION_20, UNIT])
    assert result['validated_by'] == ['types', 'conflicts']
    assert 'ip6tables' not in result['config']


def test_converged_file_is_left_alone_even_when_laid_out_differently(run_module, path):
    with open(path, 'w') as handle:
        handle.write('{"debug":false,"log-level":"warn"}')
    result, table = run_module(daemon_json.main, dict(path=path, settings={'log-level': 'warn'}), [VERSION_28, UNIT])
    assert result['changed'] is False and result['restart'] == 'none'
    with open(path) as handle:
        assert handle.read() == '{"debug":false,"log-level":"warn"}'


def test_reloadable_change_asks_for_a_reload(run_module, path):
    with open(path, 'w') as handle:
        handle.write('{"debug": false}')
    result, table = run_module(daemon_json.main, dict(path=path, settings={'debug': True}), [VERSION_28, UNIT, validate()])
    assert result['restart'] == 'reload' and result['restart_needed'] is False


def test_check_mode_validates_but_writes_nothing(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path, preset='k8s'), [VERSION_28, UNIT, validate()],
                               check_mode=True, diff=True)
    assert result['changed'] is True
    assert not os.path.exists(path)
    assert json.loads(result['diff']['after']) == result['config']
    assert result['diff']['before'] == ''


def test_dockerd_validate_rejection_writes_nothing(run_module, path):
    with open(path, 'w') as handle:
        handle.write('{"debug": false}\n')
    result, table = run_module(daemon_json.main, dict(path=path, settings={'debug': True}), [
        VERSION_28, UNIT, validate(rc=1, stdout='unable to configure the Docker daemon with file /tmp/x: bad'),
    ])
    assert result['failed'] is True and 'dockerd --validate rejected' in result['msg']
    with open(path) as handle:
        assert handle.read() == '{"debug": false}\n'


@pytest.mark.parametrize('existing', ['{"debug": true,}', '\ufeff{}', '[]', 'null', '{"a": 1} trailing'])
def test_invalid_existing_file_is_never_clobbered(run_module, path, existing):
    with open(path, 'w') as handle:
        handle.write(existing)
    result, table = run_module(daemon_json.main, dict(path=path, settings={'debug': True}), [])
    assert result['failed'] is True and result['field'] == path
    with open(path) as handle:
        assert handle.read() == existing


def test_replace_invalid_replaces_it(run_module, path):
    with open(path, 'w') as handle:
        handle.write('{"debug": true,}')
    result, table = run_module(daemon_json.main, dict(path=path, settings={'debug': True}, replace_invalid=True),
                               [VERSION_28, UNIT, validate()])
    assert result['changed'] is True and result['config'] == {'debug': True}


@pytest.mark.parametrize('settings, field, commands', [
    # Types and unknown keys are refused before the unit is even read.
    ({'iptables': 'false'}, 'iptables', [VERSION_20]),
    ({'no-such-key': True}, 'no-such-key', [VERSION_20]),
    ({'hosts': ['tcp://192.0.2.1:2375']}, 'hosts', [VERSION_20, UNIT]),
    ({'ip-forward-no-drop': True}, 'ip-forward-no-drop', [VERSION_20, UNIT]),
    ({'bridge': 'none', 'bip': '198.51.100.1/24'}, 'bip', [VERSION_20, UNIT]),
    ({'log-opts': {'max-size': 5}}, 'log-opts.max-size', [VERSION_20]),
    ({'log-opts': {'max-size': 'invalid'}}, 'log-opts.max-size', [VERSION_20]),
])
def test_bad_settings_fail_naming_the_key_and_write_nothing(run_module, path, settings, field, commands):
    result, table = run_module(daemon_json.main, dict(path=path, settings=settings), commands)
    assert result['failed'] is True and result['field'] == field
    assert not os.path.exists(path)


@pytest.mark.parametrize('max_size, shown', [(5, '5'), ('invalid', '"invalid"')])
def test_a_bad_log_opts_value_fails_naming_the_dotted_key_and_the_value(run_module, path, max_size, shown):
    result, table = run_module(daemon_json.main, dict(path=path, settings={'log-opts': {'max-size': max_size}}),
                               [VERSION_20])
    assert result['failed'] is True and result['field'] == 'log-opts.max-size'
    assert result['msg'].startswith('log-opts.max-size: %s is not valid: ' % shown)
    assert not os.path.exists(path)


def test_replace_invalid_replaces_it_even_with_nothing_to_set(run_module, path):
    with open(path, 'w') as handle:
        handle.write('[]')
    result, table = run_module(daemon_json.main, dict(path=path, replace_invalid=True), [VERSION_28, UNIT, validate()])
    assert result['changed'] is True
    with open(path) as handle:
        assert json.load(handle) == {}


def test_unknown_keys_pass_when_allowed(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path, settings={'new-option': 1}, allow_unknown_keys=True),
                               [VERSION_28, UNIT, validate()])
    assert result['changed'] is True and result['unknown_keys'] == ['new-option']


def test_backup_keeps_the_previous_file(run_module, path):
    with open(path, 'w') as handle:
        handle.write('{"debug": false}\n')
    result, table = run_module(daemon_json.main, dict(path=path, settings={'debug': True}, backup=True),
                               [VERSION_28, UNIT, validate()])
    with open(result['backup_file']) as handle:
        assert handle.read() == '{"debug": false}\n'


def test_missing_file_and_nothing_to_set_stays_missing(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path), [VERSION_28, UNIT])
    assert result['changed'] is False and not os.path.exists(path)


@pytest.mark.parametrize('errno_, strerror', [(28, 'No space left on device'), (30, 'Read-only file system')])
def test_a_failed_write_is_a_clear_error_and_leaves_the_file_and_directory(run_module, path, monkeypatch,
                                                                           errno_, strerror):
    with open(path, 'w') as handle:
        handle.write('{"log-level": "warn"}\n')
    before = sorted(os.listdir(os.path.dirname(path)))
    real_fsync = os.fsync

    def failing_fsync(fd):
        real_fsync(fd)
        raise OSError(errno_, strerror)

    monkeypatch.setattr(os, 'fsync', failing_fsync)
    result, table = run_module(daemon_json.main, dict(path=path, settings={'log-level': 'info'}), [VERSION_20, UNIT])
    assert result['failed'] is True
    assert result['msg'] == '%s could not be written: %s; it was left as it was' % (path, strerror)
    with open(path) as handle:
        assert handle.read() == '{"log-level": "warn"}\n'
    assert sorted(os.listdir(os.path.dirname(path))) == before


def test_the_docker_major_it_read_is_returned_for_the_roles_to_decide_from(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path), [VERSION_28, UNIT], check_mode=True)
    assert result['docker_major'] == 28 and result['docker_version'] == 'Docker version 28.5.2+dfsg4, build 1234'
    result, table = run_module(daemon_json.main, dict(path=path), [VERSION_20, UNIT], check_mode=True)
    assert result['docker_major'] == 20


def test_allow_direct_routing_needs_docker_28_and_its_removal_needs_nothing(run_module, path):
    result, table = run_module(daemon_json.main, dict(path=path, settings={'allow-direct-routing': True}),
                               [VERSION_20, UNIT], check_mode=True)
    assert result['failed'] is True and result['field'] == 'allow-direct-routing'
    assert result['msg'].endswith('needs Docker 28 or later; this host runs Docker 20')
    with open(path, 'w') as handle:
        handle.write('{"allow-direct-routing": true, "userland-proxy": false}')
    result, table = run_module(daemon_json.main, dict(path=path, remove_keys=['allow-direct-routing']),
                               [VERSION_28, UNIT, validate()])
    assert result['changed'] is True and result['changed_keys'] == ['allow-direct-routing']
    assert result['restart'] == 'restart' and result['config'] == {'userland-proxy': False}
