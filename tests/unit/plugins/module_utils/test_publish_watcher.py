# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The publisher watcher (_publish_watcher, netops-docker-publish.service) against an ordered table
of the exact commands it must run, in the style of community.general's UTHelper: each test gives
what docker and iptables-*-save answer, and asserts every command in order (the docker ps and
inspect calls too), the exact payload each *-restore is fed (the engine's plan_family), the
read-back, what the watcher said and warned, and the exit status. Nothing on the host is run: the
commands are scripted Calls run by the shared FakeRunner (plugins/module_utils/conftest.py)."""

import json
import subprocess

import pytest
from ansible.plugins.filter.core import to_nice_json

from fake_runner import Call, FakeRunner, record_host_lock
from plugins.module_utils.test_host_lock import other_holder
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _publish_watcher as watcher
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import DockerError
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_runner import HostRunner
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import IptablesHost

DOCKER = '/usr/bin/docker'
BIN_PATHS = dict([('docker', DOCKER)] + [
    (name, '/usr/sbin/' + name) for name in ('%s-%s-%s' % (command, backend, action) for command in ('iptables', 'ip6tables')
                                             for backend in ('nft', 'legacy') for action in ('save', 'restore'))])
EVENTS = [DOCKER, 'events', '--format', '{{.Actor.Attributes.name}}',
          '--filter', 'type=container', '--filter', 'event=start', '--filter', 'event=die']


def container(name, address):
    return {'Name': '/' + name, 'Config': {'Labels': {}},
            'HostConfig': {'NetworkMode': 'net', 'PortBindings': {'80/tcp': [{'HostIp': '', 'HostPort': '8081'}]}},
            'NetworkSettings': {'Networks': {'net': {'IPAddress': address, 'GlobalIPv6Address': ''}}}}


WEB = container('kube-web', '198.51.100.130')
# Not listed in the config: running, with a published port, and never written.
OTHER = container('other', '198.51.100.140')
CONFIG = {'backend': 'nft', 'containers': ['kube-web']}
EMPTY = '*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'
WARNED_LEFT = '; the published rules were left as they were'


def scripted(calls):
    """The commands of `calls` as FakeRunner.ran records them: (argv, data, binary_data, environ_update)."""
    return [call.expected for call in calls]


def docker_calls(*containers, **inspect):
    """docker ps listing one id per container, then docker inspect of them all (inspect: rc, stdout, stderr)."""
    ids = ['%064x' % (n + 0xabc) for n in range(len(containers))]
    calls = [Call([DOCKER, 'ps', '--quiet', '--no-trunc'], stdout=''.join(i + '\n' for i in ids))]
    if ids:
        calls.append(Call([DOCKER, 'inspect'] + ids, rc=inspect.get('rc', 0), stderr=inspect.get('stderr', ''),
                          stdout=inspect.get('stdout', json.dumps(list(containers)))))
    return calls


def save(command, stdout):
    return Call(['/usr/sbin/%s-save' % command], binary_data=True, stdout=stdout)


def restore(command, payload, test=False, rc=0, stderr=''):
    return Call(['/usr/sbin/%s-restore' % command, '-w', '10', '--noflush'] + (['--test'] if test else []),
                data=payload, binary_data=True, rc=rc, stderr=stderr)


def write(command, payload, read_back):
    """A dry run, the write, then the read-back save answering `read_back`."""
    return [restore(command, payload, test=True), restore(command, payload), save(command, read_back)]


def published_save(after):
    """EMPTY with the publisher's chains holding `after` (a plan_family result's second item)."""
    return EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                         % '\n'.join(after['nat'])).replace(
        ':FORWARD ACCEPT [0:0]\n', ':FORWARD ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n' % '\n'.join(after['filter']))


def converged(*containers):
    """The ipv4 save of a host where `containers` are published."""
    return published_save(_publish.plan_family(EMPTY, [b for c in containers for b in _publish.bindings(c)], 'ipv4')[1])


def sync(calls, config=None):
    runner = FakeRunner(calls, BIN_PATHS, watcher.NAME)
    watcher.sync(runner, IptablesHost(runner), config or CONFIG)
    return runner


@pytest.fixture(autouse=True)
def legacy_tables(monkeypatch):
    """The legacy backend's save is run only when the kernel holds legacy tables: here it does."""
    monkeypatch.setattr(IptablesHost, 'legacy_tables_exist', staticmethod(lambda family: True))


