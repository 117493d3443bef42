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
    lab-replay29 docker ARGS...   (/usr/local/bin/docker, ahead of the image's CLI in PATH)

The docker CLI's read-only answers are played too, for what is replayed, so that docker_firewall_info
reads the containers and networks (and the reachability engine the published ports) as on a running
29: `ps --quiet --no-trunc`, `inspect IDS`, `network ls --quiet --no-trunc`, `network inspect IDS`,
and `info --format '{{json .}}'` (without ServerVersion and FirewallBackend: the version and backend
are found as where no dockerd answers). `start` writes them to /run/replay29/docker.json (a container
per network, named after its namespace, with the captured addresses and published ports; the
networks with their bridges, subnets and trusted host interfaces); after `stop` no container runs.
Any other docker command goes to the image's CLI, which finds no dockerd and fails as before.
"""

import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import time

DATA = '/usr/local/share/netops-lab/replay29'
CAPTURE_IPV4 = DATA + '/q6-usernet-published.iptables-save.txt'
CAPTURE_IPV6 = DATA + '/ipv6-iptables.rules'
CAPTURE_NFT = DATA + '/n4-nftables-usernet-published.nft-ruleset.txt'
CAPTURE_NFT6 = DATA + '/ipv6-nftables.nft'
DAEMON_JSON = '/etc/docker/daemon.json'
# Per network (bridge name): {"trusted_host_interfaces": [...]}; written by the scenario.
NETWORKS_JSON = '/etc/netops-lab/replay29-networks.json'
PAGE_DIR = '/run/replay29/www'
# What the docker CLI is answered (docker_objects), and what it was made of (for `stop`).
DOCKER_OBJECTS = '/run/replay29/docker.json'
REPLAYED = '/run/replay29/replayed.json'
# The image's docker CLI: it answers every other command, finding no dockerd.
REAL_DOCKER = '/usr/bin/docker'
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


# A published port as Docker writes its DNAT: host address (-p ADDRESS:PORT:PORT) optional.
SAVE_DNAT = re.compile(r'-A \S+ (?:-d (?P<host_ip>[^\s/]+)/\d+ )?! -i (?P<bridge>\S+) -p (?P<protocol>\w+) -m \w+ '
                       r'--dport (?P<host_port>\d+) -j DNAT --to-destination \[?(?P<address>[0-9a-f.:]+?)\]?:(?P<port>\d+)$')


def new_network():
    return {'subnets': [], 'containers': {}, 'published': []}


def add_published(networks, dnat):
    """A DNAT found: the container's address and port, and the published port (for the docker CLI's answers)."""
    net = networks.setdefault(dnat.group('bridge'), new_network())
    net['containers'][dnat.group('address')] = int(dnat.group('port'))
    net['published'].append(dict(host_ip=dnat.group('host_ip') or '', host_port=dnat.group('host_port'),
                                 address=dnat.group('address'), port=dnat.group('port'),
                                 protocol=dnat.group('protocol')))


def networks_from_save(text):
    """{bridge: {'subnets': [...], 'containers': {address: port}, 'published': [...]}} from the NAT rules."""
    networks = {}
    for line in text.splitlines():
        masq = re.match(r'-A POSTROUTING -s (\S+) ! -o (\S+) -j MASQUERADE$', line)
        if masq:
            networks.setdefault(masq.group(2), new_network())['subnets'].append(masq.group(1))
        dnat = SAVE_DNAT.match(line)
        if dnat:
            add_published(networks, dnat)
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


NFT_DNAT = re.compile(r'(?:ip6? daddr (?P<host_ip>\S+) )?iifname != "(?P<bridge>\S+)" (?P<protocol>\w+) dport (?P<host_port>\d+) '
                      r'counter (?:packets \d+ bytes \d+ )?dnat to \[?(?P<address>[0-9a-f.:]+?)\]?:(?P<port>\d+) ')


def networks_from_nft(text):
    networks = {}
    for line in text.splitlines():
        masq = re.search(r'oifname != "(\S+)" ip6? saddr (\S+) counter masquerade', line)
        if masq:
            networks.setdefault(masq.group(1), new_network())['subnets'].append(masq.group(2))
        dnat = NFT_DNAT.search(line)
        if dnat:
            add_published(networks, dnat)
    return networks


# --- the network Docker's rules act on ----------------------------------------------------------

def merge_networks(*found):
    networks = {}
    for one in found:
        for bridge, net in one.items():
            into = networks.setdefault(bridge, new_network())
            into['subnets'] += [s for s in net['subnets'] if s not in into['subnets']]
            into['containers'].update(net['containers'])
            into['published'] += [p for p in net['published'] if p not in into['published']]
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


# --- what the docker CLI answers of it --------------------------------------------------------

# Docker's names: the default bridge network and the host and none networks every dockerd has.
DEFAULT_BRIDGE = 'docker0'
DEFAULT_NETWORK = 'bridge'
BRIDGE_OPTION = 'com.docker.network.bridge.'
NO_DAEMON = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n'


def object_id(kind, name):
    return hashlib.sha256(('netops-lab replay29 %s %s' % (kind, name)).encode('utf-8')).hexdigest()


def network_id(bridge):
    """Docker names a user network's bridge br-<the first 12 characters of its id>: so does this id."""
    if re.match(r'br-[0-9a-f]{12}$', bridge):
        return bridge[3:] + object_id('network', bridge)[12:]
    return object_id('network', bridge)


