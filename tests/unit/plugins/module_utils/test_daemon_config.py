# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""daemon.json: parse, merge, validate, render."""

import json

import pytest

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    K8S_PRESET,
    ConfigError,
    changed_keys,
    check_conflicts,
    check_types,
    docker_major,
    merge,
    needs_restart,
    parse_existing,
    preset_settings,
    render,
    unit_flags,
)

PATH = '/etc/docker/daemon.json'


@pytest.mark.parametrize('text, expected', [
    (None, {}),
    ('', {}),
    ('  \n', {}),
    ('{}', {}),
    ('{"debug": true}', {'debug': True}),
])
def test_parse_existing(text, expected):
    assert parse_existing(text, PATH) == expected


def test_merge_keeps_other_keys_and_merges_log_opts_by_key():
    current = {'registry-mirrors': ['https://m.example'], 'log-opts': {'max-size': '10m', 'labels': 'a'}}
    merged = merge(current, {'log-opts': {'max-size': '100m'}, 'debug': False})
    assert merged == {'registry-mirrors': ['https://m.example'], 'debug': False,
                      'log-opts': {'max-size': '100m', 'labels': 'a'}}
    assert current['log-opts']['max-size'] == '10m'


def test_merge_replaces_lists_and_removes_keys():
    merged = merge({'dns': ['192.0.2.1'], 'debug': True}, {'dns': ['192.0.2.2']}, remove_keys=['debug', 'absent'])
    assert merged == {'dns': ['192.0.2.2']}


def test_exclusive_keeps_only_the_declared_settings():
    assert merge({'debug': True, 'mtu': 1400}, {'mtu': 1500}, exclusive=True) == {'mtu': 1500}


def test_k8s_preset_is_valid_and_keeps_docker_out_of_iptables():
    assert check_types(K8S_PRESET) == []
    check_conflicts(K8S_PRESET, 20, ['-H', '--containerd'])
    assert K8S_PRESET['iptables'] is False and K8S_PRESET['ip-masq'] is False and K8S_PRESET['bridge'] == 'none'


def test_preset_keys_are_overridable_one_by_one():
    config = merge(K8S_PRESET, {'log-opts': {'max-size': '200m'}, 'ipv6': True})
    assert config['log-opts'] == {'max-file': '10', 'max-size': '200m'}
    assert config['ipv6'] is True and config['iptables'] is False


def test_render_is_stable_pretty_json():
    text = render({'b': 1, 'a': {'y': '1', 'x': '2'}})
    assert text == '{\n  "a": {\n    "x": "2",\n    "y": "1"\n  },\n  "b": 1\n}\n'
    assert json.loads(text) == {'b': 1, 'a': {'y': '1', 'x': '2'}}


def test_unknown_keys_are_reported_not_rejected_by_the_type_check():
    assert check_types({'debug': True, 'no-such-key': 1, 'another': 'x'}) == ['another', 'no-such-key']


@pytest.mark.parametrize('changed, expected', [
    ([], 'none'),
    (['debug', 'live-restore'], 'reload'),
    (['debug', 'iptables'], 'restart'),
])
def test_restart_or_reload(changed, expected):
    assert needs_restart(changed) == expected


def test_changed_keys():
    assert changed_keys({'a': 1, 'b': 2}, {'b': 3, 'c': 4}) == ['a', 'b', 'c']


def test_unit_flags_from_systemctl_show():
    show = ('ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// '
            '--containerd=/run/containerd/containerd.sock ; ignore_errors=no ; start_time=[n/a] }')
    assert unit_flags(show) == ['-H', '--containerd']


@pytest.mark.parametrize('text, major', [
    ('Docker version 20.10.24+dfsg1, build 297e128', 20),
    ('Docker version 28.5.2+dfsg4, build 1234', 28),
    ('', None),
])
def test_docker_major(text, major):
    assert docker_major(text) == major


# --- bad input: each a clear error naming the key (or the file) -----------------------------------

BAD_FILES = [
    ('trailing comma', '{"debug": true,}'),
    ('byte order mark', '\ufeff{"debug": true}'),
    ('a list', '[1, 2]'),
    ('a string', '"iptables"'),
    ('a number', '42'),
    ('null', 'null'),
    ('comments', '{"debug": true} // why'),
    ('single quotes', "{'debug': true}"),
    ('truncated', '{"log-opts": {"max-size": "10m"'),
    ('not UTF-8', b'{"labels": ["caf\xe9"]}'.decode('utf-8', 'surrogateescape')),
]


