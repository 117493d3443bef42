# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Publishing the ports of standalone containers when Docker keeps out of iptables (a Kubernetes
node). Private to this collection. Pure: no host access, no Ansible imports. The docker_publish
module imports it, and the publisher watcher on the host (_publish_watcher) runs this same file,
installed with the engine by the docker_firewall_engine module, to re-publish a container when it
restarts with a new address.

Rules live in chains the collection owns (never KUBE-* or Docker's), one jump to each from a
built-in chain:
  nat    PREROUTING/OUTPUT -> NETOPS-DFW-PUBLISH: DNAT host port -> container address:port
  filter FORWARD           -> NETOPS-DFW-PUBLISH: ACCEPT the DNATed flow and its replies
Lines are written exactly as iptables-save prints them, so comparing text is enough.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import TAG_PREFIX
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    BUILTIN_CHAINS,
    parse_save,
    restore_text,
)

CHAIN = 'NETOPS-DFW-PUBLISH'
TAG = TAG_PREFIX + 'publish'
FAMILIES = ('ipv4', 'ipv6')
TABLES = ('nat', 'filter')
_LOOPBACK = {'ipv4': '127.0.0.0/8', 'ipv6': '::1/128'}
_HOST_BITS = {'ipv4': 32, 'ipv6': 128}
# Labels of containers that Kubernetes runs (dockershim, cri-dockerd): never standalone.
_KUBERNETES_LABELS = ('io.kubernetes.pod.name', 'io.kubernetes.container.name')
_NETWORKLESS_MODES = ('none', 'host')


def _comment(text):
    # Our tags hold '.', '/' and ':', which iptables-save always prints in double quotes.
    return '-m comment --comment "%s"' % text


def _tag(container):
    return _comment('%s:%s' % (TAG, container))


def jump_lines(family):
    """The jumps into our chains, per table, as iptables-save prints them (insert at the top)."""
    return {
        'nat': [
            ('PREROUTING', '-m addrtype --dst-type LOCAL %s -j %s' % (_comment(TAG), CHAIN)),
            ('OUTPUT', '! -d %s -m addrtype --dst-type LOCAL %s -j %s' % (_LOOPBACK[family], _comment(TAG), CHAIN)),
        ],
        'filter': [
            ('FORWARD', '%s -j %s' % (_comment(TAG), CHAIN)),
        ],
    }


class Binding:
    """One host port of one container, in one family."""

    def __init__(self, container, family, address, host_ip, host_port, container_port, protocol):
        self.container = container
        self.family = family
        self.address = address
        self.host_ip = host_ip
        self.host_port = host_port
        self.container_port = container_port
        self.protocol = protocol

    def as_dict(self):
        return dict(container=self.container, family=self.family, address=self.address,
                    host_ip=self.host_ip or None, host_port=self.host_port,
                    container_port=self.container_port, protocol=self.protocol)


def _family_of(address):
    return 'ipv6' if ipaddress.ip_address(address).version == 6 else 'ipv4'


def container_name(inspect):
    return inspect.get('Name', '').lstrip('/')


def container_addresses(inspect):
    """The container's addresses per family, on the first network that gives one."""
    found = {}
    networks = (inspect.get('NetworkSettings') or {}).get('Networks') or {}
    for name in sorted(networks):
        settings = networks[name] or {}
        for family, key in (('ipv4', 'IPAddress'), ('ipv6', 'GlobalIPv6Address')):
            if settings.get(key) and family not in found:
                found[family] = settings[key]
    return found


def requested_ports(inspect):
    """What `-p` asked for: [(host_ip, host_port, container_port, protocol)], sorted."""
    requested = set()
    for port_proto, host_bindings in ((inspect.get('HostConfig') or {}).get('PortBindings') or {}).items():
        container_port, _slash, protocol = port_proto.partition('/')
        for host_binding in host_bindings or []:
            host_port = (host_binding.get('HostPort') or '').strip()
            if not host_port.isdigit():
                continue  # none or a range: Docker would pick the port, nobody can expect one here
            requested.add((host_binding.get('HostIp') or '', host_port, container_port, protocol or 'tcp'))
    return sorted(requested)


def ports_published_twice(inspect):
    """The container ports ('80/tcp') that `-p` publishes more than once in one address family (on two
    host ports, say): a host address of one family counts for it, none or 0.0.0.0/:: as Docker has them."""
    counts = {}
    for port_proto, host_bindings in ((inspect.get('HostConfig') or {}).get('PortBindings') or {}).items():
        container_port, _slash, protocol = port_proto.partition('/')
        for host_binding in host_bindings or []:
            host_ip = (host_binding or {}).get('HostIp') or ''
            try:
                families = {'': FAMILIES, '0.0.0.0': ('ipv4',), '::': ('ipv6',)}.get(host_ip) or (_family_of(host_ip),)
            except ValueError:
                families = FAMILIES  # not an address Docker would accept: counted for both
            for family in families:
                key = '%s/%s' % (container_port, protocol or 'tcp')
                counts[(key, family)] = counts.get((key, family), 0) + 1
    return sorted(set(key for (key, _family), count in counts.items() if count > 1))


