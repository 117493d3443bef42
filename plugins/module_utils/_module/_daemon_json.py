# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the daemon_json module does: read daemon.json once, merge the wanted keys into it and check
the result (_daemon_config: types, conflicts; `dockerd --validate` where Docker has it), then write it
once, atomically (_daemon_host), unless in check mode or unchanged.

Private to this collection. The module only declares its options and returns this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import (
    ConfigError,
    changed_keys,
    check_conflicts,
    check_types,
    merge,
    needs_restart,
    parse_existing,
    preset_settings,
    render,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._daemon_host import (
    VALIDATE_SINCE,
    DaemonHost,
    WriteError,
)


def merged(module, host, text):
    """(current config, whether the file is replaced as invalid, new config, the wanted keys, the keys this
    module does not know, Docker's major version and version line). A key or file that is not valid fails the task."""
    p = module.params
    invalid = False
    try:
        try:
            current = parse_existing(text, p['path'])
        except ConfigError:
            if not p['replace_invalid']:
                raise
            current, invalid = {}, True
        major, version = host.docker_major()
        wanted = merge(preset_settings(p['preset'], major), p['settings'])
        config = merge(current, wanted, p['remove_keys'], p['exclusive'])
        unknown = check_types(config)
        for key in sorted(set(unknown) & set(wanted)):
            if not p['allow_unknown_keys']:
                raise ConfigError(key, wanted[key], 'not a daemon.json key this module knows (a typo?); set '
                                                    'allow_unknown_keys=true if your Docker knows it')
        check_conflicts(config, major, host.unit_flags())
    except ConfigError as exc:
        module.fail_json(msg=str(exc), field=exc.field, path=p['path'])
    return current, invalid, config, wanted, unknown, major, version


def daemon_json(module):
    """The module's result: daemon.json merged and checked, written where it changes (not in check mode)."""
    p = module.params
    host = DaemonHost(module)
    text = host.read(p['path'])
    current, invalid, config, wanted, unknown, major, version = merged(module, host, text)

    # A missing file with nothing to put in it stays missing; an empty or invalid file is replaced.
    changed = config != current or invalid or (text is not None and text.strip() == '')
    content = render(config)
    validated_by = ['types', 'conflicts']
    if changed and p['validate'] and major is not None and major >= VALIDATE_SINCE:
        ok, output = host.validate(content)
        if not ok:
            module.fail_json(msg='dockerd --validate rejected the new configuration: %s' % output,
                             path=p['path'], config=config)
        validated_by.append('dockerd --validate')
    for key in sorted(set(unknown) - set(wanted)):
        module.warn('%s: key %r is not known to this module; it was kept as it is' % (p['path'], key))

    keys = changed_keys(current, config)
    result = dict(
        changed=changed, path=p['path'], config=config, previous_config=current, changed_keys=keys,
        restart=needs_restart(keys), restart_needed=needs_restart(keys) == 'restart', existed=text is not None,
        unknown_keys=unknown, docker_version=version or '', docker_major=major, validated_by=validated_by,
    )
    if module._diff:
        result['diff'] = dict(before=text if text is not None else '', after=content,
                              before_header=p['path'], after_header=p['path'])
    if changed and not module.check_mode:
        try:
            backup_file = host.write(p['path'], content, p['backup'])
        except WriteError as exc:
            module.fail_json(msg=str(exc), path=p['path'], config=config)
        if backup_file:
            result['backup_file'] = backup_file
    return result
