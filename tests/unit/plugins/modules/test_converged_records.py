# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A converged run proven by the record of an earlier one (plugins/module_utils/_engine/_converged.py): the DOCKER-USER
modules run the same commands as ever, and when the declaration and the host state read are those recorded,
return the recorded result without parsing the sources, the sets or the table. A host that differs in
anything (an element of a set or a rule changed by hand, the same count or not) takes the full path and
is written again. The commands are exact (tests/unit/fake_runner.py); the declarations and host states
are those of test_allowlist_ipsets (100 sources: IPv4 in a set, IPv6 as rules) and test_docker_user_modules."""

import json
import os
import stat

import pytest

from fake_runner import Tool
from plugins.modules.test_allowlist_ipsets import (
    ENTRIES,
    FOREIGN,
    IPSET_RESTORE,
    IPSET_SAVE,
    OURS,
    OURS_IPV4,
    PAYLOAD,
    REMOVE_IPV4,
    REMOVE_IPV6,
    RETIRE,
    SOURCES,
    SWAP,
    V4,
    allowlist,
    kernel,
    to_8443,
)
from plugins.modules.test_docker_user_modules import (
    DOCKER20_V6,
    DOCKER28,
    DOCKER28_V6,
    NFT_APPLY,
    NFT_HEAD,
    NFT_LIST,
    NFT_TEST,
    NO_TABLE,
    REBOOTED,
    TABLE_ETH0_NET,
    V4_RESTORE,
    V4_SAVE,
    V4_TEST,
    V6_RESTORE,
    V6_SAVE,
    V6_TEST,
    restore,
    save_with,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _converged as converged
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _sources
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module as docker_user_module
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _record_files as record_files
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft
from ansible_collections.netops.docker_firewall.plugins.modules import docker_user_allowlist, docker_user_chain

RECORD = converged.record_name('docker_user_allowlist', 'iptables', 'allowlist:ext0')
# The converged host of allowlist(): our rules in both families, the set beside another tool's.
CONVERGED = [
    Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
    Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
    Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
]
# The set's content filled aside, to be swapped in for one changed by hand.
FILL_ENTRIES = PAYLOAD.replace('netops-dfw-ext0-v4 ', 'netops-dfw-ext0-t4 ')
OTHER_TOOL = '-A DOCKER-USER -s 203.0.113.66/32 -j DROP'


@pytest.fixture(autouse=True)
def daemon_json(monkeypatch, tmp_path):
    """A daemon.json of the test's own, with the userland proxy off: no warning about its path."""
    path = tmp_path / 'daemon.json'
    path.write_text('{"userland-proxy": false}')
    monkeypatch.setitem(docker_user_module.COMMON_ARGUMENT_SPEC['daemon_json'], 'default', str(path))
    return path


@pytest.fixture(autouse=True)
def no_destroy_pause(monkeypatch):
    monkeypatch.setattr(docker_user_module, 'DESTROY_PAUSE', 0)


def forbid_parsing(monkeypatch):
    """From now on, parsing a source, `ipset save` or the nftables table fails the test."""
    def refused(*args, **kwargs):
        raise AssertionError('parsed, though the record proves the host converged')
    for module, name in ((_sources, 'parse_source'), (_ipset, 'parse_save'), (_nft, 'parse_table')):
        monkeypatch.setattr(module, name, refused)


def same_result(left, right):
    assert dict((k, v) for k, v in left.items() if k != 'host_lock') == dict(
        (k, v) for k, v in right.items() if k != 'host_lock')


def records(directory):
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


# ---------------------------------------------------------------------------------------------
# Docker's iptables backend: DOCKER-USER and the ipsets


def test_a_converged_run_is_recorded_and_the_next_is_proven_by_the_same_reads_without_parsing(
        run_module, monkeypatch, converged_records_of_the_test):
    full, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert full['changed'] is False and records(converged_records_of_the_test) == [RECORD]
    forbid_parsing(monkeypatch)
    proven, table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert [argv for argv, _data, _binary, _environ in table.ran] == [V4_SAVE, V6_SAVE, IPSET_SAVE]
    same_result(proven, full)
    assert proven['ipset_payload'] == PAYLOAD and proven['sources_count']['declared'] == 100
    assert proven['changed'] is False and proven['commands'] == [] and proven['host_lock']['waited'] == 0.0