def network_name(bridge):
    # The captures hold no network name: the default bridge is Docker's `bridge`, a user network is
    # named after its bridge.
    return DEFAULT_NETWORK if bridge == DEFAULT_BRIDGE else bridge


def family_of(address):
    return 'ipv6' if ':' in address else 'ipv4'


def container_of(bridge, net):
    """The one container the network's namespace plays: its name, id and address per family."""
    addresses = {}
    for address in net['containers']:
        if addresses.setdefault(family_of(address), address) != address:
            raise ReplayError('network %s holds two containers in %s (%s, %s): the replay plays one per network'
                              % (bridge, family_of(address), addresses[family_of(address)], address))
    name = 'ctr-' + bridge
    return dict(name=name, id=object_id('container', name), addresses=addresses)


def docker_objects(networks, trusted, running=True, created='1970-01-01T00:00:00Z'):
    """What `docker inspect` and `docker network inspect` would print of what the replay built, from
    what it parsed of the captures (networks_from_save, networks_from_nft): {'containers': [...],
    'networks': [...]}, the fields shaped as Docker 29 has them. A network per bridge (subnets and
    their gateways; IPv6 enabled where it has an IPv6 subnet; its trusted host interfaces, which
    NETWORKS_JSON gives; gateway mode nat, which Docker records by writing no gateway_mode option,
    as the captures' MASQUERADE shows), a container per network (its namespace, at the captured
    addresses), each published port as `-p HOST_PORT:PORT` records it (HostIp empty; the address
    where the DNAT names one). running false: the containers stopped (`docker ps` lists none, their
    endpoints are gone), the networks stay."""
    containers, found = [], []
    for bridge, net in sorted(networks.items()):
        container = container_of(bridge, net)
        net_id, name = network_id(bridge), network_name(bridge)
        subnets = sorted(net['subnets'], key=lambda subnet: ':' in subnet)
        options = {}
        if bridge == DEFAULT_BRIDGE:
            options.update(dict((BRIDGE_OPTION + key, value) for key, value in (
                ('default_bridge', 'true'), ('enable_icc', 'true'), ('enable_ip_masquerade', 'true'),
                ('host_binding_ipv4', '0.0.0.0'))))
            options['com.docker.network.driver.mtu'] = '1500'
        if bridge == DEFAULT_BRIDGE or not bridge.startswith('br-'):
            options[BRIDGE_OPTION + 'name'] = bridge
        if trusted.get(bridge):
            options[BRIDGE_OPTION + 'trusted_host_interfaces'] = ':'.join(trusted[bridge])
        gateways = dict((family_of(s), str(next(ipaddress.ip_network(s).hosts()))) for s in subnets)
        prefixes = dict((family_of(s), ipaddress.ip_network(s).prefixlen) for s in subnets)
        addresses = container['addresses'] if running else {}
        endpoint = object_id('endpoint', container['name'])
        found.append({
            'Name': name, 'Id': net_id, 'Created': created, 'Scope': 'local', 'Driver': 'bridge',
            'EnableIPv4': True, 'EnableIPv6': any(':' in s for s in subnets),
            'IPAM': {'Driver': 'default', 'Options': None,
                     'Config': [{'Subnet': s, 'Gateway': gateways[family_of(s)]} for s in subnets]},
            'Internal': False, 'Attachable': False, 'Ingress': False, 'ConfigFrom': {'Network': ''},
            'ConfigOnly': False,
            'Containers': {container['id']: {
                'Name': container['name'], 'EndpointID': endpoint, 'MacAddress': '',
                'IPv4Address': '%s/%d' % (addresses['ipv4'], prefixes['ipv4']) if 'ipv4' in addresses else '',
                'IPv6Address': '%s/%d' % (addresses['ipv6'], prefixes['ipv6']) if 'ipv6' in addresses else '',
            }} if addresses else {},
            'Options': options, 'Labels': {},
        })
        bindings, ports = {}, {}
        for published in net['published']:
            key = '%s/%s' % (published['port'], published['protocol'])
            host_ip = published['host_ip']
            wanted = {'HostIp': host_ip, 'HostPort': published['host_port']}
            if wanted not in bindings.setdefault(key, []):
                bindings[key].append(wanted)
            if running:
                bound = {'HostIp': host_ip or ('::' if family_of(published['address']) == 'ipv6' else '0.0.0.0'),
                         'HostPort': published['host_port']}
                if bound not in ports.setdefault(key, []):
                    ports[key].append(bound)
        containers.append({
            'Id': container['id'], 'Created': created, 'Name': '/' + container['name'],
            'State': {'Status': 'running' if running else 'exited', 'Running': running, 'Paused': False,
                      'Restarting': False, 'ExitCode': 0 if running else 143},
            'Config': {'Hostname': container['id'][:12], 'ExposedPorts': dict((key, {}) for key in sorted(bindings)),
                       'Labels': {}},
            'HostConfig': {'NetworkMode': name, 'PortBindings': bindings},
            'NetworkSettings': {'Ports': ports, 'Networks': {name: {
                'NetworkID': net_id, 'EndpointID': endpoint if running else '',
                'Gateway': gateways.get('ipv4', '') if 'ipv4' in addresses else '',
                'IPAddress': addresses.get('ipv4', ''), 'IPPrefixLen': prefixes.get('ipv4', 0) if 'ipv4' in addresses else 0,
                'IPv6Gateway': gateways.get('ipv6', '') if 'ipv6' in addresses else '',
                'GlobalIPv6Address': addresses.get('ipv6', ''),
                'GlobalIPv6PrefixLen': prefixes.get('ipv6', 0) if 'ipv6' in addresses else 0,
            }}},
        })
    for name, driver in (('host', 'host'), ('none', 'null')):
        found.append({'Name': name, 'Id': object_id('network', name), 'Created': created, 'Scope': 'local',
                      'Driver': driver, 'EnableIPv4': True, 'EnableIPv6': False,
                      'IPAM': {'Driver': 'default', 'Options': None, 'Config': []}, 'Internal': False,
                      'Attachable': False, 'Ingress': False, 'ConfigFrom': {'Network': ''}, 'ConfigOnly': False,
                      'Containers': {}, 'Options': {}, 'Labels': {}})
    return {'containers': containers, 'networks': sorted(found, key=lambda n: n['Name'])}


