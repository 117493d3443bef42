# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""daemon.json: parse, merge, validate and render. Private to this collection. Pure: no host
access, no Ansible imports. The module (plugins/modules/daemon_json.py) does the I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import (
    DIRECT_ROUTING_SINCE,
    FIREWALL_BACKENDS,
)

# The settings a Kubernetes node needs so that Docker keeps out of iptables (kube-proxy owns it).
K8S_PRESET = {
    'bridge': 'none',
    'data-root': '/var/lib/docker',
    'debug': False,
    'experimental': False,
    'ip-forward': True,
    'ip-masq': False,
    'iptables': False,
    'ipv6': False,
    'live-restore': True,
    'log-driver': 'json-file',
    'log-level': 'warn',
    'log-opts': {'max-file': '10', 'max-size': '100m'},
}
PRESETS = {'none': {}, 'k8s': K8S_PRESET}

# Docker 27 and later write ip6tables rules by default: a k8s node wants them off too.
IP6TABLES_DEFAULT_ON_SINCE = 27


def preset_settings(name, major=None):
    """The preset's settings for the installed Docker major version (None if unknown)."""
    settings = copy.deepcopy(PRESETS[name])
    if name == 'k8s' and major is not None and major >= IP6TABLES_DEFAULT_ON_SINCE:
        settings['ip6tables'] = False
    return settings


# Objects whose keys are merged one by one instead of replaced as a whole.
MERGED_OBJECTS = ('log-opts', 'features', 'runtimes', 'default-ulimits')

# Keys dockerd re-reads on SIGHUP (systemctl reload docker); anything else needs a restart.
RELOADABLE = frozenset((
    'debug', 'labels', 'live-restore', 'max-concurrent-downloads', 'max-concurrent-uploads',
    'max-download-attempts', 'default-runtime', 'runtimes', 'authorization-plugins',
    'insecure-registries', 'registry-mirrors', 'shutdown-timeout', 'features', 'builder',
    'default-shm-size', 'default-ipc-mode', 'default-cgroupns-mode',
))

_SIZE = re.compile(r'[0-9]+[kmg]?')
_BOOL, _STR, _INT, _STR_LIST, _STR_DICT, _DICT, _LIST = 'boolean', 'string', 'integer', \
    'list of strings', 'object of strings', 'object', 'list'

# JSON types of the daemon.json keys this module knows (dockerd's own names).
KNOWN_KEYS = {
    'allow-nondistributable-artifacts': _STR_LIST, 'authorization-plugins': _STR_LIST, 'bip': _STR,
    'bip6': _STR, 'bridge': _STR, 'builder': _DICT, 'cdi-spec-dirs': _STR_LIST, 'cgroup-parent': _STR,
    'containerd': _STR, 'containerd-namespace': _STR, 'containerd-plugins-namespace': _STR, 'data-root': _STR,
    'debug': _BOOL, 'default-address-pools': _LIST, 'default-cgroupns-mode': _STR, 'default-gateway': _STR,
    'default-gateway-v6': _STR, 'default-ipc-mode': _STR, 'default-network-opts': _DICT, 'default-runtime': _STR,
    'default-shm-size': _STR, 'default-ulimits': _DICT, 'dns': _STR_LIST, 'dns-opts': _STR_LIST,
    'dns-search': _STR_LIST, 'exec-opts': _STR_LIST, 'exec-root': _STR, 'experimental': _BOOL,
    'features': _DICT, 'fixed-cidr': _STR, 'fixed-cidr-v6': _STR, 'group': _STR, 'host-gateway-ip': _STR,
    'hosts': _STR_LIST, 'icc': _BOOL, 'init': _BOOL, 'init-path': _STR, 'insecure-registries': _STR_LIST,
    'ip': _STR, 'ip-forward': _BOOL, 'ip-forward-no-drop': _BOOL, 'ip-masq': _BOOL, 'ip6tables': _BOOL,
    'iptables': _BOOL, 'ipv6': _BOOL, 'labels': _STR_LIST, 'live-restore': _BOOL, 'log-driver': _STR,
    'log-format': _STR, 'log-level': _STR, 'log-opts': _STR_DICT, 'max-concurrent-downloads': _INT,
    'max-concurrent-uploads': _INT, 'max-download-attempts': _INT, 'metrics-addr': _STR, 'mtu': _INT,
    'no-new-privileges': _BOOL, 'node-generic-resources': _STR_LIST, 'oom-score-adjust': _INT,
    'pidfile': _STR, 'raw-logs': _BOOL, 'registry-mirrors': _STR_LIST, 'runtimes': _DICT,
    'seccomp-profile': _STR, 'selinux-enabled': _BOOL, 'shutdown-timeout': _INT, 'storage-driver': _STR,
    'storage-opts': _STR_LIST, 'tls': _BOOL, 'tlscacert': _STR, 'tlscert': _STR, 'tlskey': _STR,
    'tlsverify': _BOOL, 'userland-proxy': _BOOL, 'userland-proxy-path': _STR, 'userns-remap': _STR,
    # Docker 28 and 29.
    'allow-direct-routing': _BOOL, 'bridge-accept-fwmark': _STR, 'firewall-backend': _STR,
    'host-gateway-ips': _STR_LIST, 'min-api-version': _STR, 'resolv-conf': _STR, 'default-init': _STR,
}
# Keys that name a file or directory: dockerd resolves a relative path against its own working
# directory (or refuses it only when it starts), so a relative one is refused here.
PATH_KEYS = ('data-root', 'exec-root', 'pidfile', 'userland-proxy-path', 'init-path', 'default-init',
             'tlscacert', 'tlscert', 'tlskey', 'resolv-conf', 'cdi-spec-dirs', 'seccomp-profile')