class Events:
    """docker events as subprocess.Popen starts it: prints `lines`, then ends with `rc` (unless killed)."""

    def __init__(self, lines, rc):
        self.lines, self.rc = lines, rc
        self.runner = None  # the FakeRunner, set by run_main
        self.started = []
        self.killed = False
        self.waited = False

    def popen(self, args, **kwargs):
        # Subscribed before the first sync: a container starting in between is seen by one of them.
        self.started.append((args, kwargs, len(self.runner.ran)))
        self.stdout = iter(self.lines)
        return self

    def kill(self):
        self.killed = True

    def wait(self):
        self.waited = True
        return self.rc


def run_main(monkeypatch, argv, calls, environ, events=None):
    """main(argv, environ) with the host runner replaced by a FakeRunner over `calls`."""
    runner = FakeRunner(calls, BIN_PATHS, watcher.NAME)
    made = []
    monkeypatch.setattr(watcher, 'HostRunner', lambda name, env: made.append((name, env)) or runner)
    if events is not None:
        events.runner = runner
        monkeypatch.setattr(watcher.subprocess, 'Popen', events.popen)
    status = watcher.main(argv, environ=environ)
    assert made == [('netops_docker_publish', environ)]
    return status, runner


def config_file(tmp_path, backend='nft', containers=('kube-web',)):
    """publish.json as the role writes it (tasks/watcher.yml): the real to_nice_json filter, then a newline."""
    path = tmp_path / 'publish.json'
    path.write_text(to_nice_json({'backend': backend, 'containers': sorted(set(containers))}) + '\n')
    return str(path)


def test_sync_dry_runs_writes_the_engine_s_plan_and_reads_it_back():
    before, after, expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')
    assert before['nat'] == [] and '-j DNAT --to-destination 198.51.100.130:80' in expected
    calls = docker_calls(WEB, OTHER) + [save('iptables-nft', EMPTY)] + write('iptables-nft', expected, published_save(after)) + [
        save('ip6tables-nft', '')]
    runner = sync(calls)
    assert runner.ran == scripted(calls)
    assert runner.said == ['ipv4: published kube-web 8081->198.51.100.130:80']
    assert runner.warned == []


def test_sync_holds_the_host_lock_from_docker_ps_to_the_read_back(monkeypatch):
    before, after, expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')
    calls = docker_calls(WEB) + [save('iptables-nft', EMPTY)] + write('iptables-nft', expected, published_save(after)) + [
        save('ip6tables-nft', '')]
    runner = FakeRunner(calls, BIN_PATHS, watcher.NAME)
    locks = record_host_lock(monkeypatch, lambda: runner.ran)
    watcher.sync(runner, IptablesHost(runner), CONFIG)
    assert runner.ran == scripted(calls)
    assert locks == [('taken', 'netops_docker_publish', 0), ('released', 7)]


def test_a_sync_while_another_writer_holds_the_lock_reads_nothing_and_leaves_the_rules(tmp_path, monkeypatch):
    lock = tmp_path / 'netops-docker-firewall.lock'
    monkeypatch.setattr(watcher, 'PROGRAM_WAIT', 0.2)
    environ = {'NETOPS_PUBLISH_CONFIG': config_file(tmp_path), 'NETOPS_DOCKER_FIREWALL_LOCK': str(lock)}
    with other_holder(lock, 'docker_publish') as other:
        since = lock.read_text().split()[2]
        status, runner = run_main(monkeypatch, ['sync'], [], environ)
    assert (status, runner.ran, runner.said) == (1, [], [])
    assert runner.warned == ['the host lock %s is held by docker_publish (pid %d, since %s); gave up after waiting 0.2 s'
                             % (lock, other.pid, since) + WARNED_LEFT]