def find(objects, wanted):
    """The object `wanted` names: its id, a unique prefix of it, or its name."""
    exact = [o for o in objects if wanted in (o['Id'], o['Name'], o['Name'].lstrip('/'))]
    prefixed = [o for o in objects if o['Id'].startswith(wanted)]
    return exact[0] if exact else prefixed[0] if len(prefixed) == 1 else None


def docker_answer(args, objects):
    """(rc, stdout, stderr) of the docker commands the collection reads containers and networks
    with; None for any other command (the real CLI then answers it, as it does with no dockerd).
    `info --format {{json .}}` answers too: docker_firewall_info reads containers and networks only
    where it answers. Its answer holds no ServerVersion and no FirewallBackend, which it does not
    replay: the version and backend are found as with no dockerd (daemon.json)."""
    containers, networks = objects['containers'], objects['networks']
    running = [c for c in containers if c['State']['Running']]
    if args == ['info', '--format', '{{json .}}']:
        return 0, json.dumps({'ID': '', 'Containers': len(containers), 'ContainersRunning': len(running),
                              'ContainersPaused': 0, 'ContainersStopped': len(containers) - len(running),
                              'Warnings': ['netops-lab: Docker 29.7.2 replayed from captures, no engine runs']}) + '\n', ''
    if args == ['ps', '--quiet', '--no-trunc']:
        return 0, ''.join(c['Id'] + '\n' for c in reversed(running)), ''
    if args == ['network', 'ls', '--quiet', '--no-trunc']:
        return 0, ''.join(n['Id'] + '\n' for n in networks), ''
    for command, objs, missing in ((['inspect'], containers + networks, 'Error: No such object: %s\n'),
                                   (['network', 'inspect'], networks, 'Error: No such network: %s\n')):
        wanted = args[len(command):]
        if args[:len(command)] == command and wanted and not any(w.startswith('-') for w in wanted):
            found = [(w, find(objs, w)) for w in wanted]
            out = [o for _w, o in found if o is not None]
            err = ''.join(missing % w for w, o in found if o is None)
            return (1 if err else 0), json.dumps(out, indent=4) + '\n', err
    return None


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.new', 'w', encoding='utf-8') as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
    os.replace(path + '.new', path)


