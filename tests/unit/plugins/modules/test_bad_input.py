# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input corpus run through the modules themselves: every case fails with a message that
names the field and the value, and leaves the host as it was - no iptables command at all (the
input is refused before the rules are read), and daemon.json byte-identical."""

import os

import pytest

from plugins.module_utils.test_daemon_config import BAD_FILES, BAD_SETTINGS, CONFLICTS
from plugins.module_utils.test_blocks import BAD_ALLOWLISTS
from fake_runner import Call
from plugins.modules.test_daemon_json import UNIT, VERSION_20, VERSION_28
from ansible_collections.netops.docker_firewall.plugins.modules import (
    daemon_json,
    docker_user_accept,
    docker_user_allowlist,
    docker_user_chain,
)

VERSION_26 = Call(['/usr/sbin/dockerd', '--version'], stdout='Docker version 26.1.5+dfsg1, build a72d7cd\n')
VERSIONS = {20: VERSION_20, 26: VERSION_26, 28: VERSION_28}


def _allowlist_args(override):
    args = dict(interface='eth0', sources=['198.51.100.0/24'])
    args.update(override)
    return args


def _named_value(override, field):
    value = override[field]
    return value[0] if isinstance(value, list) else value


@pytest.mark.parametrize('field, override', BAD_ALLOWLISTS, ids=[repr(c[1]) for c in BAD_ALLOWLISTS])
def test_allowlist_module_refuses_before_reading_the_rules(run_module, field, override):
    if field == 'ports' and override['ports'] == [True]:
        pytest.skip('the argument spec turns a boolean into the string "True", refused as a port below')
    result, table = run_module(docker_user_allowlist.main, _allowlist_args(override), [])
    assert result['failed'] is True
    if field == 'protocol':
        # Refused by the argument spec's choices, in Ansible's words.
        assert 'protocol' in result['msg'] and override['protocol'] in result['msg']
    else:
        assert result['field'] == field
        assert repr(_named_value(override, field)) in result['msg']
    assert table.ran == []


def test_allowlist_module_refuses_a_boolean_port_as_text(run_module):
    result, table = run_module(docker_user_allowlist.main, _allowlist_args(dict(ports=[True])), [])
    assert result['failed'] is True and result['field'] == 'ports' and "'True'" in result['msg']
    assert table.ran == []


@pytest.mark.parametrize('args, field', [
    (dict(in_interface='', out_interface='eth0'), 'in_interface'),
    (dict(in_interface='wg 0', out_interface='eth0'), 'in_interface'),
    (dict(in_interface='wg0', out_interface='x' * 16), 'out_interface'),
    (dict(in_interface='wg0', out_interface='wg0'), 'out_interface'),
    (dict(in_interface='wg0', out_interface='eth0\n-A FORWARD -j ACCEPT'), 'out_interface'),
    (dict(in_interface='wg0;', out_interface='eth0'), 'in_interface'),
])
def test_accept_module_refuses_before_reading_the_rules(run_module, args, field):
    result, table = run_module(docker_user_accept.main, args, [])
    assert result['failed'] is True and result['field'] == field
    assert repr(args[field]) in result['msg']
    assert table.ran == []


@pytest.mark.parametrize('args, field', [
    (dict(accept=[dict(in_interface='wg0', out_interface='eth0')] * 2), 'accept[1]'),
    (dict(allowlists=[dict(interface='eth0', sources=[])] * 2), 'allowlists[1].interface'),
    (dict(allowlists=[dict(interface='eth0', sources=['::ffff:198.51.100.1'])]), 'sources'),
    (dict(allowlists=[dict(interface='br-0123456789ab', sources=['198.51.100.1'])]), 'interface'),
    (dict(allowlists=[dict(interface='eth0', sources=['198.51.100.1'], ports=['8080-80'])]), 'ports'),
])
def test_chain_module_refuses_before_reading_the_rules(run_module, args, field):
    result, table = run_module(docker_user_chain.main, args, [])
    assert result['failed'] is True and result['field'] == field
    assert table.ran == []


EXISTING = '{\n  "debug": false\n}\n'


@pytest.mark.parametrize('field, settings', BAD_SETTINGS, ids=['%s=%r' % b for b in BAD_SETTINGS])
def test_daemon_json_refuses_bad_settings_and_keeps_the_file(run_module, tmp_path, field, settings):
    path = tmp_path / 'daemon.json'
    path.write_text(EXISTING)
    result, table = run_module(daemon_json.main, dict(path=str(path), settings=settings), [VERSION_28])
    assert result['failed'] is True and result['field'] == field
    assert result['msg'].startswith('%s: ' % field) and ' is not valid: ' in result['msg']
    assert path.read_text() == EXISTING and os.listdir(str(tmp_path)) == ['daemon.json']


@pytest.mark.parametrize('field, config, major, flags', [c for c in CONFLICTS if not c[3]],
                         ids=[c[0] for c in CONFLICTS if not c[3]])
def test_daemon_json_refuses_keys_the_installed_docker_lacks(run_module, tmp_path, field, config, major, flags):
    path = tmp_path / 'daemon.json'
    path.write_text(EXISTING)
    result, table = run_module(daemon_json.main, dict(path=str(path), settings=config), [VERSIONS[major], UNIT])
    assert result['failed'] is True and result['field'] == field
    assert path.read_text() == EXISTING


@pytest.mark.parametrize('label, text', BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_daemon_json_never_rewrites_an_unreadable_file(run_module, tmp_path, label, text):
    path = tmp_path / 'daemon.json'
    raw = text.encode('utf-8', 'surrogateescape')
    path.write_bytes(raw)
    result, table = run_module(daemon_json.main, dict(path=str(path), settings={'debug': True}), [])
    assert result['failed'] is True and result['field'] == str(path)
    assert path.read_bytes() == raw
