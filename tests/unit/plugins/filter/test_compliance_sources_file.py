# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compliance filter reads an allowlist's sources_file as the modules' action plugins do, so
a host converged from a file is compliant."""

import pytest

from ansible.errors import AnsibleFilterError

from plugins.module_utils.test_compliance import EXPECTED, router_facts
from ansible_collections.netops.docker_firewall.plugins.filter.compliance import compliance_checks
from ansible_collections.netops.docker_firewall.plugins.plugin_utils import _sources_file


def expected_from_file(path):
    allowlist = dict(EXPECTED['allowlists'][0])
    del allowlist['sources']
    return dict(EXPECTED, allowlists=[dict(allowlist, sources_file=str(path))])


def test_a_host_converged_from_the_same_entries_is_compliant(tmp_path):
    # The declared entries, reordered, duplicated and re-spelt: the same rules.
    path = tmp_path / 'ext0.txt'
    path.write_text('# wan1\n2001:db8:2::18\n198.51.100.18/32\n\n198.51.100.18-198.51.100.18  # again\n')
    checks = compliance_checks(router_facts(), 'docker_on_router', expected_from_file(path))
    assert [c['id'] for c in checks if c['status'] == 'fail'] == []


def test_a_different_file_is_drift(tmp_path):
    path = tmp_path / 'ext0.txt'
    path.write_text('198.51.100.19\n2001:db8:2::18\n')
    checks = compliance_checks(router_facts(), 'docker_on_router', expected_from_file(path))
    assert 'router_rules_ipv4' in [c['id'] for c in checks if c['status'] == 'fail']


def test_a_relative_path_asks_for_an_absolute_one():
    with pytest.raises(AnsibleFilterError) as error:
        compliance_checks(router_facts(), 'docker_on_router', expected_from_file('ext0.txt'))
    assert "allowlists[0].sources_file: 'ext0.txt'" in str(error.value) and 'absolute path' in str(error.value)


def test_a_missing_file_or_a_bad_line_is_a_clear_error(tmp_path):
    with pytest.raises(AnsibleFilterError) as error:
        compliance_checks(router_facts(), 'docker_on_router', expected_from_file(tmp_path / 'missing.txt'))
    assert str(tmp_path / 'missing.txt') in str(error.value) and 'cannot be read' in str(error.value)
    (tmp_path / 'bad.txt').write_text('198.51.100.18\nexample.com\n')
    with pytest.raises(AnsibleFilterError) as error:
        compliance_checks(router_facts(), 'docker_on_router', expected_from_file(tmp_path / 'bad.txt'))
    assert "'example.com' (%s line 2)" % (tmp_path / 'bad.txt') in str(error.value)


def test_an_empty_file_warns(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(_sources_file.display, 'warning', seen.append)
    (tmp_path / 'empty.txt').write_text('')
    compliance_checks(router_facts(), 'docker_on_router', expected_from_file(tmp_path / 'empty.txt'))
    assert len(seen) == 1 and 'holds no entry' in seen[0]