def write_docker(networks, trusted, running):
    write_json(REPLAYED, {'networks': networks, 'trusted': trusted})
    write_json(DOCKER_OBJECTS, docker_objects(networks, trusted, running, time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())))


def docker(args):
    """`lab-replay29 docker ARGS`, installed as /usr/local/bin/docker: docker_answer's answers while
    the replay has run; every other command goes to the docker CLI, which finds no dockerd."""
    answer = None
    if os.path.exists(DOCKER_OBJECTS):
        answer = docker_answer(args, json.loads(read(DOCKER_OBJECTS)))
    if answer is None:
        if os.path.exists(REAL_DOCKER):
            os.execv(REAL_DOCKER, [REAL_DOCKER] + args)
        sys.stderr.write(NO_DAEMON)
        return 1
    rc, out, err = answer
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


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
    write_docker(networks, trusted, running=True)
    print('replayed Docker 29.7.2 (%s backend): %s' % (
        settings.get('firewall-backend', 'iptables'),
        ', '.join('%s %s' % (b, ' '.join(sorted(n['containers']))) for b, n in sorted(networks.items()))))


def stop():
    for namespace in run(['ip', 'netns', 'list']).split():
        if namespace.startswith('ctr-'):
            stop_container(namespace)
    if os.path.exists(REPLAYED):
        replayed = json.loads(read(REPLAYED))
        write_docker(replayed['networks'], replayed['trusted'], running=False)


def main(argv):
    if argv[1:2] == ['docker']:
        return docker(argv[2:])
    try:
        {'start': start, 'stop': stop}[argv[1]]()
    except (IndexError, KeyError):
        sys.stderr.write('usage: lab-replay29 start|stop|docker ARGS...\n')
        return 2
    except (ReplayError, OSError, ValueError) as exc:
        sys.stderr.write('lab-replay29: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