# A set changed by hand: one element replaced (the same count), one added, one removed.
HAND_CHANGED = {
    'replaced': ENTRIES[:-1] + ['203.0.113.9'],
    'added': ENTRIES + ['203.0.113.9'],
    'removed': ENTRIES[1:],
}


@pytest.mark.parametrize('change', sorted(HAND_CHANGED))
def test_a_set_changed_by_hand_is_seen_through_the_record_and_swapped_back(run_module, monkeypatch, change):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    result, _table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: HAND_CHANGED[change]})),
        Tool(IPSET_RESTORE, data=FILL_ENTRIES),
        Tool(IPSET_RESTORE, data=SWAP),
        Tool(IPSET_RESTORE, data=RETIRE),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert result['changed'] is True and result['commands'] == [IPSET_RESTORE] * 3
    # Swapped back and read back as planned: recorded, so the next run is proven.
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert proven['changed'] is False and proven['ipset_payload'] == PAYLOAD


def test_the_same_set_listed_in_another_order_is_still_proven(run_module, monkeypatch):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    forbid_parsing(monkeypatch)
    reordered = FOREIGN + ''.join(sorted(kernel({V4: ENTRIES})[len(FOREIGN):].splitlines(True), reverse=True))
    assert reordered != CONVERGED[2].answer[1]
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED[:2] + [
        Tool(IPSET_SAVE, stdout=reordered)])
    assert proven['changed'] is False


def test_a_staging_set_left_behind_is_not_proven_converged_and_is_destroyed(run_module):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    staged = kernel({V4: ENTRIES, 'netops-dfw-ext0-t4': ENTRIES[:3]})
    result, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED[:2] + [
        Tool(IPSET_SAVE, stdout=staged),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-t4\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert result['changed'] is True and result['commands'] == [IPSET_RESTORE]


def test_a_rule_of_ours_deleted_by_hand_is_seen_through_the_record_and_written_again(run_module):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    missing = OURS_IPV4[:3] + OURS_IPV4[4:]  # the set's rule gone
    payload = restore(missing, OURS_IPV4)
    result, _table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=save_with(missing, DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
        Tool(V4_TEST, data=payload),
        Tool(V4_RESTORE, data=payload),
        Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
    ])
    assert result['changed'] is True and result['commands'] == [V4_RESTORE]


def test_a_rule_another_tool_appended_takes_the_full_path_which_records_the_new_state(run_module, monkeypatch):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    appended = [Tool(V4_SAVE, stdout=save_with(OURS['ipv4'] + [OTHER_TOOL], DOCKER28))] + CONVERGED[1:]
    parsed = []
    parse_source = _sources.parse_source
    monkeypatch.setattr(_sources, 'parse_source', lambda *args: parsed.append(args) or parse_source(*args))
    full, _table = run_module(docker_user_allowlist.main, allowlist(), appended)
    assert full['changed'] is False and full['rules']['ipv4'][-1] == OTHER_TOOL and len(parsed) == 100
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), appended)
    same_result(proven, full)


