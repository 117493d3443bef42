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
BENCH_NFT_HOST (default replay29-nft), where Docker 29's nftables firewall backend is replayed from
its captured rulesets (the bench scenario's prepare installs the replay, molecule/replay29), and the
module writes the collection's nftables table.

Allowlists at scale: N = 100, 1,000, 10,000 and 50,000 sources from a sources_file, apply and
converged runs against a ping on both hosts, with the DOCKER-USER rule count (ipsets on the
iptables host); and the packet path on BENCH_HOST: the cost of a new connection through the
published port 8080 from the allowed (wan1) and the denied (wan2) test host, with no allowlist,
N linear rules (source_sets: never, wan1 last in address order, so both walk every rule) and
one ipset (source_sets: always), at N = 64 (the auto threshold), 1,000 and 10,000. A new
connection's SYN is filtered in the softirq that the sender's nonblocking connect() runs on the same CPU (veth), so the time of
that call measures its whole way through PREROUTING, DOCKER-USER and, for wan1, the container's
answer; the median of 3,000 calls is shown, and a blocking probe checks reach or blocked.

BENCH_SECTIONS (default rules,nftables,scale,packets) picks what runs.

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
NFT_HOST = os.environ.get('BENCH_NFT_HOST', 'replay29-nft')
REPEAT = int(os.environ.get('BENCH_REPEAT', '3'))
MODULE_N = (10, 100, 1000)
LOOP_N = (10, 100)
SCALE_N = (100, 1000, 10000, 50000)
PACKET_N = (64, 1000, 10000)
PACKET_COUNT = int(os.environ.get('BENCH_PACKETS', '3000'))
PACKET_ROUNDS = int(os.environ.get('BENCH_PACKET_ROUNDS', '3'))
SECTIONS = os.environ.get('BENCH_SECTIONS', 'rules,nftables,scale,packets').split(',')
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


def scale_sources(n):
    """n distinct addresses, four fifths IPv4 (every other address of 198.18.0.0/15), the rest IPv6."""
    count4 = n * 4 // 5
    return ([str(ipaddress.ip_address('198.18.0.0') + 2 * i) for i in range(count4)]
            + [str(ipaddress.ip_address('2001:db8:b::') + 2 * i) for i in range(n - count4)])


def file_playbook(sources_path, host, interface=INTERFACE, extra=''):
    return playbook(
        '    - name: Allowlist from a sources file\n'
        '      netops.docker_firewall.docker_user_allowlist:\n'
        '        interface: %s\n'
        '        sources_file: %s\n%s' % (interface, sources_path, extra), host)


def docker_user_rules(host):
    out = run(['docker', 'exec', host, 'sh', '-c', 'iptables -w -S DOCKER-USER; ip6tables -w -S DOCKER-USER']).stdout
    return len([line for line in out.splitlines() if line.startswith('-A DOCKER-USER')])


def reset_sets(host):
    run(['docker', 'exec', host, 'sh', '-c',
         'for s in $(ipset list -n | grep "^netops-dfw-"); do ipset destroy "$s"; done; true'])


def scale_rows(write, inventory, host, nftables):
    """(ping, [(N, apply, converged, apply tasks, converged tasks, DOCKER-USER rules)])."""
    ping = median_run(write('scale-ping-%s.yml' % host, ping_playbook(host)), inventory)
    rows = []
    for n in SCALE_N:
        if nftables:
            reset_table()
        else:
            reset_chain()
            reset_sets(host)
        sources_path = write('scale-%d.txt' % n, ''.join(line + '\n' for line in scale_sources(n)))
        path = write('scale-%s-%d.yml' % (host, n), file_playbook(sources_path, host))
        apply_s, apply_task = timed_playbook(path, inventory)
        converged_s, converged_task = median_run(path, inventory)
        rules = None if nftables else docker_user_rules(host)
        rows.append((n, apply_s, converged_s, apply_task, converged_task, rules))
    if nftables:
        reset_table()
    else:
        reset_chain()
        reset_sets(host)
    return ping, rows


# Runs in a test host's namespace inside the platform: the time of each nonblocking connect()
# (the SYN's way through the firewall runs in it), the connection then reset; prints the median
# and the mean in nanoseconds.
PROBE = r"""
import socket, struct, sys, time
target, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
linger = struct.pack('ii', 1, 0)
times = []
for index in range(count + 200):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    started = time.perf_counter_ns()
    try:
        sock.connect((target, port))
    except BlockingIOError:
        pass
    if index >= 200:
        times.append(time.perf_counter_ns() - started)
    sock.close()
times.sort()
print(times[len(times) // 2], sum(times) // len(times))
"""


def connect_cost(host, namespace):
    """(median, mean) microseconds of a new connection from `namespace` to 198.51.100.17:8080, and
    whether a blocking probe reached the published port."""
    out = run(['docker', 'exec', host, 'ip', 'netns', 'exec', namespace, 'python3', '-c', PROBE,
               '198.51.100.17', '8080', str(PACKET_COUNT)]).stdout.split()
    reached = subprocess.run(['docker', 'exec', host, '/usr/local/sbin/labnet', 'probe', namespace, '198.51.100.17',
                              '8080'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             timeout=30, check=False).returncode == 0
    return int(out[0]) / 1000.0, int(out[1]) / 1000.0, reached


def packet_rows(write, inventory, host):
    """[(case, N, DOCKER-USER rules, {namespace: (median, mean, reached)})] on the iptables host; each
    figure the median of PACKET_ROUNDS rounds, and the case without an allowlist measured first and
    last (a control of the machine's drift)."""
    cases = [('no allowlist', 0, None)]
    for n in PACKET_N:
        cases += [('linear rules', n, 'never'), ('ipset', n, 'always')]
    cases.append(('no allowlist (again)', 0, None))
    rows = []
    for label, n, mode in cases:
        reset_chain()
        reset_sets(host)
        if mode:
            sources = [str(ipaddress.ip_address('198.18.0.0') + 2 * i) for i in range(n - 1)] + ['198.51.100.18']
            sources_path = write('packets-%d.txt' % n, ''.join(line + '\n' for line in sources))
            timed_playbook(write('packets-%s-%d.yml' % (mode, n),
                                 file_playbook(sources_path, host, 'ext0', '        source_sets: %s\n' % mode)),
                           inventory)
        rules = docker_user_rules(host)
        costs = {}
        for namespace in ('wan1', 'wan2'):
            rounds = [connect_cost(host, namespace) for _round in range(PACKET_ROUNDS)]
            reached = set(r[2] for r in rounds)
            costs[namespace] = (statistics.median(r[0] for r in rounds), statistics.median(r[1] for r in rounds),
                                'reached' if reached == {True} else 'blocked' if reached == {False} else 'MIXED')
        rows.append((label, n, rules, costs))
    reset_chain()
    reset_sets(host)
    return rows


def print_scale(title, ping, rows, nftables):
    print('')
    print(title)
    print('| run | N | apply s | converged s | apply / ping | converged / ping | DOCKER-USER rules |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    print('| ansible.builtin.ping | - | %.2f [%.2f] | %.2f [%.2f] | 1.00 | 1.00 | |' % (ping[0], ping[1], ping[0], ping[1]))
    for n, apply_s, converged_s, apply_task, converged_task, rules in rows:
        print('| docker_user_allowlist | %d | %.2f [%.2f] | %.2f [%.2f] | %.2f | %.2f | %s |'
              % (n, apply_s, apply_task, converged_s, converged_task, apply_s / ping[0], converged_s / ping[0],
                 '-' if nftables else rules))


def print_packets(rows):
    print('')
    print('Packet path on %s: a new connection to published port 8080 (median [mean] microseconds per connect(),'
          ' %d each, median of %d rounds; blocking probe result):' % (HOST, PACKET_COUNT, PACKET_ROUNDS))
    print('| DOCKER-USER | N | rules | wan1 (allowed) us | wan2 (denied) us | wan1 / no allowlist | wan2 / no allowlist |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    base = rows[0][3]
    for label, n, rules, costs in rows:
        print('| %s | %s | %d | %.1f [%.1f] %s | %.1f [%.1f] %s | %.2f | %.2f |'
              % (label, n or '-', rules, costs['wan1'][0], costs['wan1'][1], costs['wan1'][2],
                 costs['wan2'][0], costs['wan2'][1], costs['wan2'][2],
                 costs['wan1'][0] / base['wan1'][0], costs['wan2'][0] / base['wan2'][0]))
    worst = max(costs['wan1'][0] for label, n, rules, costs in rows if label == 'ipset')
    control = min(costs['wan1'][0] for label, n, rules, costs in rows if label.startswith('no allowlist'))
    print('allowed source with the largest set: %.2fx no allowlist (the faster of its two rows; goal: within 1.10x)'
          % (worst / control))


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
    if 'rules' in SECTIONS:
        rules_section(write, inventory)
    if 'nftables' in SECTIONS:
        nftables_section(write, inventory)
    if 'scale' in SECTIONS:
        ping, rows = scale_rows(write, inventory, HOST, False)
        print_scale('Allowlists at scale on %s (Docker\'s iptables backend, source_sets: auto):' % HOST, ping, rows, False)
        ping, rows = scale_rows(write, inventory, NFT_HOST, True)
        print_scale('Allowlists at scale on %s (Docker\'s nftables backend, the collection\'s table):' % NFT_HOST,
                    ping, rows, True)
    if 'packets' in SECTIONS:
        print_packets(packet_rows(write, inventory, HOST))


def rules_section(write, inventory):

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


def nftables_section(write, inventory):
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