@pytest.mark.parametrize('label, text', BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_existing_files_are_refused(label, text):
    with pytest.raises(ConfigError) as error:
        parse_existing(text, PATH)
    assert error.value.field == PATH


BAD_SETTINGS = [
    ('iptables', {'iptables': 'false'}),
    ('iptables', {'iptables': 0}),
    ('live-restore', {'live-restore': 'yes'}),
    ('mtu', {'mtu': '1500'}),
    ('mtu', {'mtu': True}),
    ('dns', {'dns': '192.0.2.53'}),
    ('dns', {'dns': [53]}),
    ('log-opts.max-file', {'log-opts': {'max-file': 10}}),
    ('log-opts', {'log-opts': 'max-size=10m'}),
    ('log-opts.max-size', {'log-opts': {'max-size': '100 MB'}}),
    ('log-opts.max-size', {'log-opts': {'max-size': '-1m'}}),
    ('log-opts.max-file', {'log-opts': {'max-file': '0'}}),
    ('log-opts.max-file', {'log-opts': {'max-file': 'ten'}}),
    ('log-level', {'log-level': 'verbose'}),
    ('data-root', {'data-root': ['/var/lib/docker']}),
    ('default-address-pools', {'default-address-pools': {'base': '198.51.100.0/24'}}),
    ('features', {'features': ['buildkit']}),
    ('hosts', {'hosts': 'unix:///var/run/docker.sock'}),
    ('data-root', {'data-root': 'relative/path'}),
    ('data-root', {'data-root': ''}),
    ('exec-root', {'exec-root': 'run/docker'}),
    ('pidfile', {'pidfile': 'docker.pid'}),
    ('userland-proxy-path', {'userland-proxy-path': 'docker-proxy'}),
    ('tlscert', {'tlscert': '~/.docker/cert.pem'}),
    ('cdi-spec-dirs', {'cdi-spec-dirs': ['/etc/cdi', 'var/run/cdi']}),
    ('seccomp-profile', {'seccomp-profile': 'profile.json'}),
    ('firewall-backend', {'firewall-backend': 'nft'}),
    ('firewall-backend', {'firewall-backend': 'NFTABLES'}),
    ('firewall-backend', {'firewall-backend': True}),
    ('bridge-accept-fwmark', {'bridge-accept-fwmark': 'mark'}),
    ('bridge-accept-fwmark', {'bridge-accept-fwmark': '0x1/0x100000000'}),
    ('bridge-accept-fwmark', {'bridge-accept-fwmark': '-1'}),
    ('allow-direct-routing', {'allow-direct-routing': 'true'}),
]


@pytest.mark.parametrize('field, settings', BAD_SETTINGS, ids=['%s=%r' % b for b in BAD_SETTINGS])
def test_wrong_types_are_refused_naming_the_key(field, settings):
    with pytest.raises(ConfigError) as error:
        check_types(settings)
    assert error.value.field == field
    assert str(error.value).startswith(field + ': ')


NESTED_BAD = [
    ({'max-size': 5}, 'max-size', 5),
    ({'max-size': '10m', 'max-file': 10}, 'max-file', 10),
    ({'max-size': None}, 'max-size', None),
    ({'max-size': True}, 'max-size', True),
    ({'labels': ['a', 'b']}, 'labels', ['a', 'b']),
    ({'tag': {'name': 'x'}}, 'tag', {'name': 'x'}),
]


@pytest.mark.parametrize('log_opts, member, value', NESTED_BAD, ids=[repr(b[0]) for b in NESTED_BAD])
def test_a_bad_nested_value_is_named_by_its_dotted_key_with_its_value(log_opts, member, value):
    with pytest.raises(ConfigError) as error:
        check_types({'log-opts': log_opts})
    assert error.value.field == 'log-opts.' + member
    assert error.value.value == value
    assert str(error.value).startswith('log-opts.%s: %s is not valid: expected a JSON string' % (member, json.dumps(value)))


def test_a_bad_nested_value_in_the_current_file_is_named_after_a_merge():
    merged = merge({'log-opts': {'max-size': 5}}, {'log-opts': {'max-file': '3'}})
    with pytest.raises(ConfigError) as error:
        check_types(merged)
    assert str(error.value) == 'log-opts.max-size: 5 is not valid: expected a JSON string (dockerd reads every value of "log-opts" as a string)'


CONFLICTS = [
    ('bip', {'bridge': 'none', 'bip': '198.51.100.1/24'}, 20, []),
    ('bip', {'bridge': 'br0', 'bip': '198.51.100.1/24'}, 26, []),
    ('fixed-cidr', {'bridge': 'none', 'fixed-cidr': '198.51.100.0/25'}, 26, []),
    ('ip-forward-no-drop', {'ip-forward-no-drop': True}, 26, []),
    ('ip-forward-no-drop', {'ip-forward-no-drop': True}, 20, []),
    ('hosts', {'hosts': ['unix:///var/run/docker.sock']}, 26, ['-H', '--containerd']),
    ('containerd', {'containerd': '/run/containerd/containerd.sock'}, 28, ['-H', '--containerd']),
    ('data-root', {'data-root': '/srv/docker'}, 28, ['--data-root']),
    ('firewall-backend', {'firewall-backend': 'nftables'}, 28, []),
    ('bridge-accept-fwmark', {'bridge-accept-fwmark': '0x1'}, 26, []),
    ('allow-direct-routing', {'allow-direct-routing': True}, 26, []),
]


@pytest.mark.parametrize('field, config, major, flags', CONFLICTS, ids=[c[0] for c in CONFLICTS])
def test_conflicts_are_refused(field, config, major, flags):
    with pytest.raises(ConfigError) as error:
        check_conflicts(config, major, flags)
    assert error.value.field == field


def test_ip_forward_no_drop_is_fine_on_docker_28():
    check_conflicts({'ip-forward-no-drop': True}, 28, [])


@pytest.mark.parametrize('major, ip6tables', [(20, None), (26, None), (28, False), (None, None)])
def test_k8s_preset_turns_ip6tables_off_where_docker_defaults_it_on(major, ip6tables):
    assert preset_settings('k8s', major).get('ip6tables') is ip6tables
    assert preset_settings('none', major) == {}


@pytest.mark.parametrize('settings', [
    {'data-root': '/srv/docker', 'seccomp-profile': 'builtin', 'cdi-spec-dirs': ['/etc/cdi']},
    {'seccomp-profile': 'unconfined'},
    {'firewall-backend': 'nftables', 'bridge-accept-fwmark': '0x1/0x1'},
    {'firewall-backend': 'iptables', 'bridge-accept-fwmark': '4294967295'},
])
def test_docker_29_keys_and_absolute_paths_pass(settings):
    assert check_types(settings) == []
    check_conflicts(settings, 29, [])