def test_another_declaration_takes_the_full_path(run_module):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    new = dict(ipv4=to_8443(OURS['ipv4']), ipv6=to_8443(OURS['ipv6']))
    v4, v6 = restore(OURS['ipv4'], new['ipv4']), restore(OURS['ipv6'], new['ipv6'])
    result, _table = run_module(docker_user_allowlist.main, allowlist(ports=['8443']), CONVERGED + [
        Tool(V4_TEST, data=v4), Tool(V6_TEST, data=v6),
        Tool(V4_RESTORE, data=v4), Tool(V6_RESTORE, data=v6),
        Tool(V4_SAVE, stdout=save_with(new['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(new['ipv6'], DOCKER28_V6)),
    ])
    assert result['changed'] is True and result['commands'] == [V4_RESTORE, V6_RESTORE]


# The first write of allowlist() on a host without it, read back as planned.
FIRST_WRITE = [
    Tool(V4_SAVE, stdout=DOCKER28),
    Tool(V6_SAVE, stdout=DOCKER28_V6),
    Tool(IPSET_SAVE, stdout=FOREIGN),
    Tool(IPSET_RESTORE, data=PAYLOAD),
    Tool(V4_TEST, data=restore(inserted=OURS['ipv4'])), Tool(V6_TEST, data=restore(inserted=OURS['ipv6'])),
    Tool(V4_RESTORE, data=restore(inserted=OURS['ipv4'])), Tool(V6_RESTORE, data=restore(inserted=OURS['ipv6'])),
    Tool(V4_SAVE, stdout=save_with(OURS['ipv4'], DOCKER28)),
    Tool(V6_SAVE, stdout=save_with(OURS['ipv6'], DOCKER28_V6)),
    Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
]


def test_a_first_write_read_back_as_planned_is_recorded_and_the_next_run_proven(run_module, monkeypatch):
    written, _table = run_module(docker_user_allowlist.main, allowlist(), FIRST_WRITE)
    assert written['changed'] is True
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert proven['changed'] is False and proven['commands'] == [] and proven['removed_blocks'] == []
    assert proven['rules'] == written['rules'] and proven['ipset_payload'] == written['ipset_payload']


def test_a_write_read_back_with_another_tools_rule_above_ours_is_not_recorded(
        run_module, converged_records_of_the_test):
    above = dict(ipv4=[OTHER_TOOL] + OURS['ipv4'], ipv6=OURS['ipv6'])
    result, _table = run_module(docker_user_allowlist.main, allowlist(), [
        Tool(V4_SAVE, stdout=DOCKER28),
        Tool(V6_SAVE, stdout=DOCKER28_V6),
        Tool(IPSET_SAVE, stdout=FOREIGN),
        Tool(IPSET_RESTORE, data=PAYLOAD),
        Tool(V4_TEST, data=restore(inserted=OURS['ipv4'])), Tool(V6_TEST, data=restore(inserted=OURS['ipv6'])),
        Tool(V4_RESTORE, data=restore(inserted=OURS['ipv4'])), Tool(V6_RESTORE, data=restore(inserted=OURS['ipv6'])),
        Tool(V4_SAVE, stdout=save_with(above['ipv4'], DOCKER28)),
        Tool(V6_SAVE, stdout=save_with(above['ipv6'], DOCKER28_V6)),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert result['changed'] is True and result['rules']['ipv4'][0] == OTHER_TOOL
    assert records(converged_records_of_the_test) == []


def test_a_write_read_back_with_a_set_of_ours_it_did_not_plan_is_not_recorded(
        run_module, converged_records_of_the_test):
    """A set with our name that appeared during the write (no rule matches it): the next run destroys it, so the
    state read back is not converged and no record may say it is."""
    stray = kernel({V4: ENTRIES, 'netops-dfw-eth9-v4': ['192.0.2.1']})
    result, _table = run_module(docker_user_allowlist.main, allowlist(), FIRST_WRITE[:-1] + [
        Tool(IPSET_SAVE, stdout=stray)])
    assert result['changed'] is True and records(converged_records_of_the_test) == []
    again, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED[:2] + [
        Tool(IPSET_SAVE, stdout=stray),
        Tool(IPSET_RESTORE, data='destroy netops-dfw-eth9-v4\n'),
        Tool(IPSET_SAVE, stdout=kernel({V4: ENTRIES})),
    ])
    assert again['changed'] is True and again['commands'] == [IPSET_RESTORE]


# What removes the collection's state (state=absent, docker_user_chain with nothing declared) leaves the
# records of other declarations where they are: they prove nothing, since the reads that follow differ.

# Removing it from the converged host: the rules of both families, then the set.
REMOVAL = CONVERGED + [
    Tool(V4_TEST, data=REMOVE_IPV4), Tool(V6_TEST, data=REMOVE_IPV6),
    Tool(V4_RESTORE, data=REMOVE_IPV4), Tool(V6_RESTORE, data=REMOVE_IPV6),
    Tool(V4_SAVE, stdout=DOCKER28),
    Tool(V6_SAVE, stdout=DOCKER28_V6),
    Tool(IPSET_RESTORE, data='destroy netops-dfw-ext0-v4\n'),
    Tool(IPSET_SAVE, stdout=FOREIGN),
]
EMPTY_CHAIN = dict(accept=[], allowlists=[])


@pytest.mark.parametrize('remover', ['state=absent', 'docker_user_chain, nothing declared'])
def test_a_record_left_after_the_removal_proves_nothing_the_policy_is_written_again(
        run_module, converged_records_of_the_test, remover):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    present = (converged_records_of_the_test / RECORD).read_text()
    if remover == 'state=absent':
        removed, _table = run_module(docker_user_allowlist.main, dict(interface='ext0', state='absent'), REMOVAL)
    else:
        removed, _table = run_module(docker_user_chain.main, EMPTY_CHAIN, REMOVAL)
        assert (converged_records_of_the_test / RECORD).read_text() == present  # another module's record: left
    assert removed['changed'] is True and removed['removed_blocks'] == ['allowlist:ext0']
    again, _table = run_module(docker_user_allowlist.main, allowlist(), FIRST_WRITE)
    assert again['changed'] is True and again['commands'] == [IPSET_RESTORE, V4_RESTORE, V6_RESTORE]


def test_the_record_of_a_removal_proves_nothing_once_the_policy_is_back(run_module, converged_records_of_the_test):
    run_module(docker_user_chain.main, EMPTY_CHAIN, [
        Tool(V4_SAVE, stdout=DOCKER28), Tool(V6_SAVE, stdout=DOCKER28_V6)])
    assert records(converged_records_of_the_test) == [converged.record_name('docker_user_chain', 'iptables', 'chain')]
    run_module(docker_user_allowlist.main, allowlist(), FIRST_WRITE)
    removed, _table = run_module(docker_user_chain.main, EMPTY_CHAIN, REMOVAL)
    assert removed['changed'] is True and removed['removed_blocks'] == ['allowlist:ext0']


def test_nftables_a_record_left_after_the_table_is_removed_proves_nothing(
        run_module, nftables, converged_records_of_the_test):
    run_module(docker_user_allowlist.main, ETH0, NFT_CONVERGED)
    removed, _table = run_module(docker_user_chain.main, EMPTY_CHAIN, NFT_CONVERGED + [
        Tool(NFT_TEST, data=NFT_HEAD), Tool(NFT_APPLY, data=NFT_HEAD), NO_TABLE])
    assert removed['changed'] is True and removed['removed_blocks'] == ['allowlist:eth0']
    assert len(records(converged_records_of_the_test)) == 2
    again, _table = run_module(docker_user_allowlist.main, ETH0, [
        NO_TABLE, Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_NET), Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_LIST, stdout=TABLE_ETH0_NET)])
    assert again['changed'] is True and again['commands'] == [NFT_APPLY]


# ---------------------------------------------------------------------------------------------
# Check mode, diff mode, records that prove nothing


def test_check_mode_is_proven_by_the_record_and_a_drift_in_check_mode_is_planned_not_written(
        run_module, monkeypatch, converged_records_of_the_test):
    full, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    recorded = (converged_records_of_the_test / RECORD).read_text()
    changed = [Tool(IPSET_SAVE, stdout=kernel({V4: HAND_CHANGED['replaced']}))]
    drift, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED[:2] + changed, check_mode=True)
    assert drift['changed'] is True and drift['commands'] == [] and drift['host_lock'] is None
    assert (converged_records_of_the_test / RECORD).read_text() == recorded
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED, check_mode=True)
    assert proven['changed'] is False and proven['host_lock'] is None
    same_result(proven, full)


