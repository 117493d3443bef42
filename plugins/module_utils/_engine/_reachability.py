# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who can open a connection to a published port: the first packet of a NEW connection walked
through one family's iptables rules (iptables-save text of either variant, nft or legacy), exactly,
for every incoming interface and every source address at once. Private to this collection. Pure: no
host access, no Ansible imports. docs/reachability.md explains the model and its limits.

The packet space of one question (one published port, one container address for routed access, or
one address the host forwards to, in one family) is split into slices: (incoming interface,
destination address, source addresses as an interval set, source ports as an interval set).
Interfaces are the host's, named, plus one class per wildcard of the rules (`docker+`: an interface
not listed whose name starts with `docker`) and `+` (any other interface); destinations are the
host's own addresses (a published port), the container's address (routed access), or the address
asked about (forwarded). Each rule splits a slice into the part its matches hold for and the rest,
so the answer is exact over that space. The walk:

  raw PREROUTING, mangle PREROUTING, nat PREROUTING (DNAT)   the first packet of the connection
  routing: a local address -> mangle INPUT, filter INPUT      delivered to the host's socket (docker-proxy)
           a connected subnet -> mangle FORWARD, filter FORWARD (when forwarding is on)
                                                                delivered to the container (or out
                                                                to the forwarded address)

with ACCEPT, DROP, REJECT, RETURN, jumps, gotos and chain policies. A match or a target this module
does not model, a jump to a chain that does not exist, a set that was not given, a destination with
no known route, or a table of nftables beside the rules that is not walked make the affected slice
`unknown`, naming the rule: the engine never answers "unreachable" for what it could not read, nor
"reachable" where an unmodelled table could still drop.