def test_sync_fails_when_the_read_back_differs():
    expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[2]
    calls = docker_calls(WEB) + [save('iptables-nft', EMPTY)] + write('iptables-nft', expected, EMPTY)
    runner = FakeRunner(calls, BIN_PATHS, watcher.NAME)
    with pytest.raises(watcher.ReadBackError, match='^ipv4: the rules read back differ from what was written'):
        watcher.sync(runner, IptablesHost(runner), CONFIG)
    assert runner.ran == scripted(calls)  # the ipv6 rules are not touched after that
    assert runner.said == []


@pytest.mark.parametrize('rc, stdout, stderr, message', [
    (1, '', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
     'docker inspect failed (rc 1): Cannot connect to the Docker daemon'),
    (125, '', 'error during connect: EOF', 'docker inspect failed (rc 125): error during connect: EOF'),
    # JSON for the others, but one error that is not a container gone since docker ps.
    (1, json.dumps([WEB]), 'Error: No such object: def\nerror during connect: context deadline exceeded',
     'docker inspect failed (rc 1): Error: No such object: def\nerror during connect'),
    (0, 'not JSON', '', 'docker inspect printed no JSON'),
], ids=['no-daemon', 'rc-125', 'not-only-gone', 'no-json'])
def test_a_failed_docker_inspect_is_an_error_never_no_containers(rc, stdout, stderr, message):
    # The rules in place are WEB's: a failed read taken for "no containers" would remove them.
    calls = docker_calls(WEB, OTHER, rc=rc, stdout=stdout, stderr=stderr)
    runner = FakeRunner(calls + [save('iptables-nft', converged(WEB))], BIN_PATHS, watcher.NAME)
    with pytest.raises(DockerError) as raised:
        watcher.sync(runner, IptablesHost(runner), CONFIG)
    assert str(raised.value).startswith(message)
    assert runner.ran == scripted(calls)  # only docker ps and inspect: nothing read, nothing written
    assert runner.said == []


def test_a_container_gone_since_docker_ps_is_left_out():
    # `docker inspect abc def` when def went away: rc 1, the others still printed.
    expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[2]
    calls = [Call([DOCKER, 'ps', '--quiet', '--no-trunc'], stdout='abc\ndef\n'),
             Call([DOCKER, 'inspect', 'abc', 'def'], rc=1, stdout=json.dumps([WEB]), stderr='Error: No such object: def\n'),
             save('iptables-nft', EMPTY)] + write('iptables-nft', expected, converged(WEB)) + [save('ip6tables-nft', '')]
    runner = sync(calls)
    assert runner.ran == scripted(calls)
    assert runner.said == ['ipv4: published kube-web 8081->198.51.100.130:80']


def test_sync_of_a_converged_host_writes_nothing():
    calls = docker_calls(WEB, OTHER) + [save('iptables-legacy', converged(WEB)), save('ip6tables-legacy', '')]
    runner = sync(calls, {'backend': 'legacy', 'containers': ['kube-web']})
    assert runner.ran == scripted(calls)
    assert [argv for argv, _data, _binary_data, _environ_update in runner.ran[2:]] == [
        ['/usr/sbin/iptables-legacy-save'], ['/usr/sbin/ip6tables-legacy-save']]
    assert runner.said == [] and runner.warned == []


def test_a_stopped_container_loses_its_rules():
    after = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[1]
    published = EMPTY.replace(':OUTPUT ACCEPT [0:0]\n', ':OUTPUT ACCEPT [0:0]\n:NETOPS-DFW-PUBLISH - [0:0]\n%s\n'
                              % '\n'.join(after['nat']))
    emptied, payload = _publish.plan_family(published, [], 'ipv4')[1:]
    assert 'DNAT' not in payload and ':NETOPS-DFW-PUBLISH - [0:0]' in payload
    # kube-web stopped: docker ps lists only the container nobody asked to publish.
    calls = docker_calls(OTHER) + [save('iptables-nft', published)] + write('iptables-nft', payload, published_save(emptied)) + [
        save('ip6tables-nft', '')]
    runner = sync(calls)
    assert runner.ran == scripted(calls)
    assert runner.said == ['ipv4: published nothing']


