# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The records of converged runs (plugins/module_utils/_engine/_converged.py): what of the host is digested, how a
record is written and which text is one. The modules' use of them: tests/unit/plugins/modules/test_converged_records.py."""

import ast
import json
import os

import pytest

from plugins.module_utils.test_ipset import one_set, saved_by_ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _converged as converged

V4 = 'netops-dfw-ext0-v4'
OTHERS = ('create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\n'
          'add f2b-sshd 203.0.113.5 timeout 412\n')
SAVED = saved_by_ipset([one_set(V4, ['192.0.2.1', '192.0.2.2', '198.51.100.0/24'])])
CREATE = SAVED.splitlines()[0]


def test_ipset_state_is_our_sets_each_create_line_and_its_other_lines_sorted():
    assert converged.ipset_state(OTHERS + SAVED) == [[CREATE, [
        'add %s 192.0.2.1' % V4, 'add %s 192.0.2.2' % V4, 'add %s 198.51.100.0/24' % V4]]]


def test_ipset_state_leaves_out_other_tools_sets_and_keeps_our_staging_twins():
    staging = saved_by_ipset([one_set('netops-dfw-ext0-t4', ['192.0.2.1'])])
    assert converged.ipset_state(OTHERS.replace('412', '3') + SAVED) == converged.ipset_state(SAVED)
    assert [name for name, _lines in converged.ipset_state(SAVED + staging)] == [
        staging.splitlines()[0], CREATE]


@pytest.mark.parametrize('other', [
    SAVED.replace('192.0.2.2', '192.0.2.3'),  # an element replaced: the same count
    SAVED + 'add %s 192.0.2.9\n' % V4,
    SAVED.replace('add %s 192.0.2.2\n' % V4, ''),
    SAVED.replace('maxelem 65536', 'maxelem 131072'),
    SAVED + 'add %s 192.0.2.9 nomatch\n' % V4,
])
def test_any_change_of_a_set_of_ours_changes_the_state(other):
    chains = dict(ipv4=['-A DOCKER-USER -j RETURN'], ipv6=None)
    assert converged.iptables_state('nft', chains, other) != converged.iptables_state('nft', chains, SAVED)


def test_the_state_tells_the_variant_the_chains_and_whether_ipset_was_read():
    chains = dict(ipv4=['-A DOCKER-USER -j RETURN'], ipv6=None)
    state = converged.iptables_state('nft', chains, '')
    assert state != converged.iptables_state('legacy', chains, '')
    assert state != converged.iptables_state('nft', dict(chains, ipv6=[]), '')
    assert state != converged.iptables_state('nft', chains, None)
    assert converged.nftables_state('') != converged.nftables_state('table inet netops-docker-firewall {\n}\n')


def test_a_declaration_digest_needs_the_engines_code_and_tells_every_part():
    code = ['a', 'b']
    first = converged.declaration_digest(code, 'docker_user_allowlist', 'iptables', False, dict(sources=['192.0.2.1']))
    assert converged.declaration_digest(None, 'docker_user_allowlist', 'iptables', False, {}) is None
    assert len(set([first] + [converged.declaration_digest(*args) for args in (
        (['a', 'c'], 'docker_user_allowlist', 'iptables', False, dict(sources=['192.0.2.1'])),
        (code, 'docker_user_chain', 'iptables', False, dict(sources=['192.0.2.1'])),
        (code, 'docker_user_allowlist', 'nftables', False, dict(sources=['192.0.2.1'])),
        (code, 'docker_user_allowlist', 'iptables', True, dict(sources=['192.0.2.1'])),
        (code, 'docker_user_allowlist', 'iptables', False, dict(sources=['192.0.2.2'])),
    )])) == 6


PLUGINS = os.path.join(os.path.dirname(os.path.abspath(converged.__file__)), os.pardir, os.pardir)
DOCKER_USER_MODULES = ('docker_user_accept', 'docker_user_allowlist', 'docker_user_chain', 'docker_user_routed')


