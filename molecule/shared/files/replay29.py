"""Docker 29's firewall, replayed on a lab platform that runs no Docker engine.

No Docker 29 package exists for the lab's Debian images, so the Docker 29 rows of the lab run on a
platform whose docker.service is this program: it loads the rulesets a running Docker 29.7.2
wrote (the captures in tests/unit/fixtures/docker-iptables/docker29/, byte for byte apart from
counters) and builds what they act on: the bridges at the captured names and addresses, and a
network namespace per container at the captured address, serving HTTP on the captured container
port with busybox httpd (and on port 81, which no capture publishes). Published ports, Docker's
DNAT, its raw-table drop of direct access and its filter chains then act on real packets exactly as
29 wrote them, beside the collection's rules.

What it does, as dockerd does (each from the captures or measured on a running 29, see
CONTRIBUTING.md): the firewall backend is daemon.json's "firewall-backend"; on the iptables backend it
switches net.ipv4.ip_forward on and sets the FORWARD policy to DROP when forwarding was off
(IPv6 likewise where an IPv6 network exists), keeps DOCKER-USER's rules and puts the jumps to
DOCKER-USER and DOCKER-FORWARD first in FORWARD; on the nftables backend it refuses to start while
forwarding is off and replaces its tables `ip docker-bridges` and `ip6 docker-bridges` whole.
"allow-direct-routing" and a network's trusted host interfaces change the raw-table drop the way
the engine's source writes them (iptabler/nftabler endpoint.go, filterDirectAccess).
What it cannot show is dockerd's own lifecycle: how 29 rebuilds its tables on a restart or a
firewalld reload, its refusal to start without nft, a switch of backend. The IPv6 side of the
user network is not captured: ipv6-iptables.rules and ipv6-nftables.nft write it as the capture's
IPv4 side with the network's IPv6 addresses.

    lab-replay29 start    (ExecStart of the platform's docker.service)
    lab-replay29 stop     (ExecStop: the containers stop; rules and bridges stay, as with dockerd)
"""

import ipaddress
import json
import os
import re
import subprocess
import sys

DATA = '/usr/local/share/netops-lab/replay29'
CAPTURE_IPV4 = DATA + '/q6-usernet-published.iptables-save.txt'
CAPTURE_IPV6 = DATA + '/ipv6-iptables.rules'
CAPTURE_NFT = DATA + '/n4-nftables-usernet-published.nft-ruleset.txt'
CAPTURE_NFT6 = DATA + '/ipv6-nftables.nft'
DAEMON_JSON = '/etc/docker/daemon.json'
# Per network (bridge name): {"trusted_host_interfaces": [...]}; written by the scenario.
NETWORKS_JSON = '/etc/netops-lab/replay29-networks.json'
PAGE_DIR = '/run/replay29/www'
PAGE = 'netops-lab nested container\n'
UNPUBLISHED_PORT = 81
BUILTIN = {'INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING'}
FORWARDING = {4: '/proc/sys/net/ipv4/ip_forward', 6: '/proc/sys/net/ipv6/conf/all/forwarding'}


class ReplayError(Exception):
    pass