def test_check_mode_records_nothing(run_module, converged_records_of_the_test):
    result, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED, check_mode=True)
    assert result['changed'] is False and records(converged_records_of_the_test) == []


def test_diff_mode_reads_every_entry_for_the_diff_whatever_the_record(run_module):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    result, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED[:2] + [
        Tool(IPSET_SAVE, stdout=kernel({V4: HAND_CHANGED['replaced']}))], check_mode=True, diff=True)
    assert result['changed'] is True
    assert '\n203.0.113.9\n' in result['diff']['before'] and '\n203.0.113.9\n' not in result['diff']['after']
    converged_again, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED, diff=True)
    assert converged_again['diff']['before'] == converged_again['diff']['after']
    assert converged_again['diff']['after'].endswith(''.join(entry + '\n' for entry in ENTRIES))


@pytest.mark.parametrize('spoil', ['not json', 'other format', 'other declaration', 'other engine'])
def test_a_record_that_is_not_this_declarations_proves_nothing(run_module, monkeypatch, converged_records_of_the_test,
                                                               spoil):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    path = converged_records_of_the_test / RECORD
    if spoil == 'not json':
        path.write_text(path.read_text()[:-20])
    elif spoil == 'other format':
        path.write_text(path.read_text().replace('"format": %d' % converged.FORMAT, '"format": 0'))
    elif spoil == 'other declaration':
        path.write_text(path.read_text().replace('"declared": "', '"declared": "0'))
    else:
        code = converged.engine_code
        monkeypatch.setattr(converged, 'engine_code', lambda names: code(names) + ['# another engine'])
    parsed = []
    parse_source = _sources.parse_source
    monkeypatch.setattr(_sources, 'parse_source', lambda *args: parsed.append(args) or parse_source(*args))
    result, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert result['changed'] is False and len(parsed) == 100


