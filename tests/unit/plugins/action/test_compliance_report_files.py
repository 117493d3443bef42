# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""compliance_report_files: the fleet report's files rendered and written on the controller, each only when it
changes; check mode writes nothing; a bad report or destination fails naming the option and writes nothing."""

import json
import os
from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader

from ansible_collections.netops.docker_firewall.plugins.action import compliance_report_files
from ansible_collections.netops.docker_firewall.plugins.filter.compliance import compliance_report

DRIFT = dict(id='docker_user_first', title='DOCKER-USER is first in FORWARD', status='fail',
             details=['-A FORWARD -s 203.0.113.7/32 -j ACCEPT <before> DOCKER-USER & "more"'])
KUBE = dict(id='kube_forwarding', title='kube-proxy forwards', status='skip', details=['not a Kubernetes node'])
REPORT = compliance_report({'r1': {'__compliance_result': {'profile': 'docker_on_router', 'checks': [DRIFT, KUBE]}},
                            'r2': {'__compliance_result': {'profile': 'docker_on_router',
                                                           'checks': [dict(DRIFT, status='pass', details=[]), KUBE]}},
                            'r3': {}}, ['r1', 'r2', 'r3'])
NAMES = ['compliance.html', 'compliance.json', 'compliance.junit.xml', 'compliance.md']


def run(args, check_mode=False, diff=False):
    task = MagicMock(args=args, async_val=0, check_mode=check_mode, diff=diff)
    connection = MagicMock(has_native_async=False)
    connection._shell.tmpdir = None
    plugin = compliance_report_files.ActionModule(task, connection, MagicMock(), DataLoader(), None, None)
    return plugin.run(task_vars={})


def snapshot(directory):
    return dict((name, (directory / name).read_bytes()) for name in sorted(os.listdir(str(directory))))


def test_the_four_files_are_written_in_a_new_directory_and_say_what_the_report_says(tmp_path):
    dest = tmp_path / 'reports' / 'fleet'
    result = run(dict(report=REPORT, dest=str(dest)))
    assert result['changed'] is True and result['files'] == [str(dest / name) for name in NAMES]
    assert result['written'] == result['files'] and sorted(os.listdir(str(dest))) == NAMES
    assert oct(os.stat(str(dest)).st_mode & 0o777) == '0o755'
    assert all(oct(os.stat(path).st_mode & 0o777) == '0o644' for path in result['files'])
    assert json.loads((dest / 'compliance.json').read_text()) == REPORT
    markdown = (dest / 'compliance.md').read_text()
    assert markdown.startswith('# Docker firewall compliance\n\n1 of 3 hosts compliant - the fleet drifted.\n')
    assert '| r1 | docker_on_router | **drifted** | docker_user_first |\n' in markdown
    assert '| r2 | docker_on_router | compliant |  |\n' in markdown
    assert '  - `-A FORWARD -s 203.0.113.7/32 -j ACCEPT <before> DOCKER-USER & "more"`\n' in markdown
    html = (dest / 'compliance.html').read_text()
    assert '<p class="summary drift" id="summary">1 of 3 hosts compliant</p>' in html
    assert ('<td class="fail" data-check="docker_user_first" title="-A FORWARD -s 203.0.113.7/32 -j ACCEPT '
            '&lt;before&gt; DOCKER-USER &amp; &#34;more&#34;">DRIFT</td>') in html
    junit = (dest / 'compliance.junit.xml').read_text()
    assert '<testsuites name="docker firewall compliance" tests="4" failures="1">' in junit
    assert '<testsuite name="r1" tests="2" failures="1" errors="0" skipped="1">' in junit
    assert '<testcase classname="r3" name="reachable"><error message="no result: the host was unreachable or failed"/>' in junit


def test_a_second_run_writes_nothing_and_other_files_are_left_alone(tmp_path):
    (tmp_path / 'notes.txt').write_text('kept\n')
    run(dict(report=REPORT, dest=str(tmp_path)))
    before = snapshot(tmp_path)
    result = run(dict(report=REPORT, dest=str(tmp_path)))
    assert result['changed'] is False and result['written'] == [] and snapshot(tmp_path) == before
    assert before['notes.txt'] == b'kept\n'


def test_check_mode_says_what_would_change_with_a_diff_and_writes_nothing(tmp_path):
    dest = tmp_path / 'new'
    result = run(dict(report=REPORT, dest=str(dest), formats=['markdown']), check_mode=True, diff=True)
    assert result['changed'] is True and result['written'] == [str(dest / 'compliance.md')]
    assert not dest.exists()
    assert [(d['before'], d['after'].splitlines()[0]) for d in result['diff']] == [('', '# Docker firewall compliance')]


def test_only_the_formats_asked_for_are_written(tmp_path):
    result = run(dict(report=REPORT, dest=str(tmp_path), formats=['junit', 'json']))
    assert result['files'] == [str(tmp_path / 'compliance.json'), str(tmp_path / 'compliance.junit.xml')]
    assert sorted(os.listdir(str(tmp_path))) == ['compliance.json', 'compliance.junit.xml']


@pytest.mark.parametrize('args, message', [
    (dict(report=dict(hosts=[]), formats=['json']),
     'report: not a fleet report (the compliance_report filter builds one): it has no compliant, totals, checks'),
    (dict(report=REPORT, formats=['pdf']), 'formats'),
])
def test_bad_input_fails_naming_the_option_and_writes_nothing(tmp_path, args, message):
    (tmp_path / 'compliance.json').write_text('{"kept": true}\n')
    before = snapshot(tmp_path)
    with pytest.raises(AnsibleActionFail) as failure:
        run(dict(args, dest=str(tmp_path)))
    assert message in str(failure.value) and snapshot(tmp_path) == before


def test_a_destination_that_is_a_file_fails_naming_dest_and_the_file_stays(tmp_path):
    (tmp_path / 'report').write_text('not a directory\n')
    with pytest.raises(AnsibleActionFail) as failure:
        run(dict(report=REPORT, dest=str(tmp_path / 'report')))
    assert str(failure.value) == 'dest: %s exists and is no directory' % (tmp_path / 'report')
    assert (tmp_path / 'report').read_text() == 'not a directory\n'