# seccomp-profile also takes these names instead of a path.
_SECCOMP_NAMES = ('builtin', 'unconfined')
LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
# Keys that need at least this Docker major version. allow-direct-routing exists from the Docker that
# drops direct routing to containers, which it lifts (_decisions.direct_routing_dropped).
MIN_VERSION = {'ip-forward-no-drop': 28, 'bip6': 28, 'allow-direct-routing': DIRECT_ROUTING_SINCE,
               'firewall-backend': 29, 'bridge-accept-fwmark': 29}


# dockerd flags (as in a systemd unit's ExecStart) and the daemon.json key each one sets.
FLAG_KEYS = {
    '-H': 'hosts', '--host': 'hosts', '--containerd': 'containerd', '--data-root': 'data-root',
    '-g': 'data-root', '--graph': 'data-root', '--log-level': 'log-level', '-l': 'log-level',
    '--bridge': 'bridge', '-b': 'bridge', '--bip': 'bip', '--iptables': 'iptables', '--ip-masq': 'ip-masq',
    '--ip-forward': 'ip-forward', '--ipv6': 'ipv6', '--live-restore': 'live-restore', '--debug': 'debug',
    '-D': 'debug', '--storage-driver': 'storage-driver', '-s': 'storage-driver', '--exec-opt': 'exec-opts',
    '--log-driver': 'log-driver', '--log-opt': 'log-opts', '--dns': 'dns', '--mtu': 'mtu',
    '--experimental': 'experimental', '--userland-proxy': 'userland-proxy', '--ip6tables': 'ip6tables',
}


class ConfigError(ValueError):
    """A problem with the configuration: names the key (or the file) and the value."""

    def __init__(self, field, value, reason):
        self.field = field
        self.value = value
        super(ConfigError, self).__init__('%s: %s is not valid: %s' % (field, json.dumps(value), reason))


def parse_existing(text, path):
    """The current file as an object. Empty or missing means {}; anything else must be an object."""
    if text is None or text.strip() == '':
        return {}
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        raise ConfigError(path, text.encode('utf-8', 'surrogateescape')[:60].decode('latin-1'),
                          'not UTF-8 text (dockerd reads daemon.json as UTF-8)')
    if text.startswith('\ufeff'):
        raise ConfigError(path, 'byte order mark', 'dockerd does not accept a UTF-8 byte order mark')
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(path, text[:60], 'not valid JSON (%s)' % exc)
    if not isinstance(data, dict):
        raise ConfigError(path, data, 'daemon.json must hold a JSON object')
    return data


def merge(current, settings, remove_keys=(), exclusive=False):
    """The new configuration: settings merged into current (objects in MERGED_OBJECTS by key),
    listed keys removed; with exclusive, exactly the settings."""
    result = {} if exclusive else copy.deepcopy(current)
    for key, value in settings.items():
        if key in MERGED_OBJECTS and isinstance(value, dict) and isinstance(result.get(key), dict):
            merged = dict(result[key])
            merged.update(value)
            result[key] = merged
        else:
            result[key] = copy.deepcopy(value)
    for key in remove_keys:
        result.pop(key, None)
    return result


def _type_error(key, value, expected):
    return ConfigError(key, value, 'expected a JSON %s' % expected)


def _check_string_object(key, value):
    """An object of strings (log-opts): a bad member is named by its dotted path, with its value."""
    if not isinstance(value, dict):
        raise _type_error(key, value, _STR_DICT)
    for member, member_value in sorted(value.items()):
        if not isinstance(member_value, str):
            raise ConfigError('%s.%s' % (key, member), member_value,
                              'expected a JSON string (dockerd reads every value of "%s" as a string)' % key)