def imported_when_loaded(path):
    """The collection's module_utils a file imports when it loads (its top-level imports, not those in a function),
    and the subpackages they are in."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    names = set()
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom) or not (node.module or '').startswith(converged._PACKAGE):
            continue
        if node.module.count('.') == converged._PACKAGE.count('.'):  # from ...module_utils._engine import _ipset
            names.update(node.module + '.' + alias.name for alias in node.names)
        else:  # from ...module_utils._engine._rules import parse_save
            names.add(node.module)
    return names | set(name.rsplit('.', 1)[0] for name in names)


def test_the_engine_code_digested_is_every_module_util_a_docker_user_module_loads():
    """A module_util the digest leaves out could change what a module plans while an older record still proves
    the host converged to the older plan."""
    pending = [os.path.join(PLUGINS, 'modules', name + '.py') for name in DOCKER_USER_MODULES]
    loaded = set()
    while pending:
        for name in imported_when_loaded(pending.pop()) - loaded:
            loaded.add(name)
            path = os.path.join(PLUGINS, 'module_utils', *name[len(converged._PACKAGE):].split('.'))
            pending.append(os.path.join(path, '__init__.py') if os.path.isdir(path) else path + '.py')
    assert sorted(loaded) == sorted(converged.ENGINE_MODULES)


def test_a_declaration_digest_tells_the_python_that_runs_the_engine(monkeypatch):
    args = (['a'], 'docker_user_allowlist', 'iptables', False, dict(sources=['192.0.2.1']))
    first = converged.declaration_digest(*args)
    monkeypatch.setattr(converged, 'RUNTIME', converged.RUNTIME + '-other')
    assert converged.declaration_digest(*args) != first


def test_a_record_name_hashes_the_scope():
    name = converged.record_name('docker_user_allowlist', 'iptables', '../../etc/passwd')
    assert '/' not in name and name.startswith('docker_user_allowlist-iptables-') and name.endswith('.json')


def test_a_converged_result_keeps_what_describes_the_host_and_no_run_of_its_own():
    result = dict(changed=True, commands=[['/usr/sbin/ipset', 'restore']], removed_blocks=['allowlist:eth1'],
                  diff=dict(before='', after=''), host_lock=dict(waited=0.0), warnings=['w'],
                  rules=dict(ipv4=[]), ipset_payload='', block='allowlist:ext0')
    assert converged.converged_result(result) == dict(changed=False, commands=[], removed_blocks=[],
                                                      rules=dict(ipv4=[]), ipset_payload='', block='allowlist:ext0')


def test_a_record_is_read_back_for_its_own_declaration_only():
    record = converged.Record('d' * 64, 's' * 64, True, ['a warning'], dict(changed=False))
    text = converged.render_record(record)
    read = converged.parse_record(text, 'd' * 64)
    assert (read.declared, read.state, read.reads_sets, read.warnings, read.result) == (
        'd' * 64, 's' * 64, True, ['a warning'], dict(changed=False))
    assert converged.parse_record(text, 'e' * 64) is None
    assert converged.parse_record(text, None) is None


@pytest.mark.parametrize('text', [
    '', 'null', '[]', '{"format": 1}',
    json.dumps(dict(format=0, declared='d', state='s', reads_sets=True, warnings=[], result={})),
    json.dumps(dict(format=1, declared='d', state=None, reads_sets=True, warnings=[], result={})),
    json.dumps(dict(format=1, declared='d', state='s', reads_sets='yes', warnings=[], result={})),
    json.dumps(dict(format=1, declared='d', state='s', reads_sets=True, warnings=[1], result={})),
    json.dumps(dict(format=1, declared='d', state='s', reads_sets=True, warnings=[], result=[])),
])
def test_a_text_that_is_no_record_of_this_format_proves_nothing(text):
    assert converged.parse_record(text, 'd') is None