nftables (`nft list ruleset`, read by _nft_ruleset): the base chains of its ip/ip6/inet tables (Docker
29's docker-bridges, the collection's table, firewalld's...) are walked among iptables' tables, by
priority at each hook (prerouting, input, forward, and postrouting filter chains for what is forwarded).
An accept ends one base chain only: the next one at the hook still sees the packet. NAT chains of
prerouting run inside NAT's one hook (-100), and the first that rewrites the destination ends them.
Base chains at one priority run in the order the kernel registered them, which no listing tells: every
order is walked, and where they end otherwise the slice is `unknown`. A verdict map is a rule per element,
its key one match per part where it is a concatenation (`ip daddr . meta l4proto . th dport vmap @service-ips`,
kube-proxy's); a set of concatenations is one match, the union of its elements. `numgen ... vmap` walks every
branch (the kernel picks one per packet; where they end otherwise the slice is `unknown`); a mark set is passed
over, as every match on a mark is `unknown`. A reverse-path lookup (`fib saddr [. mark] [. iif] oif missing`,
firewalld's IPv6 check) splits the sources by the host's IPv6 routes (_routing, given as `routing`): those whose
lookup the kernel's version or state decides are `unknown`, the rest go on or match exactly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import itertools
import time

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft_ruleset as nft_ruleset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _routing as routing_engine
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    bindings,
    container_addresses,
    container_name,
    requested_ports,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    RuleSyntaxError,
    merge_spans,
    parse_save,
)

FAMILIES = ('ipv4', 'ipv6')
_BITS = {'ipv4': 32, 'ipv6': 128}
_LOOPBACK = {'ipv4': '127.0.0.0/8', 'ipv6': '::1/128'}
_ALL_PORTS = ((0, 65535),)
_PROTOCOLS = {'tcp': 6, 'udp': 17, 'sctp': 132}
# The iptables tables of each hook walked, and their priorities (nftables base chains sit among them).
_HOOKS = {
    'PREROUTING': ('raw', 'mangle', 'nat'),
    'INPUT': ('mangle', 'filter'),
    'FORWARD': ('mangle', 'filter'),
}
_XT_PRIORITIES = {'raw': -300, 'mangle': -150, 'nat': -100, 'filter': 0}
# Conntrack sees the packet at -200 (a base chain at or before it sees it untracked); NAT runs at -100.
_CONNTRACK_PRIORITY = -200
_NAT_PRIORITY = -100
# Targets that let the packet go on to the next rule and change nothing the walk depends on.
_CONTINUE = frozenset(('LOG', 'NFLOG', 'ULOG', 'TRACE', 'TCPMSS', 'CHECKSUM', 'AUDIT'))
# The tables iptables-nft keeps its rules in (not a table of their own beside the rules).
_XTABLES = frozenset(('filter', 'nat', 'raw', 'mangle', 'security'))
_NFT_FAMILIES = {'ipv4': ('ip', 'inet', 'netdev', 'bridge'), 'ipv6': ('ip6', 'inet', 'netdev', 'bridge')}
# A TCP SYN, the first packet of a NEW connection.
_TCP_FLAGS = ('FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR')
REACHABLE, UNKNOWN, UNREACHABLE = 'reachable', 'unknown', 'unreachable'


class _Unknown(Exception):
    """A match or target the walk does not model."""


# ---------------------------------------------------------------------------------------------
# Interval sets: sorted, merged tuples of (first, last) integers.


def _intersect(left, right):
    found, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        first, last = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if first <= last:
            found.append((first, last))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return tuple(found)


def _subtract(left, right):
    found = []
    for first, last in left:
        for cut_first, cut_last in right:
            if cut_last < first or cut_first > last:
                continue
            if cut_first > first:
                found.append((first, cut_first - 1))
            first = cut_last + 1
            if first > last:
                break
        if first <= last:
            found.append((first, last))
    return tuple(found)


def _union(left, right):
    return tuple(merge_spans(list(left) + list(right)))


# ---------------------------------------------------------------------------------------------
# Interfaces: the host's, named, and representatives of the names no one listed.


class Interface:
    """A named interface, or (other=True) every unlisted interface whose name starts with `name`
    and with no longer wildcard of the rules: '' is any other interface."""

    __slots__ = ('name', 'other')

    def __init__(self, name, other=False):
        self.name = name
        self.other = other

    def matches(self, pattern):
        if pattern.endswith('+'):
            return self.name.startswith(pattern[:-1])
        return not self.other and self.name == pattern

    @property
    def label(self):
        return self.name + '+' if self.other else self.name

    def __eq__(self, other):
        return isinstance(other, Interface) and (self.name, self.other) == (other.name, other.other)

    def __hash__(self):
        return hash((self.name, self.other))

    def __repr__(self):
        return 'Interface(%r)' % self.label


def interface_classes(names, tables, patterns=()):
    """The listed interfaces (but lo: the host's own connections are not modelled), the names the
    rules give that are not listed, a representative of every wildcard of the rules, and '+'.
    patterns: more names and wildcards ('wg+') the rules match (nftables')."""
    listed = set(name for name in names if name != 'lo')
    wildcards = set([''])
    values = set(patterns)
    for table in tables.values():
        for rule in table.rules:
            try:
                base = _key(rule)[0]
            except RuleSyntaxError:
                continue  # the walk makes what it matches unknown
            values.update(value for name, _negate, value in base if name in ('i', 'o'))
    for value in values:
        if value.endswith('+'):
            wildcards.add(value[:-1])
        elif value and value != 'lo':
            listed.add(value)
    return [Interface(name) for name in sorted(listed)] + [Interface(prefix, True) for prefix in sorted(wildcards)]


# ---------------------------------------------------------------------------------------------
# The packet and the slices of the space.


class Packet:
    """What is fixed for a slice: destination and port now and before DNAT, whether DNAT happened,
    the outgoing interface (after routing), whether conntrack has seen the packet (not in raw)."""

    __slots__ = ('protocol', 'dst', 'dport', 'orig_dst', 'orig_dport', 'dnat', 'out', 'tracked')

    def __init__(self, protocol, dst, dport, orig_dst=None, orig_dport=None, dnat=False, out=None, tracked=False):
        self.protocol = protocol
        self.dst = dst
        self.dport = dport
        self.orig_dst = dst if orig_dst is None else orig_dst
        self.orig_dport = dport if orig_dport is None else orig_dport
        self.dnat = dnat
        self.out = out
        self.tracked = tracked

    def but(self, **changes):
        values = dict((name, getattr(self, name)) for name in self.__slots__)
        values.update(changes)
        return Packet(**values)


class Flow:
    """One slice on its way: incoming interface, sources and source ports (interval sets), the
    packet, and the path (the rules that decided so far)."""

    __slots__ = ('interface', 'sources', 'sports', 'packet', 'path')

    def __init__(self, interface, sources, sports, packet, path=()):
        self.interface = interface
        self.sources = sources
        self.sports = sports
        self.packet = packet
        self.path = path

    def but(self, **changes):
        values = dict((name, getattr(self, name)) for name in self.__slots__)
        values.update(changes)
        return Flow(**values)

    def step(self, table, chain, text):
        return self.but(path=self.path + ((table, chain, text),))


# ---------------------------------------------------------------------------------------------
# Matches. Each gives True, False, ('src', spans) or ('sport', spans), or raises _Unknown.


def _key(rule):
    """(base, matches, target, target options) of a rule, from the one parser (_rules)."""
    return rule.key[1:]


class _Context:
    def __init__(self, family, tables, addresses, ipsets, interfaces, nft_stages=None, routing=None):
        self.family = family
        # The host's routing for reverse-path lookups (_routing.Routing), None (not read) or why it cannot be read.
        self.routing = routing
        self.reverse_paths = {}  # (interface, strict) -> _routing.reverse_path()
        self.bits = _BITS[family]
        self.everything = ((0, 2 ** self.bits - 1),)
        self.tables = tables
        self.stages = _stages(tables, nft_stages or {})
        self.ipsets = ipsets
        # Each set's addresses as merged spans, worked out once: a rule matching a set of 10,000
        # addresses is met on every path through its chain.
        self.set_spans = {}
        self.value_spans = {}  # an address's spans by its text: a map's elements are met on every path
        self.interfaces = interfaces
        self.routes = []  # (prefix length, network spans, Interface)
        local = []
        for name, cidrs in sorted((addresses or {}).items()):
            for cidr in cidrs:
                interface = ipaddress.ip_interface(cidr)
                if interface.version != (4 if family == 'ipv4' else 6):
                    continue
                local.append(int(interface.ip))
                network = interface.network
                self.routes.append((network.prefixlen, (int(network.network_address), int(network.broadcast_address)),
                                    Interface(name)))
        self.local_addresses = sorted(set(local))
        loopback = ipaddress.ip_network(_LOOPBACK[family])
        self.local = _union(tuple((a, a) for a in self.local_addresses),
                            ((int(loopback.network_address), int(loopback.broadcast_address)),))
        self.routes.sort(key=lambda route: -route[0])

    def spans(self, value):
        """Interval set of an address, a network or a range 'first-last' of this family."""
        found = self.value_spans.get(value)
        if found is None:
            found = self.value_spans[value] = self._spans(value)
        return found

    def _spans(self, value):
        try:
            if '-' in value:
                first, last = (ipaddress.ip_address(v) for v in value.split('-', 1))
                if first.version != last.version or first > last:
                    raise ValueError(value)
                found = ((int(first), int(last)),)
                version = first.version
            else:
                network = ipaddress.ip_network(value, strict=False)
                found = ((int(network.network_address), int(network.broadcast_address)),)
                version = network.version
        except ValueError:
            raise _Unknown('address %r' % value)
        if version != (4 if self.family == 'ipv4' else 6):
            raise _Unknown('address %r of the other family' % value)
        return found

    def reverse_path(self, interface, strict):
        """(passing sources, missing sources, [(unknown sources, why)]) of a reverse-path lookup (`fib saddr .
        iif oif`, strict; `fib saddr oif`, loose) for packets arriving on an interface; raises _Unknown where
        the routing is not known."""
        if self.family != 'ipv6':
            raise _Unknown('a reverse-path lookup (fib saddr ... oif) in IPv4')
        if self.routing is None:
            raise _Unknown('a reverse-path lookup (fib saddr ... oif): the routes were not read')
        if not isinstance(self.routing, routing_engine.Routing):
            raise _Unknown('a reverse-path lookup (fib saddr ... oif): the routes cannot be read: %s' % self.routing)
        key = (interface, strict)
        if key not in self.reverse_paths:
            self.reverse_paths[key] = routing_engine.reverse_path(
                self.routing, lambda dev: self.is_incoming(interface, dev), strict)
        return self.reverse_paths[key]

    def is_incoming(self, interface, dev):
        """Whether a route's device is the interface (a class of interfaces no one listed: False for a listed
        device, None for another: it may be one of them)."""
        if not interface.other or dev in (None, 'lo'):
            return dev == interface.name
        if any(dev == known.name for known in self.interfaces if not known.other):
            return False
        return None if dev.startswith(interface.name) else False

    def route(self, address):
        """The interface a destination leaves by: 'local', an Interface, or None (no route known)."""
        if _intersect(((address, address),), self.local):
            return 'local'
        for _length, (first, last), interface in self.routes:
            if first <= address <= last:
                return interface
        return None


def _negated(result, negate, ctx, everything_ports=_ALL_PORTS):
    if not negate:
        return result
    if result is True or result is False:
        return not result
    kind, spans = result
    return kind, _subtract(ctx.everything if kind == 'src' else everything_ports, spans)


def _port_spans(value):
    """Interval set of a port '80', a range '1000:2000' or a list '80,443,1000:2000'."""
    spans = []
    for part in value.split(','):
        first, _colon, last = part.partition(':')
        if not first.isdigit() or (last and not last.isdigit()):
            raise _Unknown('port %r' % value)
        spans.append((int(first), int(last or first)))
    return tuple(merge_spans(spans))


def _in(number, spans):
    return any(first <= number <= last for first, last in spans)


def _ctstates(flow, values):
    if not flow.packet.tracked:
        raise _Unknown('connection tracking before conntrack has seen the packet (raw table)')
    states = set(values.upper().split(','))
    if not states <= set(('NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'DNAT', 'SNAT')):
        raise _Unknown('state %r' % values)
    return 'NEW' in states or ('DNAT' in states and flow.packet.dnat)


def _base_match(ctx, flow, name, value):
    packet = flow.packet
    if name == 's':
        return 'src', ctx.spans(value)
    if name == 'd':
        return _in(packet.dst, ctx.spans(value))
    if name == 'i':
        return flow.interface.matches(value)
    if name == 'o':
        return packet.out is not None and packet.out.matches(value)
    if name == 'p':
        if value in ('all', '0'):
            return True
        return value == packet.protocol or value == str(_PROTOCOLS.get(packet.protocol))
    if name == 'f':
        return False  # the first packet is no second fragment
    raise _Unknown('option -%s' % name)


def _tcp_flags(values):
    mask, comp = (set(v.upper().split(',')) for v in values)
    for group in (mask, comp):
        if 'ALL' in group:
            group.update(_TCP_FLAGS)
        group.discard('ALL')
        group.discard('NONE')
    return (set(['SYN']) & mask) == comp


def _port_option(ctx, flow, option, values):
    """--dport, --sport and their multiport forms."""
    if option in ('--dport', '--destination-port', '--dports', '--destination-ports'):
        return _in(flow.packet.dport, _port_spans(values[0]))
    if option in ('--sport', '--source-port', '--sports', '--source-ports'):
        return 'sport', _port_spans(values[0])
    if option == '--ports':  # either port in the list
        spans = _port_spans(values[0])
        return True if _in(flow.packet.dport, spans) else ('sport', spans)
    return None


def _conntrack_option(ctx, flow, option, values):
    packet = flow.packet
    if option in ('--ctstate', '--state'):
        return _ctstates(flow, values[0])
    if not packet.tracked:
        raise _Unknown('connection tracking before conntrack has seen the packet (raw table)')
    if option == '--ctproto':
        return values[0] == packet.protocol or values[0] == str(_PROTOCOLS.get(packet.protocol))
    if option in ('--ctorigsrc', '--ctrepldst'):
        return 'src', ctx.spans(values[0])
    if option == '--ctorigdst':
        return _in(packet.orig_dst, ctx.spans(values[0]))
    if option == '--ctreplsrc':
        return _in(packet.dst, ctx.spans(values[0]))
    if option == '--ctorigdstport':
        return _in(packet.orig_dport, _port_spans(values[0]))
    if option == '--ctreplsrcport':
        return _in(packet.dport, _port_spans(values[0]))
    if option in ('--ctorigsrcport', '--ctrepldstport'):
        return 'sport', _port_spans(values[0])
    if option == '--ctdir':
        return values[0].upper() == 'ORIGINAL'
    raise _Unknown('conntrack %s' % option)


def _set_option(ctx, flow, option, values):
    if option != '--match-set' or len(values) != 2:
        raise _Unknown('set %s' % option)
    name, flags = values
    if ctx.ipsets is None or name not in ctx.ipsets:
        raise _Unknown('ipset %s was not given' % name)
    ipset = ctx.ipsets[name]
    if ipset.family != ctx.family or ipset.flagged or ipset.set_type not in ('hash:net', 'hash:ip'):
        raise _Unknown('ipset %s (%s %s%s)' % (name, ipset.set_type, ipset.family, ', flagged entries' if ipset.flagged else ''))
    spans = ctx.set_spans.get(name)
    if spans is None:
        spans = ctx.set_spans[name] = tuple(ipset.spans())
    if flags == 'src':
        return 'src', spans
    if flags == 'dst':
        return _in(flow.packet.dst, spans)
    raise _Unknown('ipset %s with %s' % (name, flags))


def _addrtype_option(ctx, flow, option, values):
    types = set(values[0].upper().split(','))
    if option == '--dst-type' and types <= set(('LOCAL', 'UNICAST')):
        local = bool(_intersect(((flow.packet.dst, flow.packet.dst),), ctx.local))
        return ('LOCAL' in types and local) or ('UNICAST' in types and not local)
    if option == '--src-type' and types == set(['LOCAL']):
        return 'src', ctx.local
    raise _Unknown('addrtype %s %s' % (option, values[0]))


def _match_option(ctx, flow, match, option, values):
    if match == 'comment':
        return True
    if match in ('tcp', 'udp', 'multiport', 'sctp'):
        found = _port_option(ctx, flow, option, values)
        if found is not None:
            return found
        if match == 'tcp' and option == '--syn':
            return True
        if match == 'tcp' and option == '--tcp-flags':
            return _tcp_flags(values)
    if match in ('conntrack', 'state'):
        return _conntrack_option(ctx, flow, option, values)
    if match == 'iprange' and option == '--src-range':
        return 'src', ctx.spans(values[0])
    if match == 'iprange' and option == '--dst-range':
        return _in(flow.packet.dst, ctx.spans(values[0]))
    if match == 'set':
        return _set_option(ctx, flow, option, values)
    if match == 'addrtype':
        return _addrtype_option(ctx, flow, option, values)
    if match == 'pkttype' and option == '--pkt-type':
        return values[0].lower() == 'unicast'
    raise _Unknown('-m %s %s' % (match, option))


def _conditions(ctx, flow, rule):
    """The rule's matches on this flow: (holds, sources, source ports, unknown reason). holds False:
    no packet of the slice matches; else the rule matches the part within sources and source ports
    (None: no condition), or an unknown match leaves that part unknown."""
    base, matches, _target, _options = _key(rule)
    results, unknown = [], None
    for name, negate, value in base:
        try:
            results.append(_negated(_base_match(ctx, flow, name, value), negate, ctx))
        except _Unknown as exc:
            unknown = unknown or str(exc)
    for match, options in matches:
        if match in ('tcp', 'udp', 'sctp') and match != flow.packet.protocol:
            results.append(False)  # iptables takes it only with that -p, which is false already
            continue
        if not options and match not in ('tcp', 'udp', 'sctp', 'comment'):
            unknown = unknown or '-m %s' % match
        for option, negate, values in options:
            try:
                results.append(_negated(_match_option(ctx, flow, match, option, values), negate, ctx))
            except (_Unknown, ValueError, IndexError) as exc:
                unknown = unknown or (str(exc) if isinstance(exc, _Unknown) else '-m %s %s' % (match, option))
    return _folded(results, unknown)


def _folded(results, unknown):
    """A rule's match results (True, False, or ('src'|'sport', intervals)) as (holds, sources, source
    ports, unknown reason): False when one cannot hold, else the sources and source ports all allow."""
    if False in results:
        return False, None, None, None
    sources = sports = None
    for result in results:
        if isinstance(result, tuple) and result[0] == 'src':
            sources = result[1] if sources is None else _intersect(sources, result[1])
        elif isinstance(result, tuple):
            sports = result[1] if sports is None else _intersect(sports, result[1])
    return True, sources, sports, unknown


def _split(flow, sources, sports):
    """(the part of the flow within sources and source ports, the parts outside)."""
    inside_sources = flow.sources if sources is None else _intersect(flow.sources, sources)
    inside_sports = flow.sports if sports is None else _intersect(flow.sports, sports)
    inside, outside = None, []
    if inside_sources and inside_sports:
        inside = flow.but(sources=inside_sources, sports=inside_sports)
    if sources is not None and _subtract(flow.sources, sources):
        outside.append(flow.but(sources=_subtract(flow.sources, sources)))
    if sports is not None and inside_sources and _subtract(flow.sports, sports):
        outside.append(flow.but(sources=inside_sources, sports=_subtract(flow.sports, sports)))
    return inside, outside


# ---------------------------------------------------------------------------------------------
# Targets and chains.


def _dnat(ctx, flow, options):
    to = [values[0] for option, _negate, values in options if option == '--to-destination' and values]
    if len(to) != 1:
        raise _Unknown('DNAT without one --to-destination')
    return _dnat_to(ctx, flow, to[0])


def _dnat_to(ctx, flow, value):
    """The flow with its destination rewritten to `value` (ADDRESS, ADDRESS:PORT or [ADDRESS]:PORT)."""
    if value.startswith('['):
        address, _bracket, rest = value[1:].partition(']')
        port = rest[1:] if rest.startswith(':') else ''
    elif ctx.family == 'ipv4' and ':' in value:
        address, port = value.split(':', 1)
    else:
        address, port = value, ''
    if '-' in address or '-' in port or (port and not port.isdigit()):
        raise _Unknown('DNAT to a range %s' % value)
    try:
        target = ipaddress.ip_address(address)
    except ValueError:
        raise _Unknown('DNAT to %s' % value)
    return flow.but(packet=flow.packet.but(dst=int(target), dport=int(port) if port else flow.packet.dport, dnat=True))


def _outcome(ctx, table, flow, rule):
    """What a matching rule does: ('accept'|'drop'|'return'|'continue', flow), ('jump'|'goto', chain)
    or raises _Unknown."""
    _base, _matches, target, options = _key(rule)
    if target is None:
        return 'continue', flow
    goto, name = target
    if name in table.chains and table.chains[name] == '-':
        return ('goto' if goto else 'jump'), name
    if goto:
        raise _Unknown('goto %s, which is no chain' % name)
    if name == 'ACCEPT':
        return 'accept', flow
    if name in ('DROP', 'REJECT'):
        return 'drop', flow
    if name == 'RETURN':
        return 'return', flow
    if name in _CONTINUE:
        return 'continue', flow
    if name == 'DNAT' and table.name == 'nat':
        return 'accept', _dnat(ctx, flow, options)
    raise _Unknown('target %s' % name)


def _unknown(flow, walker, chain, rule, why):
    return flow, ('unknown', dict(table=walker.name, chain=chain, rule=rule.line, why=why))


class _XtWalker:
    """The walk's view of one iptables table (_rules.parse_save)."""

    def __init__(self, table):
        self.table = table
        self.name = table.name

    def rules(self, chain):
        return self.table.chain_rules(chain)

    def conditions(self, ctx, flow, rule):
        return _conditions(ctx, flow, rule)

    def outcome(self, ctx, flow, rule):
        return _outcome(ctx, self.table, flow, rule)

    def policy(self, chain):
        """(outcome, rule text) of a built-in chain's policy."""
        policy = self.table.chains[chain]
        return ('accept' if policy == 'ACCEPT' else 'drop'), '-P %s %s' % (chain, policy)


def _run_chain(ctx, walker, chain, flows, depth=0):
    """Walk flows through one chain: [(flow, outcome)], outcome 'accept', 'drop', 'return' (fell
    off the end or RETURN) or ('unknown', details)."""
    if depth > 64:
        return [(flow, ('unknown', dict(table=walker.name, chain=chain, rule='', why='chains nested too deep')))
                for flow in flows]
    pending, finished = _walk_rules(ctx, walker, chain, walker.rules(chain), flows, depth)
    finished.extend((flow, 'return') for flow in pending)
    return finished


def _walk_rules(ctx, walker, chain, rules, flows, depth):
    """Walk flows through rules of a chain, in turn: (flows going on after the last, [(flow, outcome)] that
    left the chain)."""
    finished, pending = [], list(flows)
    for rule in rules:
        going_on = []
        if isinstance(rule, _NftMap):
            # Only the elements the packet can match, in their order (the slices of a flow share its packet).
            for flow in pending:
                going, done = _walk_rules(ctx, walker, chain, rule.candidates(ctx, flow.packet), [flow], depth)
                going_on.extend(going)
                finished.extend(done)
            pending = going_on
            continue
        for flow in pending:
            try:
                found = walker.conditions(ctx, flow, rule)
            except RuleSyntaxError as exc:
                finished.append(_unknown(flow, walker, chain, rule, 'unreadable: %s' % exc))
                continue
            holds, sources, sports, unknown = found[:4]
            if not holds:
                going_on.append(flow)
                continue
            for spans, why in (found[4] if len(found) > 4 else ()):
                # Sources where the rule's other matches hold and a route lookup's answer is not known.
                doubted, flow = _split(flow, spans, None)
                inside, outside = _split(doubted, None, sports) if doubted else (None, [])
                going_on.extend(outside)
                if inside is not None:
                    finished.append(_unknown(inside, walker, chain, rule, why))
                flow = flow[0] if flow else None
                if flow is None:
                    break
            if flow is None:
                continue
            inside, outside = _split(flow, sources, sports)
            going_on.extend(outside)
            if inside is None:
                continue
            if unknown:
                finished.append(_unknown(inside, walker, chain, rule, unknown))
                continue
            try:
                kind, what = walker.outcome(ctx, inside, rule)
            except (_Unknown, RuleSyntaxError) as exc:
                finished.append(_unknown(inside, walker, chain, rule, str(exc)))
                continue
            if kind == 'random':
                going, done = _run_branches(ctx, walker, chain, rule, inside, what, depth)
            else:
                going, done = _apply(ctx, walker, chain, rule, inside, kind, what, depth)
            going_on.extend(going)
            finished.extend(done)
        pending = going_on
    return pending, finished


def _apply(ctx, walker, chain, rule, flow, kind, what, depth):
    """A matching rule's outcome on flow: (flows going on in the chain, [(flow, outcome)] that left it)."""
    if kind == 'continue':
        return [what], []
    if kind in ('jump', 'goto'):
        going, done = [], []
        for sub_flow, sub_outcome in _run_chain(ctx, walker, what, [flow.step(walker.name, chain, rule.line)], depth + 1):
            if sub_outcome == 'return' and kind == 'jump':
                going.append(sub_flow)
            else:
                done.append((sub_flow, sub_outcome))
        return going, done
    return [], [(what.step(walker.name, chain, rule.line), kind)]


def _run_branches(ctx, walker, chain, rule, flow, branches, depth):
    """A rule that takes one of several outcomes per packet, which no rule tells (`numgen random mod 2 vmap
    {...}`): every branch is walked, and where one ends otherwise than the first the slice is unknown."""
    walked = []
    for kind, what in branches:
        going, done = _apply(ctx, walker, chain, rule, flow, kind, what, depth)
        walked.append([(found, 'continue') for found in going] + done)
    others = [result for results in walked[1:] for result in results]
    going, done = [], []
    for found, outcome in walked[0]:
        agreeing, differing = _agreeing(found, outcome, others)
        if outcome == 'continue':
            going.extend(agreeing)
        else:
            done.extend((piece, outcome) for piece in agreeing)
        done.extend(_unknown(piece, walker, chain, rule, 'the kernel picks one branch per packet, and they end otherwise')
                    for piece in differing)
    return going, done


# ---------------------------------------------------------------------------------------------
# Hooks: the base chains of each hook (iptables' built-in chains and nftables' base chains), by
# priority. An accept ends one base chain; the next one at the hook still sees the packet.


class _Stage:
    """One base chain at a hook: its walker, chain, priority, whether it is a NAT chain, and (for a
    filter chain that hooks prerouting at NAT's own priority) why the walk cannot place it."""

    __slots__ = ('walker', 'chain', 'priority', 'nat', 'unplaced')

    def __init__(self, walker, chain, priority, nat=False, unplaced=None):
        self.walker = walker
        self.chain = chain
        self.priority = priority
        self.nat = nat
        self.unplaced = unplaced

    @property
    def position(self):
        """Where the kernel runs it: every NAT chain of prerouting inside NAT's one hook (priority -100),
        among themselves by their own priority."""
        return (_NAT_PRIORITY, self.priority) if self.nat else (self.priority, 0)

    @property
    def label(self):
        return '%s %s' % (self.walker.name, self.chain)


def _stages(tables, nft_stages):
    """{hook: [[_Stage, ...] of one position, ...]} in the order the kernel runs them: iptables' tables
    (parse_save) and nftables' base chains ({hook: [_Stage]})."""
    found = {}
    for hook, names in _HOOKS.items():
        for name in names:
            table = tables.get(name)
            if table is not None and hook in table.chains:
                found.setdefault(hook, []).append(_Stage(_XtWalker(table), hook, _XT_PRIORITIES[name], nat=name == 'nat'))
    for hook, stages in nft_stages.items():
        found.setdefault(hook, []).extend(stages)
    grouped = {}
    for hook, stages in found.items():
        ordered = sorted(stages, key=lambda stage: stage.position)  # stable: iptables first, then the listing's order
        grouped[hook] = [list(group) for _position, group in itertools.groupby(ordered, key=lambda stage: stage.position)]
    return grouped


def _run_stage(ctx, stage, flows):
    """[(flow, outcome)] of one base chain, its policy applied: 'accept', 'drop' or ('unknown', details).
    A NAT chain passes over what an earlier NAT chain of the hook rewrote: the kernel asks the next only
    while none has set up the connection's NAT."""
    results = []
    if stage.nat:
        results = [(flow, 'accept') for flow in flows if flow.packet.dnat]
        flows = [flow for flow in flows if not flow.packet.dnat]
    if stage.priority > _CONNTRACK_PRIORITY:
        flows = [flow if flow.packet.tracked else flow.but(packet=flow.packet.but(tracked=True)) for flow in flows]
    if stage.unplaced:
        return results + [(flow, ('unknown', dict(table=stage.walker.name, chain=stage.chain, rule='', why=stage.unplaced)))
                          for flow in flows]
    for flow, outcome in _run_chain(ctx, stage.walker, stage.chain, flows):
        if outcome == 'return':
            outcome, text = stage.walker.policy(stage.chain)
            flow = flow.step(stage.walker.name, stage.chain, text)
        results.append((flow, outcome))
    return results


def _run_sequence(ctx, stages, flows):
    """[(flow, outcome)] of base chains one after the other: what one accepts goes on to the next."""
    finished = []
    for stage in stages:
        results = _run_stage(ctx, stage, flows)
        flows = [flow for flow, outcome in results if outcome == 'accept']
        finished.extend((flow, outcome) for flow, outcome in results if outcome != 'accept')
    return [(flow, 'accept') for flow in flows] + finished


def _ending(flow, outcome):
    """What decides the rest of the walk: how a flow left a group of base chains, or a rule's branch."""
    if outcome in ('accept', 'continue'):
        return (outcome, flow.packet.dst, flow.packet.dport, flow.packet.dnat)
    return (outcome,) if outcome in ('drop', 'return') else ('unknown',)


def _agreeing(flow, outcome, others):
    """(the pieces of flow where every other walk of it, [(flow, outcome)], ends as it does; the pieces
    where one ends otherwise)."""
    ending = _ending(flow, outcome)
    differing = [(other.sources, other.sports) for other, other_outcome in others
                 if other.interface == flow.interface and _ending(other, other_outcome) != ending]
    pieces, unknown = [flow], []
    for sources, sports in differing:
        kept = []
        for piece in pieces:
            inside, outside = _split(piece, sources, sports)
            kept.extend(outside)
            if inside is not None:
                unknown.append(inside)
        pieces = kept
    return pieces, unknown


def _run_group(ctx, stages, flows):
    """[(flow, outcome)] of base chains of one hook at the same priority. The kernel runs them in the
    order they were registered, which no listing tells: they are walked in the listing's order
    (iptables first), and every other order is walked too; where one ends otherwise, the slice is unknown."""
    results = _run_sequence(ctx, stages, flows)
    if len(stages) == 1:
        return results
    why = 'base chains %s hook at the same priority; the order the kernel runs them in is not known, and it decides' % (
        ', '.join(stage.label for stage in stages))
    if len(stages) > 4:
        return [(flow, ('unknown', dict(why=why))) for flow in flows]
    others = [result for order in list(itertools.permutations(stages))[1:] for result in _run_sequence(ctx, list(order), flows)]
    checked = []
    for flow, outcome in results:
        pieces, unknown = _agreeing(flow, outcome, others)
        checked.extend((piece, outcome) for piece in pieces)
        checked.extend((piece, ('unknown', dict(why=why))) for piece in unknown)
    return checked


def _run_hook(ctx, hook, flows):
    """Walk flows through the base chains of a hook: (flows accepted by all of them, [(flow, final outcome)])."""
    finished = []
    for stages in ctx.stages.get(hook, ()):
        results = _run_group(ctx, stages, flows)
        flows = [flow for flow, outcome in results if outcome == 'accept']
        finished.extend((flow, outcome) for flow, outcome in results if outcome != 'accept')
    return flows, finished


# ---------------------------------------------------------------------------------------------
# nftables: the base chains of the tables beside iptables' (Docker's docker-bridges, the collection's
# table, firewalld's), from `nft list ruleset` (_nft_ruleset gives the structure; the meaning is here).

# A selector's words -> (what it reads, the family it needs or None, the transport protocol it needs or None).
_NFT_SELECTORS = dict((tuple(words.split()), meaning) for words, meaning in (
    ('iifname', ('iifname', None, None)), ('meta iifname', ('iifname', None, None)),
    ('oifname', ('oifname', None, None)), ('meta oifname', ('oifname', None, None)),
    ('iif', ('iif', None, None)), ('meta iif', ('iif', None, None)),
    ('oif', ('oif', None, None)), ('meta oif', ('oif', None, None)),
    ('meta l4proto', ('l4proto', None, None)), ('meta nfproto', ('nfproto', None, None)),
    ('meta pkttype', ('pkttype', None, None)), ('pkttype', ('pkttype', None, None)),
    ('ip saddr', ('saddr', 'ipv4', None)), ('ip6 saddr', ('saddr', 'ipv6', None)),
    ('ip daddr', ('daddr', 'ipv4', None)), ('ip6 daddr', ('daddr', 'ipv6', None)),
    ('ip protocol', ('l4proto', 'ipv4', None)),
    ('tcp dport', ('dport', None, 'tcp')), ('udp dport', ('dport', None, 'udp')),
    ('sctp dport', ('dport', None, 'sctp')), ('th dport', ('dport', None, None)),
    ('tcp sport', ('sport', None, 'tcp')), ('udp sport', ('sport', None, 'udp')),
    ('sctp sport', ('sport', None, 'sctp')), ('th sport', ('sport', None, None)),
    ('ct state', ('ctstate', None, None)), ('ct status', ('ctstatus', None, None)),
    ('ct direction', ('ctdirection', None, None)),
    ('ct original proto-dst', ('ctorigdport', None, None)), ('ct original proto-src', ('ctorigsport', None, None)),
    ('ct original ip daddr', ('ctorigdaddr', 'ipv4', None)), ('ct original ip6 daddr', ('ctorigdaddr', 'ipv6', None)),
    ('ct original ip saddr', ('ctorigsaddr', 'ipv4', None)), ('ct original ip6 saddr', ('ctorigsaddr', 'ipv6', None)),
    ('fib daddr type', ('fibdaddrtype', None, None)), ('fib saddr type', ('fibsaddrtype', None, None)),
    # ICMP's header (firewalld lets neighbour discovery through first): never a TCP or UDP packet's.
    ('icmp type', ('icmptype', 'ipv4', 'icmp')), ('icmp code', ('icmpcode', 'ipv4', 'icmp')),
    ('icmpv6 type', ('icmptype', 'ipv6', 'icmpv6')), ('icmpv6 code', ('icmpcode', 'ipv6', 'icmpv6')),
))
_NFT_LONGEST = max(len(words) for words in _NFT_SELECTORS)
_NFT_VERDICTS = ('accept', 'drop', 'reject', 'return', 'continue')
_NFT_FAMILY = {'ipv4': 'ip', 'ipv6': 'ip6'}
# Conntrack selectors: the packet must have been seen by conntrack.
_NFT_TRACKED = ('ctstate', 'ctstatus', 'ctdirection', 'ctorigdport', 'ctorigdaddr', 'ctorigsaddr', 'ctorigsport')


class _NftRule:
    """A rule of an nftables chain, compiled: its matches [(what, family, protocol, negate, values)] (a
    concatenation's membership is ('concat', None, None, negate, (parts, keys)): parts the selectors'
    (what, family, protocol), keys the elements' values, one per part), its verdict (None: go on;
    ('accept',), ('drop',), ('return',), ('jump'|'goto', chain), ('dnat', to), ('random', (verdict, ...)):
    one of them per packet), and `unknown`: the first part of it the walk does not model (its matches
    before it still split)."""

    __slots__ = ('line', 'matches', 'verdict', 'unknown')

    def __init__(self, line, matches, verdict, unknown):
        self.line = line
        self.matches = matches
        self.verdict = verdict
        self.unknown = unknown


def _nft_braces(words, index):
    """The index after the brace block opened at words[index]."""
    depth, end = 0, index
    for end in range(index, len(words)):
        depth += 1 if words[end] == '{' else -1 if words[end] == '}' else 0
        if depth == 0:
            break
    return end + 1


def _nft_values(table, words, index):
    """(values, next index) of a match's right-hand side: one value, a comma list (flags), an anonymous
    set, or a named set (@name). Raises _Unknown for what is not read."""
    if index >= len(words):
        raise _Unknown('a match without a value')
    word = words[index]
    if word == '{':
        end = _nft_braces(words, index)
        return [' '.join(part) for part in nft_ruleset.split_elements(words[index + 1:end - 1])], end
    if word.startswith('@'):
        found = table.sets.get(word[1:])
        if found is None or found.data is not None or 'dynamic' in found.flags or '.' in (found.key_type or '.'):
            raise _Unknown('set %s (a map, a concatenation, a dynamic set, or none)' % word)
        return list(found.elements), index + 1
    values = [word]
    index += 1
    while index + 1 < len(words) and words[index] == ',':
        values.append(words[index + 1])
        index += 2
    return values, index


def _nft_key(text, width):
    """The values of one element's key, one per part of a concatenation (`198.51.100.0/24 . tcp . 80-90`)."""
    found = text.split()
    if width == 1:
        return (' '.join(found),)
    parts, current = [], []
    for word in found + ['.']:
        if word == '.':
            parts.append(current)
            current = []
        else:
            current.append(word)
    if len(parts) != width or any(len(part) != 1 for part in parts):
        raise _Unknown('element %s of a concatenation of %d' % (text, width))
    return tuple(part[0] for part in parts)


def _nft_keys(table, words, index, width):
    """(keys, next index) of a concatenation's right-hand side: an anonymous set, a named set (@name) or
    one key (`a . b`); each key a tuple of values, one per part."""
    if index >= len(words):
        raise _Unknown('a match without a value')
    if words[index] == '{':
        end = _nft_braces(words, index)
        return [_nft_key(' '.join(part), width) for part in nft_ruleset.split_elements(words[index + 1:end - 1])], end
    if words[index].startswith('@'):
        found = table.sets.get(words[index][1:])
        if found is None or found.data is not None or 'dynamic' in found.flags:
            raise _Unknown('set %s (a map, a dynamic set, or none)' % words[index])
        return [_nft_key(element, width) for element in found.elements], index + 1
    end = index + 2 * width - 1
    if end > len(words) or any(words[at] != '.' for at in range(index + 1, end, 2)):
        raise _Unknown('a concatenation\'s value %s' % ' '.join(words[index:end]))
    return [tuple(words[index:end:2])], end


def _nft_verdict(table, words):
    """The verdict of tokens ('accept', 'jump X', 'dnat to A', ...), or raises _Unknown."""
    if not words:
        raise _Unknown('no verdict')
    if words[0] in ('jump', 'goto') and len(words) >= 2:
        name = words[1].strip('"')
        if name not in table.chains or table.chains[name].base:
            raise _Unknown('%s %s, which is no regular chain' % (words[0], name))
        return (words[0], name), 2
    if words[0] == 'reject':  # with whatever ICMP type: the packet does not pass
        end = words.index('comment') if 'comment' in words else len(words)
        return ('drop',), end
    if words[0] in _NFT_VERDICTS:
        return (words[0],), 1
    if words[0] == 'dnat':
        rest = words[2:] if words[1:2] in (['ip'], ['ip6']) else words[1:]
        if len(rest) >= 2 and rest[0] == 'to':
            return ('dnat', rest[1]), len(words) - len(rest) + 2
    raise _Unknown('statement %s' % ' '.join(words[:3]))


_MARK_OPERATORS = ('|', '&', '^', 'or', 'and', 'xor')


def _nft_mark_value(words, index):
    """The index after the value a `mark set` writes (`0x1`, `meta mark | 0x00004000`, `ct mark and 0xff`...),
    or None."""
    while True:
        if words[index:index + 2] in (['meta', 'mark'], ['ct', 'mark']):
            index += 2
        elif index < len(words) and (words[index] == 'mark' or _nft_number(words[index]) is not None):
            index += 1
        else:
            return None
        if index < len(words) and words[index] in _MARK_OPERATORS:
            index += 1
        else:
            return index


def _nft_number(word):
    try:
        return int(word, 0)
    except ValueError:
        return None


def _nft_statement(words, index):
    """The index after a statement that changes nothing the walk reads (counter, comment, log, and a packet
    mark set: every match on a mark is unknown, and policy routing is not modelled), or None."""
    word = words[index]
    if word == 'counter':
        index += 1
        while index + 1 < len(words) and words[index] in ('packets', 'bytes'):
            index += 2
        return index
    if word == 'comment' and index + 1 < len(words):
        return index + 2
    if word == 'log':
        index += 1
        while index + 1 < len(words) and words[index] in ('prefix', 'level', 'group', 'snaplen', 'queue-threshold', 'flags'):
            index += 2
            while index + 1 < len(words) and words[index] == ',':
                index += 2
        return index
    mark = 1 if word == 'mark' else 2 if words[index:index + 2] == ['meta', 'mark'] else 0
    if mark and words[index + mark:index + mark + 1] == ['set']:
        return _nft_mark_value(words, index + mark + 1)
    return None


def _nft_selector(words, index):
    """The selector (a key of _NFT_SELECTORS) at words[index], or None."""
    return next((tuple(words[index:index + n]) for n in range(_NFT_LONGEST, 0, -1)
                 if tuple(words[index:index + n]) in _NFT_SELECTORS), None)


def _nft_concatenation(words, index):
    """([(what, family, protocol)] of the parts, next index) of `SELECTOR . SELECTOR ...` at words[index];
    raises _Unknown naming a part the walk does not model."""
    parts = []
    while True:
        selector = _nft_selector(words, index)
        if selector is None:
            named = itertools.takewhile(lambda word: word not in ('.', 'vmap', '{', '==', '!='), words[index:index + 3])
            raise _Unknown('a concatenation with %s' % ' '.join(named))
        parts.append(_NFT_SELECTORS[selector])
        index += len(selector)
        if index >= len(words) or words[index] != '.':
            return parts, index
        index += 1


def _nft_after(words, index, what):
    """Raises _Unknown unless only statements the walk passes over (counter, comment, log) follow index."""
    while index < len(words):
        after = _nft_statement(words, index)
        if after is None:
            raise _Unknown('%s after the %s' % (words[index], what))
        index = after


def _nft_compile(table, line, words):
    """[_NftRule] of one rule: one, or one per element of a verdict map (`iifname vmap @jumps`, `ip daddr .
    meta l4proto . th dport vmap @service-ips`): a map is a function of its key, so its elements, in turn,
    are exact. A concatenation's membership (`ip saddr . tcp dport { ... }`) is one match."""
    matches, index = [], 0
    try:
        while index < len(words):
            after = _nft_statement(words, index)
            if after is not None:
                index = after
                continue
            if words[index] == 'numgen':
                return [_nft_numgen(table, line, words, index, matches)]
            if words[index] == 'fib' and _nft_selector(words, index) is None:
                match, index = _nft_fib(words, index)
                matches.append(match)
                continue
            if _nft_selector(words, index) is None:
                verdict, used = _nft_verdict(table, words[index:])
                _nft_after(words, index + used, 'verdict')
                return [_NftRule(line, matches, verdict, None)]
            parts, index = _nft_concatenation(words, index)
            if index < len(words) and words[index] == 'vmap':
                return _nft_vmap(table, line, words, index + 1, matches, parts)
            negate = index < len(words) and words[index] in ('!=', '!')
            if index < len(words) and words[index] in ('!=', '!', '=='):
                index += 1
            if len(parts) == 1:
                values, index = _nft_values(table, words, index)
                matches.append(parts[0] + (negate, values))
            else:
                keys, index = _nft_keys(table, words, index, len(parts))
                matches.append(('concat', None, None, negate, (tuple(parts), keys)))
        return [_NftRule(line, matches, None, None)]
    except _Unknown as exc:
        return [_NftRule(line, matches, None, str(exc))]


def _nft_fib(words, index):
    """(match, next index) of a reverse-path lookup, `fib saddr [. mark] [. iif] oif [!=] missing|exists`
    (firewalld's IPv6 check): ('fibrpf', None, None, negate, [strict, value]), strict when keyed by the
    incoming interface. Other fib lookups raise _Unknown."""
    keys, at = [], index + 1
    while at < len(words) and words[at] in ('saddr', 'daddr', 'mark', 'iif', 'oif'):
        keys.append(words[at])
        at += 1
        if at < len(words) and words[at] == '.':
            at += 1
        else:
            break
    negate = words[at + 1:at + 2] in (['!='], ['!'])
    value_at = at + 2 if words[at + 1:at + 2] in (['!='], ['!'], ['==']) else at + 1
    if (keys[:1] != ['saddr'] or not set(keys[1:]) <= set(('mark', 'iif')) or len(set(keys)) != len(keys)
            or words[at:at + 1] != ['oif'] or words[value_at:value_at + 1] not in (['missing'], ['exists'])):
        raise _Unknown('fib %s' % ' '.join(words[index + 1:value_at + 1]))
    return ('fibrpf', None, None, negate, ['iif' in keys, words[value_at]]), value_at + 1


def _nft_map_elements(table, words, index):
    """([(key text, verdict tokens)], next index) of a verdict map: @name or an anonymous `{ k : v, ... }`."""
    if index < len(words) and words[index].startswith('@'):
        found = table.sets.get(words[index][1:])
        if found is None or found.data != 'verdict':
            raise _Unknown('verdict map %s' % words[index])
        return found.elements, index + 1
    if index < len(words) and words[index] == '{':
        end = _nft_braces(words, index)
        elements = []
        for part in nft_ruleset.split_elements(words[index + 1:end - 1]):
            if ':' not in part:
                raise _Unknown('verdict map element %s' % ' '.join(part))
            elements.append((' '.join(part[:part.index(':')]), part[part.index(':') + 1:]))
        return elements, end
    raise _Unknown('verdict map')


def _nft_element_verdict(table, verdict_words):
    verdict, used = _nft_verdict(table, verdict_words)
    if used != len(verdict_words):
        raise _Unknown('verdict map element %s' % ' '.join(verdict_words))
    return verdict


def _nft_vmap(table, line, words, index, matches, parts):
    """One rule per element: the rule's matches, then one match per part of the key (an _NftMap of them
    where the packet alone decides a part)."""
    elements, index = _nft_map_elements(table, words, index)
    _nft_after(words, index, 'verdict map')
    keyed = [(_nft_key(key, len(parts)), _nft_element_verdict(table, verdict_words)) for key, verdict_words in elements]
    if len(parts) > 1:
        _nft_disjoint(parts, keyed)
    rules = [_NftRule(line, matches + [part + (False, [value]) for part, value in zip(parts, key)], verdict, None)
             for key, verdict in keyed]
    looked_up = [at for at, part in enumerate(parts) if part[0] in _NftMap.PACKET]
    return [_NftMap(rules, [(at - len(parts), parts[at][0]) for at in looked_up])] if looked_up and len(rules) > 1 else rules


class _NftMap:
    """The rules of a verdict map's elements, in their order, looked up by the parts of the key the packet
    alone decides (destination address, destination port, protocol): an element that holds one value
    there can match only a packet with that value, so only those and the elements holding ranges are
    walked, in their order. The same walk as every element in turn, faster (kube-proxy's service-ips holds
    an element per service port)."""

    PACKET = ('daddr', 'dport', 'l4proto')

    __slots__ = ('rules', 'parts', 'family', 'index', 'others')

    def __init__(self, rules, parts):
        self.rules = rules
        self.parts = parts  # (position among a rule's matches, what)
        self.family, self.index, self.others = None, None, None

    def _value(self, ctx, what, value):
        """An element's value as the packet's (an address as a number...), or None: not one value, or not read."""
        if what == 'daddr':
            try:
                found = ctx.spans(value)
            except _Unknown:
                return None
            return found[0][0] if len(found) == 1 and found[0][0] == found[0][1] else None
        if what == 'dport':
            return int(value) if value.isdigit() else None
        return _nft_protocol(value)

    def _build(self, ctx):
        self.family, self.index, self.others = ctx.family, {}, []
        for order, rule in enumerate(self.rules):
            key = tuple(self._value(ctx, what, rule.matches[at][4][0]) for at, what in self.parts)
            if None in key:
                self.others.append((order, rule))
            else:
                self.index.setdefault(key, []).append((order, rule))

    def candidates(self, ctx, packet):
        """The rules of the elements a packet can match, in their order."""
        if self.family != ctx.family:
            self._build(ctx)
        key = tuple(packet.dst if what == 'daddr' else packet.dport if what == 'dport' else str(_PROTOCOLS[packet.protocol])
                    for _at, what in self.parts)
        found = self.index.get(key, [])
        return [rule for _order, rule in sorted(found + self.others)] if self.others else [rule for _order, rule in found]


def _nft_disjoint(parts, keyed):
    """Raises _Unknown where two elements of a concatenated map with ranges (`flags interval`) overlap and
    their verdicts differ: which one the kernel's lookup finds, the listing does not tell (one rule per
    element would give the first)."""
    ranged = [(key, verdict) for key, verdict in keyed
              if any(not _nft_point(what, value) for (what, _family, _protocol), value in zip(parts, key))]
    for key, verdict in ranged:
        for other, other_verdict in keyed:
            if other is not key and other_verdict != verdict and all(
                    _nft_overlap(what, value, other_value)
                    for (what, _family, _protocol), value, other_value in zip(parts, key, other)):
                raise _Unknown('elements %s and %s of a verdict map overlap' % (' . '.join(key), ' . '.join(other)))


def _nft_point(what, value):
    """Whether a value of an element stands for one value only (no range, prefix or wildcard)."""
    if what in ('iifname', 'oifname', 'iif', 'oif'):
        return what in ('iif', 'oif') or not value.strip('"').endswith('*')
    return '-' not in value and '/' not in value


def _nft_overlap(what, left, right):
    """Whether two values of one part of a key share a value (when unsure: they do)."""
    try:
        if what in ('saddr', 'daddr', 'ctorigsaddr', 'ctorigdaddr'):
            first, second = (_nft_address_span(value) for value in (left, right))
            return first[0] == second[0] and first[1] <= second[2] and second[1] <= first[2]
        if what in ('dport', 'sport', 'ctorigdport', 'ctorigsport'):
            return bool(_intersect(_nft_ports([left]), _nft_ports([right])))
    except (_Unknown, ValueError):
        return True
    if what in ('iifname', 'oifname', 'iif', 'oif'):
        patterns = [_nft_interface(value, exact=what in ('iif', 'oif')) for value in (left, right)]
        prefixes = [pattern[:-1] for pattern in patterns if pattern.endswith('+')]
        names = [pattern for pattern in patterns if not pattern.endswith('+')]
        if len(prefixes) == 2:
            return prefixes[0].startswith(prefixes[1]) or prefixes[1].startswith(prefixes[0])
        return names[0].startswith(prefixes[0]) if prefixes else names[0] == names[1]
    if what == 'l4proto':
        return _nft_protocol(left) == _nft_protocol(right)
    return left == right


def _nft_address_span(value):
    """(version, first, last) of an address, a network or a range 'first-last' (raises ValueError)."""
    if '-' in value:
        first, last = (ipaddress.ip_address(part) for part in value.split('-', 1))
        return first.version, int(first), int(last)
    network = ipaddress.ip_network(value, strict=False)
    return network.version, int(network.network_address), int(network.broadcast_address)


def _nft_protocol(value):
    return str(_PROTOCOLS.get(value, value))


def _nft_numgen(table, line, words, index, matches):
    """`numgen random|inc mod N [offset O] vmap {...}`: each packet takes the verdict of one value in
    O..O+N-1 (none: the rule does not match), which the walk cannot tell; one rule whose verdict is each
    of those the values can take (exact where they all end alike, see _run_branches)."""
    rest = words[index + 1:index + 4]
    if len(rest) < 3 or rest[0] not in ('random', 'inc') or rest[1] != 'mod' or not rest[2].isdigit() or not int(rest[2]):
        raise _Unknown('statement %s' % ' '.join(words[index:index + 4]))
    first, index = 0, index + 4
    if words[index:index + 1] == ['offset'] and index + 1 < len(words) and words[index + 1].isdigit():
        first, index = int(words[index + 1]), index + 2
    if words[index:index + 1] != ['vmap']:
        raise _Unknown('numgen without a verdict map')
    elements, index = _nft_map_elements(table, words, index + 1)
    _nft_after(words, index, 'verdict map')
    values = ((first, first + int(rest[2]) - 1),)
    branches, covered = [], ()
    for key, verdict_words in elements:
        try:
            spans = _intersect(_nft_ports([key]), values)
        except _Unknown:
            raise _Unknown('numgen value %s' % key)
        verdict = _nft_element_verdict(table, verdict_words)
        if spans and verdict not in branches:
            branches.append(verdict)
        covered = _union(covered, spans)
    if _subtract(values, covered):
        branches.append(None)  # a value no element holds: the rule does not match
    verdict = branches[0] if len(branches) == 1 else ('random', tuple(branches))
    return _NftRule(line, matches, verdict, None)


def _nft_interface(value, exact=False):
    """An nft interface name ("eth0", "wg*") as a pattern of Interface.matches ('eth0', 'wg+')."""
    name = value.strip('"')
    if name.endswith('*') and not name.endswith('\\*') and not exact:
        return name[:-1] + '+'
    return name.replace('\\*', '*')


def _nft_ports(values):
    spans = []
    for value in values:
        first, _dash, last = value.partition('-')
        if not first.isdigit() or (last and not last.isdigit()):
            raise _Unknown('port %s' % value)
        spans.append((int(first), int(last or first)))
    return tuple(merge_spans(spans))


def _nft_flags(values, known, what):
    flags = set(value for text in values for value in text.split(','))
    if not flags <= known:
        raise _Unknown('%s %s' % (what, ', '.join(sorted(flags))))
    return flags


def _nft_match(ctx, flow, what, values):
    """One nft match, not negated: True, False, ('src', spans) or ('sport', spans); raises _Unknown."""
    packet = flow.packet
    if what in ('iifname', 'iif', 'oifname', 'oif'):
        interface = flow.interface if what.startswith('i') else (packet.out or Interface(''))
        return any(interface.matches(_nft_interface(value, exact=what in ('iif', 'oif'))) for value in values)
    if what in ('saddr', 'ctorigsaddr'):
        return 'src', _union((), tuple(span for value in values for span in ctx.spans(value)))
    if what in ('daddr', 'ctorigdaddr'):
        spans = _union((), tuple(span for value in values for span in ctx.spans(value)))
        return _in(packet.dst if what == 'daddr' else packet.orig_dst, spans)
    if what in ('dport', 'ctorigdport'):
        return _in(packet.dport if what == 'dport' else packet.orig_dport, _nft_ports(values))
    if what in ('sport', 'ctorigsport'):
        return 'sport', _nft_ports(values)
    if what == 'l4proto':
        return packet.protocol in values or str(_PROTOCOLS[packet.protocol]) in values
    if what == 'nfproto':
        return ctx.family in values
    if what == 'pkttype':
        return bool(set(values) & set(('host', 'unicast')))
    if what == 'ctstate':
        return 'new' in _nft_flags(values, set(('new', 'established', 'related', 'invalid', 'untracked')), 'ct state')
    if what == 'ctstatus':
        return bool(_nft_flags(values, set(['dnat']), 'ct status')) and packet.dnat
    if what == 'ctdirection':
        return 'original' in values
    if what == 'fibsaddrtype':  # as addrtype --src-type LOCAL
        if _nft_flags(values, set(('local', 'unicast', 'broadcast', 'multicast', 'anycast', 'blackhole', 'unreachable',
                                   'prohibit')), 'fib saddr type') != set(['local']):
            raise _Unknown('fib saddr type %s' % ', '.join(values))
        return 'src', ctx.local
    if what == 'fibdaddrtype':
        types = _nft_flags(values, set(('local', 'unicast', 'broadcast', 'multicast', 'anycast', 'blackhole',
                                        'unreachable', 'prohibit')), 'fib daddr type')
        if _intersect(((packet.dst, packet.dst),), ctx.local):
            return 'local' in types
        if ctx.route(packet.dst) is None:
            raise _Unknown('fib daddr type of %s, to which no route is known' % ipaddress.ip_address(packet.dst))
        return 'unicast' in types
    raise _Unknown(what)


def _nft_reverse_path(ctx, flow, negate, values):
    """A reverse-path lookup's match (`fib saddr . mark . iif oif missing`): (the sources it holds for, [(the
    sources it may hold for, why)]), within the flow's sources; raises _Unknown where the routes are not known."""
    strict, value = values
    passing, missing, doubts = ctx.reverse_path(flow.interface, strict)
    holds = missing if (value == 'missing') != negate else passing
    doubted = [(_intersect(flow.sources, spans), why) for spans, why in doubts]
    return _intersect(flow.sources, holds), [(spans, why) for spans, why in doubted if spans]


def _nft_concat_match(ctx, flow, parts, keys):
    """A concatenation's membership, not negated: the union of its elements, each the conjunction of one
    match per part: True, False, ('src', spans) or ('sport', spans); raises _Unknown where the union is no
    one slice (elements on source addresses and on source ports)."""
    sources, sports = [], []
    for key in keys:
        results = []
        for (what, _family, _protocol), value in zip(parts, key):
            result = _nft_match(ctx, flow, what, [value])
            if result is False:
                break
            results.append(result)
        else:
            _holds, inside, ports, _unknown = _folded(results, None)
            if inside is None and ports is None:
                return True
            if inside is not None and ports is not None:
                raise _Unknown('a concatenation of source addresses and source ports')
            (sources if ports is None else sports).append(inside if ports is None else ports)
    if sources and sports:
        raise _Unknown('a concatenation whose elements hold for source addresses and for source ports')
    if sources or sports:
        return ('src' if sources else 'sport'), _union((), tuple(span for spans in sources or sports for span in spans))
    return False


def _nft_conditions(ctx, flow, rule):
    """As _conditions, for a compiled nftables rule. With a reverse-path lookup whose answer is not known for
    some sources, a fifth item: [(sources, why)] where the rule's other matches hold and the lookup's answer
    is not known (the walk makes them unknown, and the rule decides the rest)."""
    results, unknown, lookups = [], rule.unknown, []
    for what, family, protocol, negate, values in rule.matches:
        parts = values[0] if what == 'concat' else ((what, family, protocol),)
        if any((part_family and part_family != ctx.family) or (part_protocol and part_protocol != flow.packet.protocol)
               for _what, part_family, part_protocol in parts):
            return False, None, None, None  # the match needs another family or protocol: never true here
        try:
            if any(part in _NFT_TRACKED for part, _family, _protocol in parts) and not flow.packet.tracked:
                raise _Unknown('connection tracking before conntrack has seen the packet')
            if what == 'fibrpf':
                lookups.append(_nft_reverse_path(ctx, flow, negate, values))
                continue
            found = _nft_concat_match(ctx, flow, *values) if what == 'concat' else _nft_match(ctx, flow, what, values)
            found = _negated(found, negate, ctx)
        except _Unknown as exc:
            unknown = unknown or str(exc)
            continue
        if found is False:
            return False, None, None, None
        results.append(found)
    if len(lookups) > 1:
        unknown = unknown or 'a second reverse-path lookup in one rule'
    elif lookups:
        holds, doubts = lookups[0]
        if not holds and not doubts:
            return False, None, None, None
        if unknown:  # the rule may hold wherever the lookup may: all of it unknown
            return _folded(results + [('src', _union(holds, tuple(s for spans, _why in doubts for s in spans)))], unknown)
        others = _folded(results, None)[1]  # the sources the rule's other matches hold for (None: any)
        doubts = [(spans if others is None else _intersect(spans, others), why) for spans, why in doubts]
        doubts = [(spans, why) for spans, why in doubts if spans]
        folded = _folded(results + [('src', holds)], None)
        return folded + (doubts,) if doubts else folded
    return _folded(results, unknown)


def _nft_outcome(ctx, flow, verdict):
    """What a compiled verdict does: as _outcome; ('random', [outcome, ...]) for one of several per packet."""
    if verdict is None or verdict == ('continue',):
        return 'continue', flow
    if verdict[0] == 'random':
        return 'random', [_nft_outcome(ctx, flow, branch) for branch in verdict[1]]
    if verdict[0] in ('jump', 'goto'):
        return verdict
    if verdict[0] == 'dnat':
        return 'accept', _dnat_to(ctx, flow, verdict[1])
    return verdict[0], flow


class _NftWalker:
    """The walk's view of one nftables table: its chains' rules compiled once."""

    def __init__(self, table):
        self.table = table
        self.name = table.label
        self.compiled = dict((name, [rule for line, words in chain.rules for rule in _nft_compile(table, line, words)])
                             for name, chain in table.chains.items())

    def rules(self, chain):
        return self.compiled[chain]

    def conditions(self, ctx, flow, rule):
        return _nft_conditions(ctx, flow, rule)

    def outcome(self, ctx, flow, rule):
        return _nft_outcome(ctx, flow, rule.verdict)

    def policy(self, chain):
        policy = self.table.chains[chain].policy
        return ('accept' if policy == 'accept' else 'drop'), 'policy %s' % policy

    def patterns(self):
        """The interface names and wildcards its rules match, as Interface patterns."""
        found = set()
        for rules in self.compiled.values():
            for rule in (one for found in rules for one in (found.rules if isinstance(found, _NftMap) else [found])):
                for what, family, protocol, _negate, values in rule.matches:
                    parts, keys = values if what == 'concat' else (((what, family, protocol),), [(v,) for v in values])
                    found.update(_nft_interface(key[at], exact=part[0] in ('iif', 'oif'))
                                 for at, part in enumerate(parts) if part[0] in ('iifname', 'iif', 'oifname', 'oif')
                                 for key in keys)
        return found


# Base chains the walk runs: (hook, type) -> the walk's hook. Prerouting NAT chains run inside NAT's hook.
_NFT_HOOKS = {('prerouting', 'filter'): 'PREROUTING', ('prerouting', 'nat'): 'PREROUTING',
              ('input', 'filter'): 'INPUT', ('forward', 'filter'): 'FORWARD', ('postrouting', 'filter'): 'POSTROUTING'}
# Base chains the walk leaves out, as it does iptables' nat INPUT and POSTROUTING and all of OUTPUT:
# NAT of the source on the way in or out, and the host's own packets.
_NFT_NOT_WALKED = (('input', 'nat'), ('postrouting', 'nat'), ('output', 'nat'), ('output', 'filter'), ('output', 'route'))


class NftModel:
    """What the walk takes of a family's nftables ruleset: {hook: [_Stage]}, the interface patterns its
    rules match, the tables walked, and what is not modelled (each makes what would be delivered unknown)."""

    def __init__(self, stages, patterns, walked, not_modelled, unread=False):
        self.stages = stages
        self.patterns = patterns
        self.walked = walked
        self.not_modelled = not_modelled
        self.unread = unread  # the listing could not be read: nothing of it is known, a DNAT no more than a drop


def nft_model(family, text, iptables_tables=frozenset(_XTABLES)):
    """The NftModel of one family from `nft list ruleset` text. iptables-nft's own tables are left to the
    iptables walk where their rules were given as iptables-nft's save text (iptables_tables: the tables it
    holds); a table of that name it does not hold (the legacy variant's rules walked, or a table nft made
    that iptables-nft-save leaves out as incompatible) is not modelled where it holds any rule."""
    try:
        tables = nft_ruleset.parse(text)
    except nft_ruleset.NftRulesetError as exc:
        return NftModel({}, set(), [], ['the nftables ruleset cannot be read: %s' % exc], unread=True)
    stages, patterns, walked, not_modelled = {}, set(), [], []
    for table in tables:
        if table.family not in _NFT_FAMILIES[family] or 'dormant' in table.flags:
            continue  # (the kernel runs no chain of a dormant table)
        bases = [chain for chain in table.chains.values() if chain.base]
        if table.family in ('ip', 'ip6') and table.name in _XTABLES:
            if table.name not in iptables_tables and any(chain.rules or chain.policy != 'accept'
                                                         for chain in table.chains.values()):
                not_modelled.append('%s (iptables-nft rules not given as iptables-save text)' % table.label)
            continue
        if table.family not in ('inet', _NFT_FAMILY[family]):
            # Base chains with no rule that accept by policy filter nothing (ebtables-nft's empty tables).
            if any(chain.rules or chain.policy != 'accept' for chain in bases):
                not_modelled.append('%s (%s tables are not modelled)' % (table.label, table.family))
            continue
        walker = _NftWalker(table)
        for chain in bases:
            key = (chain.hook, chain.type)
            if key in _NFT_NOT_WALKED:
                continue
            if key not in _NFT_HOOKS:
                not_modelled.append('%s chain %s (type %s hook %s)' % (table.label, chain.name, chain.type, chain.hook))
                continue
            unplaced = None
            if key == ('prerouting', 'filter') and chain.priority == _NAT_PRIORITY:
                unplaced = 'a filter chain at the priority of NAT: whether it sees the packet before or after DNAT is not known'
            stages.setdefault(_NFT_HOOKS[key], []).append(
                _Stage(walker, chain.name, chain.priority, nat=chain.type == 'nat', unplaced=unplaced))
        patterns |= walker.patterns()
        walked.append(table.label)
    return NftModel(stages, patterns, walked, not_modelled)


# ---------------------------------------------------------------------------------------------
# The question and the answer.


def _deliver(ctx, flow, binding, userland_proxy, forwarding):
    """The final verdict of a flow that passed PREROUTING: (flow, verdict, to, reason)."""
    packet = flow.packet
    where = ctx.route(packet.dst)
    if where is None:
        return [(flow, UNKNOWN, None, dict(why='no route known to %s' % ipaddress.ip_address(packet.dst)))]
    if where == 'local':
        flows, finished = _run_hook(ctx, 'INPUT', [flow.but(packet=packet.but(tracked=True))])
        to = 'host'
    elif not forwarding:
        return [(flow, UNREACHABLE, None, dict(why='forwarding is off in this family'))]
    else:
        flows, finished = _run_hook(ctx, 'FORWARD', [flow.but(packet=packet.but(out=where, tracked=True))])
        flows, more = _run_hook(ctx, 'POSTROUTING', flows)
        finished += more
        to = 'container'
    found = [_finished(f, outcome) for f, outcome in finished]
    for accepted in flows:
        found.append(_arrived(ctx, accepted, to, binding, userland_proxy))
    return found


def _finished(flow, outcome):
    if outcome == 'drop':
        step = flow.path[-1] if flow.path else ('', '', '')
        return flow, UNREACHABLE, None, dict(why='dropped', table=step[0], chain=step[1], rule=step[2])
    return flow, UNKNOWN, None, outcome[1]


def _arrived(ctx, flow, to, binding, userland_proxy):
    packet = flow.packet
    if binding.get('forwarded'):
        return _forwarded(flow)
    address = binding.get('address')
    wanted = int(ipaddress.ip_address(address)) if address else None
    if to == 'container':
        if packet.dst == wanted and packet.dport == int(binding['container_port']):
            return flow, REACHABLE, to, None
        return flow, UNREACHABLE, None, dict(why='sent to %s port %d, not to the container' % (
            ipaddress.ip_address(packet.dst), packet.dport))
    if binding.get('host_port') is None:
        return flow, UNREACHABLE, None, dict(why='delivered to the host, not to the container')
    host_ip = binding.get('host_ip')
    bound = not host_ip or ipaddress.ip_address(host_ip).is_unspecified or int(ipaddress.ip_address(host_ip)) == packet.dst
    if packet.dnat or packet.dport != int(binding['host_port']) or not bound:
        return flow, UNREACHABLE, None, dict(why='delivered to the host at %s port %d, where the port is not published' % (
            ipaddress.ip_address(packet.dst), packet.dport))
    if not userland_proxy:
        return flow, UNREACHABLE, None, dict(why='delivered to the host, where no docker-proxy listens (userland-proxy off)')
    return flow, REACHABLE, 'host', None


def _forwarded(flow):
    """A forwarded packet (not to the host, no published port) that FORWARD let out: reachable when it
    still goes to the address and port asked about; DNAT (kube-proxy's services) sends it elsewhere."""
    packet = flow.packet
    if packet.dnat:
        return flow, UNKNOWN, None, dict(why='DNAT sends it to %s port %d: where a rewritten packet goes is not asked' % (
            ipaddress.ip_address(packet.dst), packet.dport))
    return flow, REACHABLE, 'target', None


def _beside_reason(family, nftables_tables, beside, nft=None):
    """Why what the walk would deliver is unknown: nftables tables it does not walk (without a ruleset,
    every table that is not iptables-nft's own; with one, what of it is not modelled), rules beside."""
    others = [name for name in nftables_tables or ()
              if name.split(' ', 1)[0] in _NFT_FAMILIES[family]
              and not (name.split(' ', 1)[0] in ('ip', 'ip6') and name.split(' ', 1)[-1] in _XTABLES)]
    why, every_verdict = [], False
    if nft is not None and nft.not_modelled:
        why.append('nftables not modelled: %s' % '; '.join(nft.not_modelled))
        every_verdict = nft.unread
    elif nft is None and others:
        why.append('nftables tables beside the iptables rules are not modelled: %s' % ', '.join(sorted(others)))
        every_verdict = True
    if beside:
        why.append('rules beside these are not modelled: %s' % ', '.join(beside))
    if not why:
        return None
    # Tables not read at all may hold a DNAT as well as a drop: then no verdict of the walk is known.
    return dict(why='; '.join(why), every_verdict=every_verdict)


def _question(ctx, binding, destinations, userland_proxy, forwarding, nftables_reason):
    """[(destination, flow, verdict, to, reason)] for one published port or container address."""
    protocol = (binding.get('protocol') or 'tcp').lower()
    port = int(binding['host_port'] if binding.get('host_port') is not None else binding['container_port'])
    results = []
    for destination in destinations:
        flows = [Flow(interface, ctx.everything, _ALL_PORTS, Packet(protocol, destination, port)) for interface in ctx.interfaces]
        # Base chains before conntrack (raw) see the packet untracked; those after it, tracked.
        passed, finished = _run_hook(ctx, 'PREROUTING', flows)
        verdicts = [_finished(flow, outcome) for flow, outcome in finished]
        for flow in passed:
            verdicts.extend(_deliver(ctx, flow, binding, userland_proxy, forwarding))
        for flow, verdict, to, reason in verdicts:
            # What is not modelled may drop more (a reachable slice is then unknown); an unread listing may
            # also hold a DNAT, so that no verdict is known.
            if nftables_reason and (verdict == REACHABLE or nftables_reason.get('every_verdict')):
                verdict, to, reason = UNKNOWN, None, dict(why=nftables_reason['why'])
            results.append((destination, flow, verdict, to, reason))
    return results


def _text(family, number):
    return str(ipaddress.ip_address(number) if family == 'ipv4' else ipaddress.IPv6Address(number))


def _cidrs(family, spans):
    address = ipaddress.IPv4Address if family == 'ipv4' else ipaddress.IPv6Address
    return [str(network) for first, last in spans for network in ipaddress.summarize_address_range(address(first), address(last))]


def _ranges(family, spans):
    return ['%s-%s' % (_text(family, first), _text(family, last)) for first, last in spans]


def _slices(ctx, results):
    """The answer as plain data: slices of equal interface, verdict, path and reason, sources merged,
    then destinations merged where all else is equal; in the order of the interfaces."""
    by_destination = {}
    for destination, flow, verdict, to, reason in results:
        path = flow.path if verdict == REACHABLE else ()
        key = (flow.interface, destination, verdict, to, path, tuple(sorted((reason or {}).items())), flow.sports)
        by_destination[key] = _union(by_destination.get(key, ()), flow.sources)
    merged = {}
    for (interface, destination, verdict, to, path, reason, sports), sources in by_destination.items():
        key = (interface, verdict, to, path, reason, sports, sources)
        merged.setdefault(key, []).append(destination)
    order = dict((interface, index) for index, interface in enumerate(ctx.interfaces))
    slices = []
    for key in sorted(merged, key=lambda k: (order[k[0]], [k[1] != REACHABLE, k[1]], k[6][0], sorted(merged[k]), k[5], k[3])):
        interface, verdict, to, path, reason, sports, sources = key
        slices.append(dict(
            interface=interface.label,
            other_interfaces=interface.other,
            destinations=[_text(ctx.family, d) for d in sorted(merged[key])],
            sources=_cidrs(ctx.family, sources),
            source_ranges=_ranges(ctx.family, sources),
            source_ports=None if sports == _ALL_PORTS else ['%d-%d' % span for span in sports],
            verdict=verdict,
            to=to,
            path=[dict(table=table, chain=chain, rule=rule) for table, chain, rule in path] if verdict == REACHABLE else [],
            reason=dict(reason) if reason else None,
        ))
    return slices


def _family_of(binding):
    if binding.get('family'):
        return binding['family']
    for key in ('address', 'host_ip'):
        if binding.get(key):
            return 'ipv6' if ipaddress.ip_address(binding[key]).version == 6 else 'ipv4'
    return None


def reachability(rules, family, bindings, addresses, interfaces=None, ipsets=None, routed=None,
                 userland_proxy=True, forwarding=True, nftables_tables=None, beside=None, forwarded=None,
                 nftables_ruleset=None, rules_in_nft=True, routing=None):
    """Who can open a NEW connection to each published port of one family.

    rules: iptables-save (or ip6tables-save) text of the family, or its parse (_rules.parse_save); None
      where there is no iptables (then iptables-nft's tables in nftables_ruleset, holding rules, are unknown).
    bindings: published ports as _publish.Binding.as_dict() gives them (container, family, address
      (the container's, None: served by docker-proxy alone), host_ip, host_port, container_port,
      protocol); those of the other family are left out.
    addresses: {interface: ['192.0.2.10/24', ...]}: the host's addresses with their prefix length
      (local addresses, and the connected subnets routing follows); interfaces: every interface name
      (default: those of addresses); lo is left out.
    ipsets: {name: _ipset.IpSet} the rules may match (None: every set match is unknown).
    routed: [{address, port, protocol}] container addresses to ask about for routed access (no DNAT).
    forwarded: [{address, port, protocol}] any other addresses and ports to ask about: who can open a
      connection the host forwards to them unchanged (a packet routed between two networks). An address
      of the host's own is not walked (`local`: only published ports are asked about there).
    userland_proxy: whether docker-proxy serves published ports on the host (daemon.json).
    forwarding: whether the kernel forwards this family (ip_forward).
    nftables_tables: the host's nftables tables ('FAMILY NAME'); without nftables_ruleset, one that is
      not iptables-nft's own makes every slice the rules would deliver unknown.
    nftables_ruleset: `nft list ruleset` text: the base chains of its tables of this family (but
      iptables-nft's own, given as rules) are walked with the iptables rules, by priority; what of it is
      not modelled makes every slice the rules would deliver unknown (nftables_tables is then not read).
    beside: names of other rule sets that filter this family's packets and are not given (the other
      iptables variant's rules, 'iptables-legacy'): each makes every slice the rules would deliver unknown.
    rules_in_nft: whether `rules` are iptables-nft's (they then stand for its tables in the ruleset; with
      the legacy variant's, a table of iptables-nft's that holds rules is not modelled).
    routing: the host's IPv6 rules and routes (_routing.parse) for reverse-path lookups in the ruleset (`fib
      saddr . mark . iif oif missing`, firewalld's); None: not read, or why they cannot be read (text): such a
      lookup is then unknown.

    Returns {family, ports: [{port, slices}], routed: [{target, slices}]}, and with `forwarded`
    forwarded: [{target, local, slices}]; a slice is {interface, other_interfaces, destinations, sources,
    source_ranges, source_ports (None: any), verdict (reachable, unknown, unreachable), to (container or
    host, or target for a forwarded packet, when reachable), path (the rules that took it there, when
    reachable), reason (why unknown or unreachable, naming the rule)}; with nftables_ruleset also
    nftables: {walked: the tables walked, not_modelled: what of the ruleset is not}."""
    if family not in FAMILIES:
        raise ValueError('family must be one of %s' % ', '.join(FAMILIES))
    tables = parse_save(rules or '') if rules is None or isinstance(rules, str) else rules
    given = frozenset(tables) if rules is not None and rules_in_nft else frozenset()
    nft = None if nftables_ruleset is None else nft_model(family, nftables_ruleset, iptables_tables=given)
    names = interfaces if interfaces is not None else sorted(addresses or {})
    classes = interface_classes(names, tables, nft.patterns if nft else ())
    ctx = _Context(family, tables, addresses, ipsets, classes, nft.stages if nft else None, routing=routing)
    nftables_reason = _beside_reason(family, nftables_tables, beside, nft)
    loopback = ipaddress.ip_network(_LOOPBACK[family])
    hosts = [a for a in ctx.local_addresses if not _in(a, ((int(loopback.network_address), int(loopback.broadcast_address)),))]
    ports = []
    for binding in bindings or []:
        if _family_of(binding) not in (None, family):
            continue
        results = _question(ctx, binding, hosts, userland_proxy, forwarding, nftables_reason)
        ports.append(dict(port=dict(binding), slices=_slices(ctx, results)))
    asked = (userland_proxy, forwarding, nftables_reason)
    answer = dict(family=family, ports=ports, routed=_targets(ctx, routed, asked))
    if forwarded is not None:
        answer['forwarded'] = _targets(ctx, forwarded, asked, forwarded=True)
    if nft is not None:
        answer['nftables'] = dict(walked=nft.walked, not_modelled=nft.not_modelled)
    return answer


def check_targets(targets):
    """Raise ValueError naming the first target ({address, port}) that is no address and port."""
    for target in targets:
        try:
            ipaddress.ip_address(target['address'])
        except ValueError:
            raise ValueError('%r is not an address' % (target['address'],))
        if not 0 < int(target['port']) < 65536:
            raise ValueError('%r is not a port' % (target['port'],))


def _targets(ctx, targets, asked, forwarded=False):
    """[{target, slices}] for addresses and ports asked about without DNAT: containers' (routed access),
    or any the host forwards to (forwarded, with `local`: an address of the host's own is not walked)."""
    found = []
    for target in targets or []:
        if _family_of(target) not in (None, ctx.family):
            continue
        destination = int(ipaddress.ip_address(target['address']))
        entry = dict(target=dict(target))
        if forwarded:
            entry['local'] = ctx.route(destination) == 'local'
            if entry['local']:
                found.append(dict(entry, slices=[]))
                continue
        binding = dict(address=target['address'], container_port=target['port'], host_port=None,
                       protocol=target.get('protocol') or 'tcp', forwarded=forwarded)
        results = _question(ctx, binding, [destination], *asked)
        found.append(dict(entry, slices=_slices(ctx, results)))
    return found


# ---------------------------------------------------------------------------------------------
# Reading an answer (for compliance): slices by interface, their sources as interval sets.


def spans_of(ranges):
    """The interval set of a slice's source_ranges ('first-last' texts)."""
    return tuple(merge_spans([tuple(int(ipaddress.ip_address(a)) for a in text.split('-', 1)) for text in ranges]))


def intersect(left, right):
    return _intersect(left, right)


def subtract(left, right):
    return _subtract(left, right)


def cidrs(family, spans):
    """An interval set as the fewest networks of the family."""
    return _cidrs(family, spans)


def path_text(path):
    """A slice's path as one line: 'table chain: rule -> ...'."""
    return ' -> '.join('%s %s: %s' % (step['table'], step['chain'], step['rule']) for step in path)


def reason_text(reason):
    """A slice's reason as one line: why, and the rule where there is one."""
    reason = reason or {}
    where = ' (%s %s: %s)' % (reason['table'], reason['chain'], reason['rule']) if reason.get('rule') else ''
    return (reason.get('why') or 'not known') + where


def slice_interface(found):
    """The Interface (or class of interfaces) of a slice of an answer."""
    label = found['interface']
    return Interface(label[:-1], True) if found['other_interfaces'] else Interface(label)


def slices_on(slices, pattern):
    """The slices of the interfaces an -i `pattern` (a name or a wildcard like `wan+`) matches. An
    interface no rule names and the host does not have is in the class of the longest wildcard that
    holds it (`+` at least): that class stands for it, and for a wildcard's unnamed members."""
    chosen = [s for s in slices if slice_interface(s).matches(pattern)]
    if any(s['other_interfaces'] for s in chosen) or (chosen and not pattern.endswith('+')):
        return chosen
    prefix = pattern.rstrip('+')
    classes = [s for s in slices if s['other_interfaces'] and prefix.startswith(slice_interface(s).name)]
    longest = max([slice_interface(s).name for s in classes] or [''], key=len)
    return chosen + [s for s in classes if slice_interface(s).name == longest]


# ---------------------------------------------------------------------------------------------
# A whole host, from what docker_firewall_info read.

# The collection's own table: it only drops (an nftables accept is not final), holding the same
# declarations as DOCKER-USER; compliance compares it with them (nft_table). Left out of the walk when
# the ruleset was not read (only drops: a slice called reachable may still be dropped, never the other way).
OUR_TABLE = 'inet netops-docker-firewall'


def published(inspects, userland_proxy):
    """(bindings, routed targets) of the running containers (`docker inspect`): each published port in
    each family the container has an address in, and where docker-proxy runs the ports published on
    no host address in the family the container has no address in (docker-proxy serves them); each
    container address with each container port it publishes, for routed access."""
    found, routed = [], []
    for inspect in inspects or []:
        name, addresses = container_name(inspect), container_addresses(inspect)
        found.extend(binding.as_dict() for binding in bindings(inspect))
        requested = requested_ports(inspect)
        for host_ip, host_port, container_port, protocol in requested:
            if userland_proxy and addresses and host_ip == '':
                found.extend(dict(container=name, family=family, address=None, host_ip=None, host_port=host_port,
                                  container_port=container_port, protocol=protocol)
                             for family in FAMILIES if family not in addresses)
        ports = sorted(set((container_port, protocol) for _ip, _port, container_port, protocol in requested))
        routed.extend(dict(container=name, family=family, address=address, port=port, protocol=protocol)
                      for family, address in sorted(addresses.items()) for port, protocol in ports)
    return found, routed


def host_reachability(saves, backend, addresses, interfaces, inspects, userland_proxy, forwarding,
                      ipsets_text='', nftables_tables=None, errors=(), forwarded=None, nftables_ruleset=None,
                      routing=None):
    """The engine over a whole host: {backend, left_out, nftables_modelled, errors, families: {family:
    reachability()}, seconds}. saves: {backend: {family: iptables-save text}} of every variant read;
    backend: the one whose rules are walked (the others' rules, where they hold any, make reachable
    slices unknown); forwarding: {family: bool or None (unreadable)}; ipsets_text: `ipset save` of the
    collection's sets; errors: what could not be read (the caller's), kept in the answer; forwarded: the
    addresses and ports asked about besides (reachability()'s `forwarded`, each in its family).
    nftables_ruleset: `nft list ruleset` (None: not read): its tables are walked, the collection's own
    among them; without it the collection's table is left out (left_out) and every other table of
    nftables_tables makes reachable slices unknown. nftables_modelled: whether nftables is in the answer
    (the ruleset walked, or nft listing no table beside iptables'). routing: {family: {rules, routes,
    ignore_linkdown} (`ip -j -6 rule show`, `ip -j -6 route show table all`, {device: its
    ignore_routes_with_linkdown}), or {error}}, read where the ruleset holds a reverse-path lookup
    (_routing.needs_routing); routing_read: the families whose routes were read and understood."""
    errors = list(errors)
    if nftables_ruleset is not None:
        try:
            nft_ruleset.parse(nftables_ruleset)
        except nft_ruleset.NftRulesetError as exc:
            # Not read, then: the tables nft lists make what the rules would deliver unknown, as without it.
            errors.append('the nftables ruleset cannot be read: %s' % exc)
            nftables_ruleset = None
    try:
        sets = ipset.parse_save(ipsets_text or '')
    except ipset.IpsetSyntaxError as exc:
        sets = {}
        errors.append('the ipsets cannot be read: %s' % exc)
    routes = {}
    for family, read in sorted((routing or {}).items()):
        if read.get('error'):
            routes[family] = read['error']
            errors.append('the %s routes cannot be read: %s' % (family, read['error']))
            continue
        try:
            routes[family] = routing_engine.parse(read['rules'], read['routes'], read.get('ignore_linkdown'))
        except routing_engine.RoutingError as exc:
            routes[family] = str(exc)
            errors.append('the %s routes cannot be read: %s' % (family, exc))
    found, routed = published(inspects, userland_proxy)
    walked = nftables_ruleset is not None
    modelled = walked or (nftables_tables is not None and not needs_ruleset(nftables_tables))
    left_out = [name for name in nftables_tables or () if name == OUR_TABLE and not walked]
    tables = [name for name in nftables_tables or () if name != OUR_TABLE]
    started = time.monotonic()
    families = {}
    for family in FAMILIES:
        text = (saves.get(backend) or {}).get(family)
        if text is None and not walked:
            continue
        beside = ['iptables-%s' % other for other, texts in sorted(saves.items())
                  if other != backend and _filters(texts.get(family) or '')]
        if forwarding.get(family) is None:
            errors.append('%s forwarding is unreadable: taken as on' % family)
        families[family] = reachability(text, family, found, addresses, interfaces=interfaces, ipsets=sets,
                                        routed=routed, userland_proxy=userland_proxy,
                                        forwarding=forwarding.get(family) is not False,
                                        nftables_tables=tables, beside=beside, forwarded=forwarded,
                                        nftables_ruleset=nftables_ruleset, rules_in_nft=backend == 'nft',
                                        routing=routes.get(family))
    return dict(backend=backend, left_out=left_out, nftables_modelled=modelled, errors=errors, families=families,
                routing_read=sorted(family for family, found in routes.items() if not isinstance(found, str)),
                seconds=round(time.monotonic() - started, 6))


def needs_routing(ruleset):
    """Whether the walk needs the host's IPv6 rules and routes: `nft list ruleset` text holds a reverse-path
    lookup (`fib saddr . mark . iif oif missing`, firewalld's IPv6 check)."""
    return routing_engine.needs_routing(ruleset)


def needs_ruleset(tables):
    """Whether the walk needs `nft list ruleset`: nft lists tables ('FAMILY NAME'; None: the listing
    failed) and one of them is not iptables-nft's own."""
    return any(not (name.split(' ', 1)[0] in ('ip', 'ip6') and name.split(' ', 1)[-1] in _XTABLES)
               for name in tables or ())


def _filters(text):
    """Whether iptables-save text holds a rule, or a built-in chain whose policy is not ACCEPT."""
    return any(line.startswith('-A ') or (line.startswith(':') and line.split()[1:2] == ['DROP'])
               for line in text.splitlines())