def check_types(config):
    """JSON types of the keys we know; returns the keys we do not know."""
    unknown = []
    for key, value in config.items():
        expected = KNOWN_KEYS.get(key)
        if expected is None:
            unknown.append(key)
        elif expected == _BOOL and not isinstance(value, bool):
            raise _type_error(key, value, expected)
        elif expected == _STR and not isinstance(value, str):
            raise _type_error(key, value, expected)
        elif expected == _INT and (isinstance(value, bool) or not isinstance(value, int)):
            raise _type_error(key, value, expected)
        elif expected == _STR_LIST and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise _type_error(key, value, expected)
        elif expected == _STR_DICT:
            _check_string_object(key, value)
        elif expected == _DICT and not isinstance(value, dict):
            raise _type_error(key, value, expected)
        elif expected == _LIST and not isinstance(value, list):
            raise _type_error(key, value, expected)
    if 'log-level' in config and config['log-level'] not in LOG_LEVELS:
        raise ConfigError('log-level', config['log-level'], 'one of %s' % ', '.join(LOG_LEVELS))
    check_values(config)
    log_opts = config.get('log-opts', {})
    if 'max-size' in log_opts and not _SIZE.fullmatch(log_opts['max-size']):
        raise ConfigError('log-opts.max-size', log_opts['max-size'], 'a size such as "100m" (digits, then k, m or g)')
    if 'max-file' in log_opts and not (log_opts['max-file'].isdigit() and int(log_opts['max-file']) >= 1):
        raise ConfigError('log-opts.max-file', log_opts['max-file'], 'a positive number written as a string, e.g. "10"')
    return sorted(unknown)


def _check_path(key, value):
    if key == 'seccomp-profile' and value in _SECCOMP_NAMES:
        return
    if not value.startswith('/'):
        raise ConfigError(key, value, 'an absolute path is required (dockerd does not resolve a relative one '
                                      'the way it reads)')


def _check_fwmark(value):
    mark, _slash, mask = value.partition('/')
    for part in [mark] + ([mask] if _slash else []):
        try:
            number = int(part, 0)
        except ValueError:
            number = -1
        if not 0 <= number <= 0xFFFFFFFF:
            raise ConfigError('bridge-accept-fwmark', value, 'a firewall mark MARK or MARK/MASK, each a 32-bit '
                                                             'number (decimal, or hex with 0x)')


def check_values(config):
    """Values dockerd would accept by type but that cannot work: relative paths, unknown choices."""
    for key in PATH_KEYS:
        value = config.get(key)
        for path in (value if isinstance(value, list) else [value] if value is not None else []):
            _check_path(key, path)
    if 'firewall-backend' in config and config['firewall-backend'] not in FIREWALL_BACKENDS:
        raise ConfigError('firewall-backend', config['firewall-backend'], 'one of %s' % ', '.join(FIREWALL_BACKENDS))
    if 'bridge-accept-fwmark' in config:
        _check_fwmark(config['bridge-accept-fwmark'])


def check_conflicts(config, docker_major=None, unit_flags=()):
    """Contradictions dockerd would refuse, or that would make it fail at start."""
    bridge = config.get('bridge')
    if bridge is not None and config.get('bip') is not None:
        raise ConfigError('bip', config['bip'], 'cannot be set together with "bridge" (%s)' % json.dumps(bridge))
    if config.get('fixed-cidr') and bridge == 'none':
        raise ConfigError('fixed-cidr', config['fixed-cidr'], 'needs a bridge, but "bridge" is "none"')
    if docker_major is not None:
        for key, major in MIN_VERSION.items():
            if key in config and docker_major < major:
                raise ConfigError(key, config[key], 'needs Docker %d or later; this host runs Docker %d'
                                  % (major, docker_major))
    for flag in unit_flags:
        key = FLAG_KEYS.get(flag)
        if key is not None and key in config:
            raise ConfigError(key, config[key], 'the docker.service unit already sets it with %s; dockerd refuses '
                                                'to start when a setting is both a flag and in daemon.json' % flag)


def unit_flags(exec_start):
    """Flags of a dockerd command line (from `systemctl show -p ExecStart docker`)."""
    match = re.search(r'argv\[\]=(.*?)(?: ;|$)', exec_start)
    words = (match.group(1) if match else exec_start).split()
    return [word.split('=', 1)[0] for word in words if word.startswith('-')]


def docker_major(version_text):
    """20 from 'Docker version 20.10.24+dfsg1, build 297e128'; None if unknown."""
    match = re.search(r'version (\d+)\.', version_text or '')
    return int(match.group(1)) if match else None


def render(config):
    """The file content: stable, pretty, with a final newline."""
    return json.dumps(config, indent=2, sort_keys=True) + '\n'


def changed_keys(before, after):
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def needs_restart(keys):
    """'restart', 'reload' or 'none' for a set of changed keys."""
    if not keys:
        return 'none'
    return 'reload' if all(key in RELOADABLE for key in keys) else 'restart'