def test_a_record_and_its_directories_are_the_running_user_s_alone(run_module, converged_records_of_the_test):
    """A record holds the sources (its result's ipset_payload): no other user reads it. It is the running user's
    (root, with become), which is the user read_record trusts."""
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    for path in (converged_records_of_the_test, converged_records_of_the_test / RECORD):
        assert stat.S_IMODE(os.lstat(str(path)).st_mode) & 0o077 == 0 and os.lstat(str(path)).st_uid == os.geteuid()


def test_no_record_is_written_in_a_directory_others_can_write_in(run_module, converged_records_of_the_test):
    converged_records_of_the_test.mkdir(mode=0o700)
    os.chmod(str(converged_records_of_the_test), 0o777)
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert records(converged_records_of_the_test) == []


def spoil_trust(path, how, tmp_path):
    """Make the record at `path`, valid for its declaration, one that another user could have put there."""
    if how == 'symlink':
        target = tmp_path / 'elsewhere.json'
        os.rename(str(path), str(target))
        os.symlink(str(target), str(path))
    elif how == 'group writable':
        os.chmod(str(path), 0o664)
    elif how == 'world writable directory':
        os.chmod(str(path.parent), 0o777)
    elif how == 'directory a symlink':
        os.rename(str(path.parent), str(tmp_path / 'elsewhere'))
        os.symlink(str(tmp_path / 'elsewhere'), str(path.parent))
    elif how == 'world writable parent':
        os.chmod(str(path.parent.parent), 0o777)
    elif how == 'another owner':
        if os.geteuid() != 0:
            pytest.skip('changing a file\'s owner needs root')
        os.chown(str(path), 65534, 65534)


@pytest.mark.parametrize('how', ['symlink', 'group writable', 'world writable directory', 'directory a symlink',
                                 'world writable parent', 'another owner'])
def test_a_record_another_user_could_have_put_there_proves_nothing(run_module, monkeypatch, tmp_path,
                                                                   converged_records_of_the_test, how):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    path = converged_records_of_the_test / RECORD
    recorded = json.loads(path.read_text())['declared']
    assert record_files.read_record(str(path), recorded) is not None
    spoil_trust(path, how, tmp_path)
    assert record_files.read_record(str(path), recorded) is None
    parsed = []
    parse_source = _sources.parse_source
    monkeypatch.setattr(_sources, 'parse_source', lambda *args: parsed.append(args) or parse_source(*args))
    result, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert result['changed'] is False and len(parsed) == 100


def test_bad_input_fails_before_the_host_is_read_even_beside_a_record(run_module, daemon_json):
    run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    daemon_json.write_text('{}')  # the proxy path, which a run that got past its input warns about
    result, table = run_module(docker_user_allowlist.main, allowlist(sources=SOURCES + ['198.51.100.300']), [])
    assert result['failed'] is True and result['field'] == 'sources' and table.ran == []
    assert result.get('warnings', []) == []


