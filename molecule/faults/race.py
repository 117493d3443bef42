"""Races two writers of the collection's state on the lab hosts, round after round, as two
playbooks started at the same moment would (the fault suite's concurrent-writers fault).

    race.py INVENTORY SPEC_JSON

SPEC: {"hosts": {HOST: [ROUND, ...]}} with the same writers in each host's round N. A ROUND is
{"read": COMMAND, "writers": [WRITER, WRITER], "expected": {LABEL: [LINE, ...]}}. A WRITER is
{"label", "module", "args"} (a DOCKER-USER module: they report when they took the host lock) or
{"label", "restore_unit"} (a restart of the restore unit, which puts the kept policy back, as after
a firewalld reload).

For every round both writers are started together, each as its own `ansible` run against every
host (so that both pay the same start-up before they reach a host, and every host sees both at the
same moment); once both are done each host's state is read with its round's command by `docker
exec` (the lab host is a container of that name; an `ansible` run costs seconds of CPU a read does
not need). The verdict, per host and round: every run succeeded, and the state is, of the
declarations the writers wrote, exactly the one written last: the module run that took the host
lock last, or, when the restore raced a module, the restore if the lock's record names it last.
`expected` gives each writer's state.

Prints one JSON object {host: [{round, ok, last, matches, why}]}. Writes only through the
collection's modules and units inside the lab platforms (`ansible` connects with the docker
connection); sends no packet.
"""

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# The collection's own names for the lock and the restore program's record in it.
sys.path.insert(0, os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':')[0])
from ansible_collections.netops.docker_firewall.plugins.module_utils._programs import _restore as restore  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import HOST_LOCK  # noqa: E402

RUN_TIMEOUT = 120


def ansible(inventory, hosts, module, args):
    """{host: result} of an ad-hoc run on `hosts` with the JSON callback."""
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    # No other callback: one that prints (profile_tasks, say) would spoil the JSON on stdout.
    env.pop('ANSIBLE_CALLBACKS_ENABLED', None)
    argv = ['ansible', ':'.join(hosts), '-i', inventory, '-m', module, '-a',
            json.dumps(args) if isinstance(args, dict) else args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False, env=env)
    try:
        answered = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']
    except (ValueError, KeyError, IndexError):
        answered = {}
    tail = '%s %s' % (proc.stdout[-500:], proc.stderr[-500:])
    missing = {'failed': True, 'msg': 'no result from ansible (rc %d): %s' % (proc.returncode, tail)}
    return dict((host, answered.get(host) or missing) for host in hosts)


def shell(host, command):
    """{rc, stdout, stderr} of `command` run by sh inside the lab host's container, or failed."""
    argv = ['docker', 'exec', host, 'sh', '-c', command]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {'failed': True, 'msg': 'no answer within %d s: %s' % (RUN_TIMEOUT, command)}
    result = {'rc': proc.returncode, 'stdout': proc.stdout, 'stderr': proc.stderr}
    if proc.returncode:
        result.update(failed=True, msg='rc %d: %s' % (proc.returncode, proc.stderr[-500:]))
    return result


def writer_run(inventory, hosts, writer):
    if 'module' in writer:
        return ansible(inventory, hosts, writer['module'], writer['args'])
    return ansible(inventory, hosts, 'ansible.builtin.command', 'systemctl restart %s' % writer['restore_unit'])


def last_writer(results, writers, lock_record):
    """The label of the writer whose write is the last: the module run that took the host lock last;
    the restore's, when the lock's record names it last."""
    restores = [w for w in writers if 'restore_unit' in w]
    if restores:
        holder = lock_record.split()[1] if len(lock_record.split()) == 3 else None
        others = [w for w in writers if 'restore_unit' not in w]
        return restores[0]['label'] if holder == restore.HOLDER else others[0]['label']
    taken = [(r.get('host_lock') or {}).get('taken_at', 0.0) for r in results]
    return writers[taken.index(max(taken))]['label']


def verdict(round_no, writers, results, state, lock_record, expected):
    failed = [(w['label'], r.get('msg')) for w, r in zip(writers, results) if r.get('failed')]
    if failed:
        return dict(round=round_no, ok=False, why='a run failed: %s' % failed)
    last = last_writer(results, writers, lock_record)
    lines = [line for line in state.splitlines() if line.strip()]
    matches = [label for label, want in expected.items() if lines == want]
    return dict(round=round_no, ok=matches == [last], last=last, matches=matches,
                why='' if matches == [last] else 'in force: %s (lines %s); written last: %s, whose lines are %s'
                % (matches or 'a mix of declarations', lines, last, expected.get(last)))


def read_state(host, spec_round):
    """(state lines, the lock's record) of one host after a round."""
    read = shell(host, '%s; echo "LOCK $(cat %s)"' % (spec_round['read'], HOST_LOCK))
    lines = read.get('stdout', '').splitlines()
    lock = lines.pop()[len('LOCK '):] if lines and lines[-1].startswith('LOCK ') else ''
    return '\n'.join(lines), lock


def race(inventory, rounds_of):
    """{host: [verdict per round]}: every round's two writers started together on every host."""
    hosts = sorted(rounds_of)
    count = len(rounds_of[hosts[0]])
    verdicts = dict((host, []) for host in hosts)
    for index in range(count):
        writers = rounds_of[hosts[0]][index]['writers']
        if any(len(rounds_of[host]) != count or rounds_of[host][index]['writers'] != writers for host in hosts):
            raise ValueError('round %d: the hosts do not race the same writers' % (index + 1))
        with ThreadPoolExecutor(len(writers)) as pool:
            results = list(pool.map(lambda w: writer_run(inventory, hosts, w), writers))
        for host in hosts:
            spec_round = rounds_of[host][index]
            state, lock = read_state(host, spec_round)
            verdicts[host].append(verdict(index + 1, writers, [result[host] for result in results], state, lock,
                                          spec_round['expected']))
        time.sleep(0.2)
    return verdicts


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    inventory, spec = argv[1], json.loads(argv[2])
    print(json.dumps(race(inventory, spec['hosts'])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
