# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""compliance_report_files: the fleet report's files, rendered and written on the controller, with no module
run (one per file costs about a second on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.netops.docker_firewall.plugins.plugin_utils._compliance_report_files import FILES, render

ARGUMENT_SPEC = dict(
    report=dict(type='dict', required=True),
    dest=dict(type='path', required=True),
    formats=dict(type='list', elements='str', choices=sorted(FILES), default=['json', 'markdown', 'html', 'junit']),
)
REPORT_KEYS = ('compliant', 'totals', 'checks', 'hosts')


def _read(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def _write(path, text):
    """Replaces path with text at once (a reader never sees half a report), mode 0644."""
    handle, staged = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(text.encode('utf-8'))
        os.chmod(staged, 0o644)
        os.rename(staged, path)
    except BaseException:
        if os.path.exists(staged):
            os.unlink(staged)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        report, dest = args['report'], args['dest']
        missing = [key for key in REPORT_KEYS if key not in report]
        if missing:
            raise AnsibleActionFail('report: not a fleet report (the compliance_report filter builds one): it has no %s'
                                    % ', '.join(missing))
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise AnsibleActionFail('dest: %s exists and is no directory' % dest)
        files, changed, diffs = [], [], []
        for file_format in [name for name in sorted(FILES) if name in args['formats']]:
            path = os.path.join(dest, FILES[file_format])
            text, before = render(report, file_format), _read(path)
            files.append(path)
            if text != before:
                changed.append(path)
                diffs.append(dict(before_header=path, after_header=path, before=before or '', after=text))
        if changed and not self._task.check_mode:
            try:
                if not os.path.isdir(dest):
                    os.makedirs(dest, 0o755)
                for path, diff in zip(changed, diffs):
                    _write(path, diff['after'])
            except (IOError, OSError) as exc:
                raise AnsibleActionFail('dest: the report cannot be written to %s: %s' % (dest, exc))
        result.update(changed=bool(changed), dest=dest, files=files, written=changed)
        if self._task.diff and diffs:
            result['diff'] = diffs
        return result
