# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""DOCKER-USER and nftables benchmark (`make bench`): prints figures, asserts nothing.

On one lab platform (BENCH_HOST, default docker28) and the same connection, it times whole
ansible-playbook runs of:
  - a ping (the floor every Ansible task pays),
  - docker_user_allowlist with N = 10, 100, 1000 sources (apply, then converged re-runs),
  - the equivalent ansible.builtin.iptables loop with N = 10, 100 (apply, then converged re-runs),
and prints the ratios the project targets: at N=100 the module at least 50x faster than the
loop, and a converged module run at most 1.5x a ping at any N. Then the same module rows on
BENCH_NFT_HOST (default docker29), whose Docker runs its nftables firewall backend (the bench
scenario's prepare switches it), where the module writes the collection's nftables table.

The platforms come from `molecule create/prepare -s bench`; rules are only ever written inside
the platform container. The sources are benchmarking (198.18.0.0/15) and documentation addresses;
no packet is sent to them.
"""

import datetime
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HOST = os.environ.get('BENCH_HOST', 'docker28')
NFT_HOST = os.environ.get('BENCH_NFT_HOST', 'docker29')
REPEAT = int(os.environ.get('BENCH_REPEAT', '3'))
MODULE_N = (10, 100, 1000)
LOOP_N = (10, 100)
RUN_TIMEOUT = 900
INTERFACE = 'bench0'


def sources(n):
    """n distinct addresses, IPv4 first (768), then IPv6: every other address, so that the module's
    merging of adjacent entries leaves one rule per source."""
    ipv4 = [str(ipaddress.ip_address('198.18.0.0') + 2 * i) for i in range(min(n, 768))]
    ipv6 = [str(ipaddress.ip_address('2001:db8:b::') + 2 * i) for i in range(max(0, n - 768))]
    return ipv4 + ipv6


def yaml_list(items, indent):
    return '\n'.join('%s- "%s"' % (' ' * indent, item) for item in items)


def playbook(tasks, host=HOST):
    return '---\n- name: Benchmark\n  hosts: %s\n  gather_facts: false\n  tasks:\n%s\n' % (host, tasks)


def ping_playbook(host=HOST):
    return playbook('    - name: Ping\n      ansible.builtin.ping:\n', host)


def module_playbook(n, host=HOST):
    return playbook(
        '    - name: Allowlist of %d sources\n'
        '      netops.docker_firewall.docker_user_allowlist:\n'
        '        interface: %s\n'
        '        sources:\n%s\n' % (n, INTERFACE, yaml_list(sources(n), 10)), host)


def loop_playbook(n):
    return playbook(
        '    - name: Allowlist of %d sources, one rule at a time\n'
        '      ansible.builtin.iptables:\n'
        '        chain: DOCKER-USER\n'
        '        in_interface: %s\n'
        '        source: "{{ item }}"\n'
        '        jump: RETURN\n'
        '      loop:\n%s\n'
        '    - name: Drop the rest\n'
        '      ansible.builtin.iptables:\n'
        '        chain: DOCKER-USER\n'
        '        in_interface: %s\n'
        '        jump: DROP\n' % (n, INTERFACE, yaml_list(sources(n), 8), INTERFACE))


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, timeout=RUN_TIMEOUT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, **kwargs)


def _seconds(duration):
    parse = datetime.datetime.fromisoformat
    return (parse(duration['end'].rstrip('Z')) - parse(duration['start'].rstrip('Z'))).total_seconds()


def timed_playbook(path, inventory):
    """(whole ansible-playbook run, sum of its tasks' own durations) in seconds."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json')
    started = time.monotonic()
    try:
        output = run(['ansible-playbook', '-i', inventory, path], env=env).stdout
    except subprocess.CalledProcessError as exc:
        sys.exit('benchmark run failed: %s\n%s' % (path, exc.stdout[-3000:]))
    wall = time.monotonic() - started
    report = json.loads(output[output.index('{'):])
    tasks = sum(_seconds(task['task']['duration']) for play in report['plays'] for task in play['tasks'])
    return wall, tasks


def median_run(path, inventory):
    runs = [timed_playbook(path, inventory) for repetition in range(REPEAT)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def reset_chain():
    """Back to Docker's own DOCKER-USER content (inside the platform container only)."""
    run(['docker', 'exec', HOST, 'sh', '-c', 'iptables -w -F DOCKER-USER; ip6tables -w -F DOCKER-USER 2>/dev/null; true'])


def reset_table():
    """No table of the collection's on the nftables host (inside the platform container only)."""
    run(['docker', 'exec', NFT_HOST, 'sh', '-c', 'nft delete table inet netops-docker-firewall 2>/dev/null; true'])


def nftables_rows(write, inventory):
    """(ping, [(N, apply, converged, apply tasks, converged tasks)]) on the nftables host."""
    backend = run(['docker', 'exec', NFT_HOST, 'docker', 'info', '--format', '{{.FirewallBackend.Driver}}']).stdout.strip()
    if backend != 'nftables':
        sys.exit('%s runs the %s firewall backend, not nftables (molecule prepare -s bench switches it)'
                 % (NFT_HOST, backend))
    ping = median_run(write('nft-ping.yml', ping_playbook(NFT_HOST)), inventory)
    rows = []
    for n in MODULE_N:
        reset_table()
        path = write('nft-module-%d.yml' % n, module_playbook(n, NFT_HOST))
        apply_s, apply_task = timed_playbook(path, inventory)
        converged_s, converged_task = median_run(path, inventory)
        rows.append((n, apply_s, converged_s, apply_task, converged_task))
    reset_table()
    return ping, rows


def main():
    workdir = tempfile.mkdtemp(prefix='dfw-bench-')
    inventory = os.path.join(workdir, 'inventory.ini')
    with open(inventory, 'w') as handle:
        for host in (HOST, NFT_HOST):
            handle.write('%s ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n'
                         % host)

    def write(name, text):
        path = os.path.join(workdir, name)
        with open(path, 'w') as handle:
            handle.write(text)
        return path

    version = run(['docker', 'exec', HOST, 'docker', 'version', '--format', '{{.Server.Version}}']).stdout.strip()
    print('host %s: Docker %s, %d repetitions of every converged or ping run' % (HOST, version, REPEAT))

    ping, ping_task = median_run(write('ping.yml', ping_playbook()), inventory)
    rows = []
    for kind, sizes, make in (('docker_user_allowlist', MODULE_N, module_playbook),
                              ('ansible.builtin.iptables loop', LOOP_N, loop_playbook)):
        for n in sizes:
            reset_chain()
            path = write('%s-%d.yml' % (kind.split()[0], n), make(n))
            apply_s, apply_task = timed_playbook(path, inventory)
            converged_s, converged_task = median_run(path, inventory)
            rows.append((kind, n, apply_s, converged_s, apply_task, converged_task))
    reset_chain()

    print('')
    print('Whole ansible-playbook runs (what an operator waits for) and, in brackets, the tasks alone:')
    print('| run | N | apply s | converged s | converged / ping |')
    print('|---|---:|---:|---:|---:|')
    print('| ansible.builtin.ping | - | %.2f [%.2f] | %.2f [%.2f] | 1.00 |' % (ping, ping_task, ping, ping_task))
    for kind, n, apply_s, converged_s, apply_task, converged_task in rows:
        print('| %s | %d | %.2f [%.2f] | %.2f [%.2f] | %.2f |'
              % (kind, n, apply_s, apply_task, converged_s, converged_task, converged_s / ping))
    print('')
    times = dict(((kind.split()[0], n), row[2:]) for row in rows for kind, n in [row[:2]])
    for n in LOOP_N:
        module = times[('docker_user_allowlist', n)]
        loop = times[('ansible.builtin.iptables', n)]
        print('N=%d: module vs loop: apply %.1fx faster (tasks alone %.0fx), converged %.1fx faster (tasks alone %.0fx)'
              % (n, loop[0] / module[0], loop[2] / module[2], loop[1] / module[1], loop[3] / module[3]))
    worst = max(row[3] for row in rows if row[0] == 'docker_user_allowlist') / ping
    print('worst converged module run: %.2fx a ping (target <= 1.5x)' % worst)

    nft_version = run(['docker', 'exec', NFT_HOST, 'docker', 'version', '--format', '{{.Server.Version}}']).stdout.strip()
    (nft_ping, nft_ping_task), nft_rows = nftables_rows(write, inventory)
    print('')
    print('host %s: Docker %s on its nftables firewall backend (the collection\'s nftables table):' % (NFT_HOST, nft_version))
    print('| run | N | apply s | converged s | apply / ping | converged / ping |')
    print('|---|---:|---:|---:|---:|---:|')
    print('| ansible.builtin.ping | - | %.2f [%.2f] | %.2f [%.2f] | 1.00 | 1.00 |'
          % (nft_ping, nft_ping_task, nft_ping, nft_ping_task))
    for n, apply_s, converged_s, apply_task, converged_task in nft_rows:
        print('| docker_user_allowlist | %d | %.2f [%.2f] | %.2f [%.2f] | %.2f | %.2f |'
              % (n, apply_s, apply_task, converged_s, converged_task, apply_s / nft_ping, converged_s / nft_ping))


if __name__ == '__main__':
    main()