def bindings(inspect):
    """The Bindings to publish for one container (family by family, as its addresses allow)."""
    name = container_name(inspect)
    addresses = container_addresses(inspect)
    result = []
    for host_ip, host_port, container_port, protocol in requested_ports(inspect):
        if host_ip in ('', '0.0.0.0', '::'):
            families = {'': FAMILIES, '0.0.0.0': ('ipv4',), '::': ('ipv6',)}[host_ip]
            specific = None
        else:
            families = (_family_of(host_ip),)
            specific = host_ip
        for family in families:
            if family in addresses:
                result.append(Binding(name, family, addresses[family], specific, host_port, container_port, protocol))
    return result


def _destination(family, address, port):
    return '[%s]:%s' % (address, port) if family == 'ipv6' else '%s:%s' % (address, port)


def _port_match(protocol, option, port):
    return '-p %s -m %s --%s %s' % (protocol, protocol, option, port)


def chain_rules(binding_list, family):
    """Our chains' rules for one family: {'nat': [...], 'filter': [...]} in iptables-save form."""
    bits = _HOST_BITS[family]
    nat, forward = [], []
    for binding in sorted((b for b in binding_list if b.family == family),
                          key=lambda b: (b.container, b.protocol, int(b.host_port), b.host_ip or '')):
        tag = _tag(binding.container)
        local = '-d %s/%d ' % (binding.host_ip, bits) if binding.host_ip else ''
        nat.append('-A %s %s%s %s -j DNAT --to-destination %s' % (
            CHAIN, local, _port_match(binding.protocol, 'dport', binding.host_port), tag,
            _destination(family, binding.address, binding.container_port)))
        inbound = '-A %s -d %s/%d %s -m conntrack --ctstate DNAT %s -j ACCEPT' % (
            CHAIN, binding.address, bits, _port_match(binding.protocol, 'dport', binding.container_port), tag)
        replies = '-A %s -s %s/%d %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT' % (
            CHAIN, binding.address, bits, _port_match(binding.protocol, 'sport', binding.container_port), tag)
        for line in (inbound, replies):
            if line not in forward:
                forward.append(line)
    return {'nat': nat, 'filter': forward}


class TableState:
    """What one table holds of ours: does the chain exist, its rules, the jumps to it."""

    def __init__(self, chain_exists, rules, jumps):
        self.chain_exists = chain_exists
        self.rules = rules
        self.jumps = jumps


def read_table(table):
    """Our part of one table (a parsed iptables-save table, or None when the family has none)."""
    if table is None:
        return TableState(False, [], [])
    # A jump in any form counts: one that is not exactly ours is rewritten.
    jumps = [rule.line for rule in table.rules if rule.chain != CHAIN and jump_target(rule.line) == CHAIN]
    return TableState(CHAIN in table.chains, [rule.line for rule in table.chain_rules(CHAIN)], jumps)


def plan_table(state, desired_rules, table, family, present=True):
    """Restore lines that take one table from `state` to the desired content; [] when converged.
    With present=False, the plan removes our jumps and chain."""
    wanted_jumps = ['-A %s %s' % (chain, rest) for chain, rest in jump_lines(family)[table]]
    have_jumps = state.jumps
    if not present:
        if not state.chain_exists and not have_jumps:
            return []
        lines = ['-D' + line[2:] for line in have_jumps]
        if state.chain_exists:
            lines += ['-F %s' % CHAIN, '-X %s' % CHAIN]
        return lines
    if state.chain_exists and state.rules == desired_rules and sorted(have_jumps) == sorted(wanted_jumps):
        return []
    lines = [':%s - [0:0]' % CHAIN]  # declared: created, or flushed by --noflush restore
    lines += ['-D' + line[2:] for line in have_jumps]
    lines += desired_rules
    lines += ['-I %s 1 %s' % (chain, rest) for chain, rest in jump_lines(family)[table]]
    return lines


