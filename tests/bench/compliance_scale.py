# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance at fleet scale (`make bench-compliance`): prints figures, asserts nothing.

Starts BENCH_HOSTS (default 24) light lab hosts: the bookworm lab image with python3 and
iptables, no systemd and no Docker, no network (each has its own empty network namespace,
loaded with a real Docker 28 rule set so that there is something to read). Then, over the same
inventory and connection, in one run, it times whole runs of
  - `ansible -m ansible.builtin.ping`, the floor every Ansible run pays, and
  - `ansible-playbook netops.docker_firewall.compliance` (report written, fail_on_drift off),
and prints the median of BENCH_REPEAT runs of each and their ratio (the project's goal: at most
2x at 24 hosts, 1.5x at 100: BENCH_HOSTS=100), then where one more compliance run spends its
time, task by task. The hosts are removed afterwards.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HOSTS = int(os.environ.get('BENCH_HOSTS', '24'))
REPEAT = int(os.environ.get('BENCH_REPEAT', '3'))
FORKS = int(os.environ.get('BENCH_FORKS', '25'))
IMAGE = os.environ.get('BENCH_IMAGE', 'netops-dfw-lab:bookworm')
PREFIX = 'netops-bench-light-'
HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, '..', 'unit', 'fixtures', 'docker-iptables', 'sid', 'q2-published-default.iptables-save.txt')
TIMEOUT = 600


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, timeout=TIMEOUT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kwargs)


def names():
    return ['%s%02d' % (PREFIX, i) for i in range(HOSTS)]


def start_hosts():
    with open(RULES) as handle:
        rules = handle.read()
    for name in names():
        run(['docker', 'run', '-d', '--name', name, '--network', 'none', '--cap-add', 'NET_ADMIN',
             '--cap-add', 'NET_RAW', IMAGE, 'sleep', 'infinity'])
        run(['docker', 'exec', '-i', name, 'iptables-nft-restore'], input=rules)


def remove_hosts():
    subprocess.run(['docker', 'rm', '-f'] + names(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=TIMEOUT, check=False)


def timed(cmd, env):
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=TIMEOUT, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit('bench: %s failed (rc %d):\n%s' % (' '.join(cmd[:2]), done.returncode, done.stdout[-3000:]))
    return elapsed


def profiled(cmd, env):
    """Where one compliance run spends its time: ansible.posix.profile_tasks' summary, slowest first
    (task, seconds summed over the hosts' slowest, as the callback reports it)."""
    env = dict(env, ANSIBLE_CALLBACKS_ENABLED='ansible.posix.profile_tasks', PROFILE_TASKS_TASK_OUTPUT_LIMIT='8')
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=TIMEOUT, check=False)
    rows = []
    for line in done.stdout.splitlines():
        match = re.match(r'^(.*?) -{3,} (\d+\.\d+)s$', line.strip())
        if match:
            rows.append((match.group(1).strip(), float(match.group(2))))
    return rows


def main():
    binaries = os.path.dirname(sys.executable)
    remove_hosts()
    try:
        start_hosts()
        with tempfile.TemporaryDirectory(prefix='bench-compliance-') as work:
            inventory = os.path.join(work, 'inventory.yml')
            with open(inventory, 'w') as handle:
                handle.write('all:\n  vars:\n    ansible_connection: community.docker.docker\n'
                             '    ansible_python_interpreter: /usr/bin/python3\n  hosts:\n')
                handle.write(''.join('    %s:\n' % name for name in names()))
            env = dict(os.environ, ANSIBLE_FORKS=str(FORKS), ANSIBLE_HOST_KEY_CHECKING='False')
            ping = [os.path.join(binaries, 'ansible'), 'all', '-i', inventory, '-m', 'ansible.builtin.ping']
            compliance = [os.path.join(binaries, 'ansible-playbook'), 'netops.docker_firewall.compliance', '-i',
                          inventory, '-e', 'ansible_become=false', '-e', 'compliance_fail_on_drift=false',
                          '-e', 'compliance_report_dir=%s' % os.path.join(work, 'report')]
            timed(ping, env)  # warm-up: imports and the connection plugin cached
            pings, runs = [], []
            for _round in range(REPEAT):
                pings.append(timed(ping, env))
                runs.append(timed(compliance, env))
            tasks = profiled(compliance, env)
            with open(os.path.join(work, 'report', 'compliance.json')) as handle:
                reported = handle.read().count('"name": "%s' % PREFIX)
    finally:
        remove_hosts()
    ping_s, compliance_s = statistics.median(pings), statistics.median(runs)
    print('hosts: %d (light lab hosts, forks %d), runs: %d each, medians' % (HOSTS, FORKS, REPEAT))
    print('ansible -m ping            %6.2f s   (%s)' % (ping_s, ', '.join('%.2f' % p for p in pings)))
    print('compliance playbook        %6.2f s   (%s)' % (compliance_s, ', '.join('%.2f' % r for r in runs)))
    print('ratio compliance / ping    %6.2f x   (goal: at most 2x); hosts in the report: %d'
          % (compliance_s / ping_s, reported))
    print('where one more compliance run spent its time (ansible.posix.profile_tasks):')
    for task, seconds in tasks:
        print('  %6.2f s  %s' % (seconds, task))


if __name__ == '__main__':
    main()