def test_the_plan_s_warnings_are_given_again_by_the_runs_its_record_proves(
        run_module, monkeypatch, converged_records_of_the_test):
    """A warning of the plan (here: no IPv6 DOCKER-USER, so the IPv6 side of the allowlist is not enforced) is
    kept in the record, and a run the record proves, which plans nothing, gives it again."""
    no_ipv6_chain = [CONVERGED[0], Tool(V6_SAVE, stdout=DOCKER20_V6), CONVERGED[2]]
    full, _table = run_module(docker_user_allowlist.main, allowlist(), no_ipv6_chain)
    assert full['changed'] is False and full['families'] == ['ipv4']
    assert 'ip6tables has no DOCKER-USER chain' in json.dumps(full['warnings'])
    assert records(converged_records_of_the_test) == [RECORD]
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, allowlist(), no_ipv6_chain)
    same_result(proven, full)


def test_a_record_that_cannot_be_written_changes_nothing_and_the_next_run_takes_the_full_path(
        run_module, monkeypatch, tmp_path):
    """No record where its directory cannot be made (no /run): the run's result is as it was, and the next run
    parses the sources again."""
    monkeypatch.setattr(docker_user_module, 'CONVERGED_DIR', str(tmp_path / 'no-run' / 'netops' / 'converged'))
    full, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    assert full['changed'] is False and not (tmp_path / 'no-run').exists()
    parsed = []
    parse_source = _sources.parse_source
    monkeypatch.setattr(_sources, 'parse_source', lambda *args: parsed.append(args) or parse_source(*args))
    again, _table = run_module(docker_user_allowlist.main, allowlist(), CONVERGED)
    same_result(again, full)
    assert len(parsed) == 100


# ---------------------------------------------------------------------------------------------
# docker_user_chain, and Docker's nftables backend


def test_the_allowlists_of_docker_user_chain_are_proven_the_same_way(run_module, monkeypatch):
    args = dict(allowlists=[dict(interface='ext0', sources=SOURCES, ports=['443'])])
    full, _table = run_module(docker_user_chain.main, args, CONVERGED)
    assert full['changed'] is False and full['sources_count']['allowlist:ext0']['declared'] == 100
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_chain.main, args, CONVERGED)
    same_result(proven, full)


@pytest.fixture
def nftables(daemon_json):
    daemon_json.write_text('{"firewall-backend": "nftables", "userland-proxy": false}')


NFT_CONVERGED = [Tool(NFT_LIST, stdout=TABLE_ETH0_NET), Tool(V4_SAVE, stdout=REBOOTED)]
ETH0 = dict(interface='eth0', sources=['198.51.100.0/24'])


@pytest.mark.parametrize('elements', ['198.51.100.0/24, 203.0.113.9', '198.51.100.0/25', '198.51.100.1/32'])
def test_nftables_a_set_changed_by_hand_is_seen_through_the_record_and_written_again(
        run_module, monkeypatch, nftables, elements):
    full, _table = run_module(docker_user_allowlist.main, ETH0, NFT_CONVERGED)
    assert full['changed'] is False
    by_hand = TABLE_ETH0_NET.replace('elements = { 198.51.100.0/24 }', 'elements = { %s }' % elements)
    result, _table = run_module(docker_user_allowlist.main, ETH0, [
        Tool(NFT_LIST, stdout=by_hand),
        Tool(V4_SAVE, stdout=REBOOTED),
        Tool(NFT_TEST, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_APPLY, data=NFT_HEAD + TABLE_ETH0_NET),
        Tool(NFT_LIST, stdout=TABLE_ETH0_NET),
    ])
    assert result['changed'] is True and result['commands'] == [NFT_APPLY]
    forbid_parsing(monkeypatch)
    proven, _table = run_module(docker_user_allowlist.main, ETH0, NFT_CONVERGED)
    same_result(proven, full)
    assert proven['payload'] == NFT_HEAD + TABLE_ETH0_NET