def plan_family(save_text, binding_list, family, present=True):
    """Plan one family from its iptables-save output.

    Returns (before, after, payload): our jumps and rules per table before and after, and the
    iptables-restore --noflush payload ('' when converged). None when the family holds nothing of
    ours and there is nothing to publish in it: such a family is not touched at all."""
    tables = parse_save(save_text)
    desired = chain_rules(binding_list, family) if present else dict((t, []) for t in TABLES)
    states = dict((t, read_table(tables.get(t))) for t in TABLES)
    if not any(s.chain_exists or s.jumps for s in states.values()) and not any(desired.values()):
        return None
    plans = dict((t, plan_table(states[t], desired[t], t, family, present)) for t in TABLES)
    before = dict((t, states[t].jumps + states[t].rules) for t in TABLES)
    after = dict((t, (['-A %s %s' % jump for jump in jump_lines(family)[t]] if present else []) + desired[t])
                 for t in TABLES)
    return before, after, restore_text([(t, plans[t]) for t in TABLES if plans[t]])


# Interfaces Docker creates: a rule in a built-in chain that names one is Docker's (20.10 writes
# its FORWARD accepts and POSTROUTING masquerades there, 28 its raw PREROUTING drops).
_DOCKER_INTERFACE = re.compile(r' !? ?-[io] (docker[0-9]+|docker_gwbridge|br-[0-9a-f]{12})( |$)')
# The hairpin masquerade 20.10 writes for each published port: a container talking to itself.
_DOCKER_HAIRPIN = re.compile(r'^-A POSTROUTING -s (\S+)/32 -d \1/32 -p \w+ -m \w+ --dport \d+ -j MASQUERADE$')
# What Docker 20.10 puts in DOCKER-USER when it creates the chain.
_DOCKER_USER_DEFAULT = '-A DOCKER-USER -j RETURN'


def jump_target(line):
    """The chain or target a rule line jumps to (-j or -g), or None."""
    words = line.split()
    for index, word in enumerate(words[:-1]):
        if word in ('-j', '-g'):
            return words[index + 1]
    return None


def docker_rules(save_text):
    """Rules Docker writes when it manages iptables: its chains' rules (DOCKER-USER, where admins
    and this collection write, excepted), the built-in chains' jumps to them, and rules naming its
    interfaces. Docker never writes a comment: a commented rule is another tool's, and so is a jump
    from another tool's chain."""
    found = []
    for line in save_text.splitlines():
        if not line.startswith('-A ') or '--comment' in line:
            continue
        chain, target = line.split()[1], jump_target(line) or ''
        if (chain.startswith('DOCKER') and chain != 'DOCKER-USER') or \
                (target.startswith('DOCKER') and chain in BUILTIN_CHAINS) or \
                line == _DOCKER_USER_DEFAULT or _DOCKER_INTERFACE.search(line) or _DOCKER_HAIRPIN.match(line):
            found.append(line)
    return found


def is_standalone(inspect):
    labels = (inspect.get('Config') or {}).get('Labels') or {}
    return not any(label in labels for label in _KUBERNETES_LABELS)


def ports_text(inspect):
    """What `-p` asked for, as text: '8080/tcp->80, 198.51.100.17:5353/udp->53'."""
    return ', '.join('%s%s/%s->%s' % (host_ip + ':' if host_ip else '', host_port, protocol, container_port)
                     for host_ip, host_port, container_port, protocol in requested_ports(inspect))


def finding(inspect, daemon_settings, published):
    """Why a standalone container's `-p` publishes nothing under these daemon settings, with the
    fix; None when its ports work (or it asks for none). `published`: names this collection publishes."""
    if not is_standalone(inspect) or not requested_ports(inspect):
        return None
    name = container_name(inspect)
    mode = (inspect.get('HostConfig') or {}).get('NetworkMode') or 'default'
    ports = ports_text(inspect)
    if mode == 'host':
        return None  # -p is ignored: the container's own sockets are the host's
    if daemon_settings.get('iptables', True):
        return None  # Docker writes the NAT rules itself
    addresses = container_addresses(inspect)
    base = dict(container=name, ports=ports, network=mode)
    if not addresses:
        where = 'the default network, which does not exist under "bridge: none"' \
            if mode in ('default', 'bridge') and daemon_settings.get('bridge') == 'none' else 'network %s' % mode
        return dict(base, problem='%s publishes %s but has no address on %s: nothing answers on those ports'
                    % (name, ports, where),
                    fix='run it on a user-defined network (docker network create NET; docker run --network NET ...) '
                        'and list it in docker_beside_kube_proxy_publish, or run it as a Kubernetes Pod')
    if name in published:
        return None
    if daemon_settings.get('userland-proxy', True):
        return None  # docker-proxy listens and forwards (the client's address is lost)
    return dict(base, problem='%s publishes %s but Docker writes no NAT rules (iptables: false) and '
                'starts no docker-proxy (userland-proxy: false): nothing answers on those ports' % (name, ports),
                fix='list it in docker_beside_kube_proxy_publish (the collection publishes it in %s), '
                    'or run it as a Kubernetes Pod' % CHAIN)