@pytest.mark.parametrize('argv', [['publish'], [], ['sync', 'watch'], ['watch', '--now']])
def test_usage(argv, monkeypatch, capsys):
    monkeypatch.setattr(watcher, 'HostRunner', lambda *args: pytest.fail('a runner for a usage error'))
    assert watcher.main(argv, environ={}) == 2
    assert capsys.readouterr() == ('usage: netops_docker_publish.py sync|watch\n', '')


def test_config_written_by_the_role_is_what_the_watcher_reads(tmp_path, monkeypatch):
    path = config_file(tmp_path, containers=['kube-web', 'kube-api', 'kube-web'])
    seen = []
    monkeypatch.setattr(watcher, 'sync', lambda *args: seen.append(args))
    environ = {'NETOPS_PUBLISH_CONFIG': path, 'PATH': '/usr/sbin:/usr/bin'}
    assert watcher.main(['sync'], environ=environ) == 0
    [(runner, iptables, config, lock_path)] = seen
    assert config == {'backend': 'nft', 'containers': ['kube-api', 'kube-web']}
    assert lock_path == layout.HOST_LOCK  # the host's, unless the environment moves it (the tests)
    assert isinstance(runner, HostRunner) and isinstance(iptables, IptablesHost)


@pytest.mark.parametrize('lines, rc', [(['kube-web\n'], 0), ([], 0)], ids=['second-sync', 'first-sync'])
def test_the_watcher_exits_on_a_failed_sync_kills_the_event_stream_and_leaves_the_rules(lines, rc, tmp_path, monkeypatch):
    # The sync after kube-web's start (or the first one) cannot read docker: nothing is written.
    first = docker_calls(WEB) + [save('iptables-nft', converged(WEB)), save('ip6tables-nft', '')] if lines else []
    failed = docker_calls(WEB, rc=1, stdout='', stderr='Cannot connect to the Docker daemon at unix:///var/run/docker.sock.')
    events = Events(lines, rc)
    status, runner = run_main(monkeypatch, ['watch'], first + failed, {'NETOPS_PUBLISH_CONFIG': config_file(tmp_path)}, events)
    assert status == 1
    assert runner.ran == scripted(first + failed)
    assert events.started == [(EVENTS, {'stdout': subprocess.PIPE, 'universal_newlines': True}, 0)]
    assert events.killed and not events.waited
    [warning] = runner.warned
    assert warning.startswith('docker inspect failed (rc 1): Cannot connect to the Docker daemon') and warning.endswith(WARNED_LEFT)
    assert runner.said == []


def test_watch_syncs_again_when_a_listed_container_starts_and_exits_when_the_event_stream_ends(tmp_path, monkeypatch):
    moved = container('kube-web', '198.51.100.131')  # restarted with a new address
    before, after, expected = _publish.plan_family(converged(WEB), _publish.bindings(moved), 'ipv4')
    assert '--to-destination 198.51.100.131:80' in expected and before != after
    calls = docker_calls(WEB) + [save('iptables-nft', converged(WEB)), save('ip6tables-nft', '')]  # the first sync
    calls += docker_calls(moved, OTHER) + [save('iptables-nft', converged(WEB))] + write(
        'iptables-nft', expected, converged(moved)) + [save('ip6tables-nft', '')]  # after kube-web's start only
    events = Events(['other\n', 'kube-web\n', 'other\n'], 1)
    status, runner = run_main(monkeypatch, ['watch'], calls, {'NETOPS_PUBLISH_CONFIG': config_file(tmp_path)}, events)
    assert status == 1
    assert runner.ran == scripted(calls)
    assert events.started == [(EVENTS, {'stdout': subprocess.PIPE, 'universal_newlines': True}, 0)]
    assert events.waited and not events.killed
    assert runner.said == ['ipv4: published kube-web 8081->198.51.100.131:80']
    assert runner.warned == ['the Docker event stream ended (rc 1)']