def run(argv, stdin=None):
    env = {'LC_ALL': 'C', 'PATH': os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise ReplayError('%s failed (rc %d): %s' % (' '.join(argv), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def read(path, default=None):
    if default is not None and not os.path.exists(path):
        return default
    with open(path, encoding='utf-8') as handle:
        return handle.read()


# --- iptables-save text ------------------------------------------------------------------------

def parse_save(text):
    """{table: {'chains': [name, ...], 'rules': [line, ...]}} in the order of the text."""
    tables, table = {}, None
    for line in text.splitlines():
        if line.startswith('*'):
            table = tables.setdefault(line[1:], {'chains': [], 'rules': []})
        elif line.startswith(':') and table is not None:
            table['chains'].append(line[1:].split()[0])
        elif line.startswith('-A ') and table is not None:
            table['rules'].append(line)
    return tables


def direct_access_rules(rules, allow_direct_routing, trusted):
    """The raw PREROUTING drops as 29 writes them: none under allow-direct-routing, and an ACCEPT
    per trusted host interface of the network before its drop."""
    out = []
    for line in rules:
        match = re.match(r'-A PREROUTING -d (\S+) ! -i (\S+) -j DROP$', line)
        if match is None:
            out.append(line)
            continue
        if allow_direct_routing:
            continue
        out += ['-A PREROUTING -d %s -i %s -j ACCEPT' % (match.group(1), name) for name in trusted.get(match.group(2), [])]
        out.append(line)
    return out


def is_trusted_accept(rule, captured):
    """A trusted host interface's raw ACCEPT for a container the capture drops direct access to."""
    match = re.match(r'-A PREROUTING -d (\S+) -i \S+ -j ACCEPT$', rule)
    return match is not None and any(line.startswith('-A PREROUTING -d %s ! -i ' % match.group(1)) for line in captured)


def iptables_payload(capture, current, allow_direct_routing, trusted):
    """iptables-restore --noflush input that puts Docker's chains in place as dockerd does: its own
    chains flushed and written, DOCKER-USER kept (created when missing), its rules in the built-in
    chains moved to the top in the captured order."""
    lines = []
    for name, table in capture.items():
        have = current.get(name, {'chains': [], 'rules': []})
        rules = direct_access_rules(table['rules'], allow_direct_routing, trusted) if name == 'raw' else table['rules']
        lines.append('*' + name)
        for chain in table['chains']:
            if chain in BUILTIN:
                lines.append(':%s - [0:0]' % chain)
            elif chain != 'DOCKER-USER' or chain not in have['chains']:
                lines.append(':%s - [0:0]' % chain)
        ours = [rule for rule in rules if rule.split()[1] in BUILTIN]
        stale = [rule for rule in have['rules'] if rule.split()[1] in BUILTIN
                 and (rule in table['rules'] + ours or is_trusted_accept(rule, table['rules']))]
        lines += ['-D' + rule[2:] for rule in stale]
        position = {}
        for rule in ours:
            chain = rule.split()[1]
            position[chain] = position.get(chain, 0) + 1
            lines.append('-I %s %d %s' % (chain, position[chain], rule.split(None, 2)[2]))
        lines += [rule for rule in rules if rule.split()[1] not in BUILTIN]
        lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


def networks_from_save(text):
    """{bridge: {'subnets': [...], 'containers': {address: port}}} from the NAT and raw rules."""
    networks = {}
    for line in text.splitlines():
        masq = re.match(r'-A POSTROUTING -s (\S+) ! -o (\S+) -j MASQUERADE$', line)
        if masq:
            networks.setdefault(masq.group(2), {'subnets': [], 'containers': {}})['subnets'].append(masq.group(1))
        dnat = re.search(r'! -i (\S+) .*-j DNAT --to-destination \[?([0-9a-f.:]+?)\]?:(\d+)$', line)
        if dnat:
            networks.setdefault(dnat.group(1), {'subnets': [], 'containers': {}})['containers'][dnat.group(2)] = int(dnat.group(3))
    return networks


# --- nft text -----------------------------------------------------------------------------------

def nft_table(text, family, name='docker-bridges'):
    """The text of `table FAMILY NAME { ... }` in a ruleset listing, counters reset."""
    match = re.search(r'^table %s %s \{$.*?^\}$' % (family, re.escape(name)), text, re.M | re.S)
    if match is None:
        raise ReplayError('no table %s %s in the capture' % (family, name))
    return re.sub(r' counter packets \d+ bytes \d+', ' counter', match.group(0))


def nft_direct_access(table, allow_direct_routing, trusted):
    out = []
    for line in table.splitlines():
        match = re.search(r'iifname != "(\S+)" counter drop comment "DROP DIRECT ACCESS"', line)
        if match is None:
            out.append(line)
        elif not allow_direct_routing:
            names = [match.group(1)] + trusted.get(match.group(1), [])
            if len(names) > 1:
                line = line.replace('iifname != "%s"' % names[0], 'iifname != { %s }' % ', '.join('"%s"' % n for n in names))
            out.append(line)
    return '\n'.join(out)


def networks_from_nft(text):
    networks = {}
    for line in text.splitlines():
        masq = re.search(r'oifname != "(\S+)" ip6? saddr (\S+) counter masquerade', line)
        if masq:
            networks.setdefault(masq.group(1), {'subnets': [], 'containers': {}})['subnets'].append(masq.group(2))
        dnat = re.search(r'iifname != "(\S+)" .*dnat to \[?([0-9a-f.:]+?)\]?:(\d+) ', line)
        if dnat:
            networks.setdefault(dnat.group(1), {'subnets': [], 'containers': {}})['containers'][dnat.group(2)] = int(dnat.group(3))
    return networks


# --- the network Docker's rules act on ----------------------------------------------------------

def merge_networks(*found):
    networks = {}
    for one in found:
        for bridge, net in one.items():
            into = networks.setdefault(bridge, {'subnets': [], 'containers': {}})
            into['subnets'] += [s for s in net['subnets'] if s not in into['subnets']]
            into['containers'].update(net['containers'])
    return networks


def gateway(subnet):
    return '%s/%d' % (next(ipaddress.ip_network(subnet).hosts()), ipaddress.ip_network(subnet).prefixlen)


def links():
    return set(line.split(':')[1].strip().split('@')[0] for line in run(['ip', '-o', 'link', 'show']).splitlines())


def build_network(networks):
    """A bridge per network with its gateways, and a namespace per network playing its container.
    The networks of the other backend's capture (other bridge names) are removed first."""
    for namespace in run(['ip', 'netns', 'list']).split():
        if namespace.startswith('ctr-') and namespace[4:] not in networks:
            stop_container(namespace)
            run(['ip', 'netns', 'del', namespace])
            if namespace[4:] in links():
                run(['ip', 'link', 'del', namespace[4:]])
    existing = links()
    for bridge, net in sorted(networks.items()):
        if bridge not in existing:
            run(['ip', 'link', 'add', bridge, 'type', 'bridge'])
            for subnet in net['subnets']:
                run(['ip', 'addr', 'add', gateway(subnet), 'dev', bridge] + (['nodad'] if ':' in subnet else []))
        run(['ip', 'link', 'set', bridge, 'up'])
        namespace = 'ctr-' + bridge
        if namespace not in run(['ip', 'netns', 'list']).split():
            veth = 'veth' + bridge[-8:]
            run(['ip', 'netns', 'add', namespace])
            run(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace])
            run(['ip', 'link', 'set', veth, 'master', bridge, 'up'])
            run(['ip', '-n', namespace, 'link', 'set', 'lo', 'up'])
            run(['ip', '-n', namespace, 'link', 'set', 'eth0', 'up'])
            for address in net['containers']:
                subnet = next(s for s in net['subnets'] if ipaddress.ip_address(address) in ipaddress.ip_network(s))
                prefix = ipaddress.ip_network(subnet).prefixlen
                run(['ip', '-n', namespace, 'addr', 'add', '%s/%d' % (address, prefix), 'dev', 'eth0']
                    + (['nodad'] if ':' in address else []))
                run(['ip', '-n', namespace] + (['-6'] if ':' in address else []) + [
                    'route', 'replace', 'default', 'via', gateway(subnet).split('/')[0]])
        # The container ports the captures publish, and one they do not (what Docker filters).
        start_container(namespace, sorted(set(net['containers'].values())) + [UNPUBLISHED_PORT])


def start_container(namespace, ports):
    os.makedirs(PAGE_DIR, exist_ok=True)
    with open(os.path.join(PAGE_DIR, 'index.html'), 'w', encoding='utf-8') as handle:
        handle.write(PAGE)
    stop_container(namespace)
    for port in ports:
        run(['ip', 'netns', 'exec', namespace, 'busybox', 'httpd', '-p', str(port), '-h', PAGE_DIR])


def stop_container(namespace):
    if namespace in run(['ip', 'netns', 'list']).split():
        for pid in run(['ip', 'netns', 'pids', namespace]).split():
            try:
                os.kill(int(pid), 15)
            except ProcessLookupError:
                pass


# --- start and stop -----------------------------------------------------------------------------

def forwarding(family):
    return read(FORWARDING[family]).strip() == '1'


def start_iptables(settings, trusted):
    allow = settings.get('allow-direct-routing') is True
    v4, v6 = read(CAPTURE_IPV4), read(CAPTURE_IPV6)
    networks = merge_networks(networks_from_save(v4), networks_from_save(v6))
    for family, text, tool in ((4, v4, 'iptables'), (6, v6, 'ip6tables')):
        if family == 6 and not any(':' in s for n in networks.values() for s in n['subnets']):
            continue
        if not forwarding(family):
            with open(FORWARDING[family], 'w', encoding='ascii') as handle:
                handle.write('1\n')
            run([tool, '-w', '-P', 'FORWARD', 'DROP'])
        payload = iptables_payload(parse_save(text), parse_save(run([tool + '-save'])), allow, trusted)
        run([tool + '-restore', '-w', '--noflush'], stdin=payload)
    return networks


def start_nftables(settings, trusted):
    allow = settings.get('allow-direct-routing') is True
    for family in (4, 6):
        if not forwarding(family):
            raise ReplayError('IPv%d forwarding is off: Docker 29 on its nftables firewall backend does not switch it '
                              'on and refuses to start' % family)
    capture, ipv6 = read(CAPTURE_NFT), read(CAPTURE_NFT6)
    tables = [nft_table(capture, 'ip'), nft_table(ipv6, 'ip6')]
    payload = ''.join('table %s docker-bridges\ndelete table %s docker-bridges\n' % (f, f) for f in ('ip', 'ip6'))
    payload += '\n'.join(nft_direct_access(table, allow, trusted) for table in tables) + '\n'
    run(['nft', '-f', '-'], stdin=payload)
    return merge_networks(*(networks_from_nft(table) for table in tables))


def start():
    settings = json.loads(read(DAEMON_JSON, '{}') or '{}')
    trusted = dict((bridge, net.get('trusted_host_interfaces', []))
                   for bridge, net in json.loads(read(NETWORKS_JSON, '{}')).items())
    if settings.get('firewall-backend') == 'nftables':
        networks = start_nftables(settings, trusted)
    else:
        networks = start_iptables(settings, trusted)
    build_network(networks)
    print('replayed Docker 29.7.2 (%s backend): %s' % (
        settings.get('firewall-backend', 'iptables'),
        ', '.join('%s %s' % (b, ' '.join(sorted(n['containers']))) for b, n in sorted(networks.items()))))


def stop():
    for namespace in run(['ip', 'netns', 'list']).split():
        if namespace.startswith('ctr-'):
            stop_container(namespace)


def main(argv):
    try:
        {'start': start, 'stop': stop}[argv[1]]()
    except (IndexError, KeyError):
        sys.stderr.write('usage: lab-replay29 start|stop\n')
        return 2
    except (ReplayError, OSError, ValueError) as exc:
        sys.stderr.write('lab-replay29: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