def test_the_watcher_holds_the_lock_for_each_sync_and_never_while_it_waits_for_docker_events(tmp_path, monkeypatch):
    moved = container('kube-web', '198.51.100.131')
    expected = _publish.plan_family(converged(WEB), _publish.bindings(moved), 'ipv4')[2]
    first = docker_calls(WEB) + [save('iptables-nft', converged(WEB)), save('ip6tables-nft', '')]
    second = docker_calls(moved) + [save('iptables-nft', converged(WEB))] + write(
        'iptables-nft', expected, converged(moved)) + [save('ip6tables-nft', '')]
    lock = tmp_path / 'netops-docker-firewall.lock'
    events = Events(['kube-web\n'], 1)
    locks = record_host_lock(monkeypatch, lambda: events.runner.ran)
    environ = {'NETOPS_PUBLISH_CONFIG': config_file(tmp_path), 'NETOPS_DOCKER_FIREWALL_LOCK': str(lock)}
    status, runner = run_main(monkeypatch, ['watch'], first + second, environ, events)
    assert status == 1 and runner.ran == scripted(first + second)
    # Each sync takes the lock and releases it: between them, while the watcher waits for Docker's
    # next event, nothing holds it.
    assert locks == [('taken', 'netops_docker_publish', 0), ('released', 4),
                     ('taken', 'netops_docker_publish', 4), ('released', 11)]
    assert [started for _args, _kwargs, started in events.started] == [0]  # subscribed before the first sync


@pytest.mark.parametrize('answer, status, warned', [
    (None, 0, []),
    ((2, 'iptables-nft-restore: line 4 failed'), 1,
     ['checking the new ipv4 NETOPS-DFW-PUBLISH chains failed; nothing was changed (iptables-nft-restore: line 4 failed)'
      + WARNED_LEFT]),
], ids=['synced', 'dry-run-fails'])
def test_main_sync_returns_the_sync_s_status(answer, status, warned, tmp_path, monkeypatch):
    expected = _publish.plan_family(EMPTY, _publish.bindings(WEB), 'ipv4')[2]
    calls = docker_calls(WEB) + [save('iptables-nft', EMPTY)]
    if answer is None:
        calls += write('iptables-nft', expected, converged(WEB)) + [save('ip6tables-nft', '')]
    else:
        calls += [restore('iptables-nft', expected, test=True, rc=answer[0], stderr=answer[1])]  # never the write
    status_, runner = run_main(monkeypatch, ['sync'], calls, {'NETOPS_PUBLISH_CONFIG': config_file(tmp_path)})
    assert status_ == status
    assert runner.ran == scripted(calls)
    assert runner.warned == warned
    assert runner.said == (['ipv4: published kube-web 8081->198.51.100.130:80'] if answer is None else [])


@pytest.mark.parametrize('argv', [['sync'], ['watch']])
@pytest.mark.parametrize('content', [None, '{"backend": "nft", "containers": [', '\xff', '[]', '{"backend": "nft"}'],
                         ids=['missing', 'truncated', 'not-utf8', 'not-an-object', 'no-containers'])
@pytest.mark.parametrize('where', ['environ', 'default'])
def test_an_unreadable_config_returns_1_with_a_warning_naming_it(where, content, argv, tmp_path, monkeypatch, capsys):
    path = tmp_path / 'publish.json'
    if content is not None:
        path.write_bytes(content.encode('latin-1'))
    if where == 'default':  # no NETOPS_PUBLISH_CONFIG: the role's path, layout.STATE_DIR/publish.json
        monkeypatch.setattr(layout, 'STATE_DIR', str(tmp_path))
        environ = {'PATH': '/usr/sbin:/usr/bin'}
    else:
        environ = {'NETOPS_PUBLISH_CONFIG': str(path), 'PATH': '/usr/sbin:/usr/bin'}
    monkeypatch.setattr(watcher, 'sync', lambda *args: pytest.fail('synced without a config'))
    monkeypatch.setattr(watcher, 'watch', lambda *args: pytest.fail('watched without a config'))
    assert watcher.main(argv, environ=environ) == 1
    out, err = capsys.readouterr()
    assert out == ''
    assert err.startswith('netops_docker_publish: warning: %s cannot be read: ' % path) and err.count('\n') == 1
