# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's IPv6 routing, read from `ip -j -6 rule show` and `ip -j -6 route show table all`, as the
kernel's reverse-path lookup of nftables (`fib saddr [. mark] [. iif] oif missing`, firewalld's IPv6
check) answers it for every source address at once. Private to this collection. Pure: no host access,
no Ansible imports. docs/reachability.md says what is modelled.

The lookup is keyed by the packet's source as destination. Rules are followed in priority order; a rule
`from all lookup TABLE` (the defaults: 0 local, 32766 main) is modelled, any other rule makes the
sources no earlier rule decided unknown. In a table the longest prefix holding a usable route decides
(dead routes, and linkdown ones where the device ignores them, are passed over), its lowest metric:
a unicast route gives its device; local, anycast, unreachable, blackhole, prohibit and throw give none.
Link-local sources are looked up among the routes via the incoming interface alone (the kernel keys
that lookup by it); multicast sources never reach a hook (the kernel drops them on receipt). What the
kernel's version or state decides (several routes of one metric, a multipath route through the
incoming interface, a throw with rules after it, source-specific routes, nexthop objects) is unknown.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import re

EVERYTHING = ((0, 2 ** 128 - 1),)
_LINK_LOCAL = ipaddress.ip_network('fe80::/10')
_MULTICAST = ipaddress.ip_network('ff00::/8')
_NO_DEVICE = ('local', 'anycast', 'unreachable', 'blackhole', 'prohibit')
# A rule the lookup models: no selector but `from all`, a table to look up.
_RULE_KEYS = frozenset(('priority', 'src', 'table', 'protocol'))
# `fib saddr [. mark] [. iif] oif|oifname` in `nft list ruleset` text: a reverse-path lookup.
_REVERSE_PATH = re.compile(r'\bfib saddr(?: \. (?:mark|iif))* oif(?:name)?\b')


class RoutingError(Exception):
    """The routes or rules cannot be read."""


def needs_routing(ruleset):
    """Whether `nft list ruleset` text holds a reverse-path lookup, which needs the host's routes."""
    return bool(ruleset) and bool(_REVERSE_PATH.search(ruleset))


def linkdown_devices(routes_text):
    """The devices of the linkdown routes in `ip -j -6 route show table all` output (whose
    ignore_routes_with_linkdown the lookup needs); [] where it cannot be read (parse() says why)."""
    try:
        return parse('[]', routes_text).linkdown_devices()
    except RoutingError:
        return []


class Route:
    """One route of `ip -j -6 route show table all`: table, type, prefix (first, last, length), metric,
    devices (one per nexthop) with their flags, and why it is not modelled (None: it is)."""

    __slots__ = ('table', 'kind', 'first', 'last', 'length', 'metric', 'hops', 'text', 'not_modelled')

    def __init__(self, entry):
        if not isinstance(entry, dict):
            raise RoutingError('a route that is no object: %r' % (entry,))
        self.table = str(entry.get('table', 'main'))
        self.kind = entry.get('type', 'unicast')
        dst = entry.get('dst')
        try:
            network = ipaddress.IPv6Network(u'::/0' if dst == 'default' else u'%s' % dst, strict=False)
        except (ValueError, TypeError):
            raise RoutingError('a route to %r' % (dst,))
        self.first, self.last = int(network.network_address), int(network.broadcast_address)
        self.length = network.prefixlen
        self.metric = int(entry.get('metric', 0))
        hops = entry.get('nexthops') if entry.get('nexthops') else [entry]
        self.hops = [(hop.get('dev'), tuple(hop.get('flags') or ())) for hop in hops]
        self.text = '%s %s%s%s' % (self.kind, 'default' if dst == 'default' else dst,
                                   ''.join(' dev %s' % dev for dev, _flags in self.hops if dev),
                                   '' if self.table == 'main' else ' table %s' % self.table)
        self.not_modelled = None
        if 'nhid' in entry:
            self.not_modelled = 'route %s uses a nexthop object' % self.text
        elif 'from' in entry or 'src' in entry:
            self.not_modelled = 'route %s is source-specific' % self.text


def _rule_text(rule):
    return ' '.join('%s %s' % (key, value) for key, value in sorted(rule.items()) if key != 'priority')


def _rules(entries):
    """[(table or None, why not modelled)] in priority order."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise RoutingError('ip -j -6 rule show printed no list of rules')
    found = []
    for rule in sorted(entries, key=lambda r: int(r.get('priority', 0))):
        if set(rule) <= _RULE_KEYS and rule.get('src') == 'all' and 'table' in rule:
            found.append((str(rule['table']), None))
        else:
            found.append((None, 'policy routing rule %s: %s' % (rule.get('priority', '?'), _rule_text(rule))))
    return found


def _paint(blocks):
    """Disjoint segments (first, last, value) of CIDR blocks [(first, last, value)], nested or disjoint, one
    value per block: the innermost block holding each address gives its value; no block, no segment."""
    segments, stack, cursor = [], [], 0
    for first, last, value in sorted(blocks, key=lambda block: (block[0], -block[1])):
        while stack and stack[-1][1] < first:
            _first, top_last, top_value = stack.pop()
            if cursor <= top_last:
                segments.append((cursor, top_last, top_value))
                cursor = top_last + 1
        if stack and cursor < first:
            segments.append((cursor, first - 1, stack[-1][2]))
        cursor = first
        stack.append((first, last, value))
    while stack:
        _first, top_last, top_value = stack.pop()
        if cursor <= top_last:
            segments.append((cursor, top_last, top_value))
            cursor = top_last + 1
    return segments


def _fill(segments, painted, value_of):
    """Segments with gaps (value None) filled from painted ones (value_of maps a painted value); the rest
    stays a gap."""
    found = []
    for first, last, value in segments:
        if value is not None:
            found.append((first, last, value))
            continue
        for p_first, p_last, p_value in painted:
            if p_last < first or p_first > last:
                continue
            low, high = max(first, p_first), min(last, p_last)
            if low > first:
                found.append((first, low - 1, None))
            found.append((low, high, value_of(p_value)))
            first = high + 1
        if first <= last:
            found.append((first, last, None))
    return found


class Routing:
    """The IPv6 rules and routes of a host, for reverse-path lookups.

    ignore_linkdown: {device: bool} its ignore_routes_with_linkdown (a linkdown route of a device not
    in it decides nothing it may be asked: unknown)."""

    def __init__(self, rules, routes, ignore_linkdown=None):
        self.rules = rules
        self.routes = routes
        self.ignore_linkdown = dict(ignore_linkdown or {})
        self._cache = None

    def linkdown_devices(self):
        return sorted(set(dev for route in self.routes for dev, flags in route.hops if dev and 'linkdown' in flags))

    def _hops(self, route, same):
        """(devices the route may take, or None where a linkdown device's sysctl was not read (unknown));
        same: None, or a restriction to the incoming interface (device -> True, False or None)."""
        devices = []
        for dev, flags in route.hops:
            if 'dead' in flags:
                continue
            if 'linkdown' in flags:
                ignored = self.ignore_linkdown.get(dev)
                if ignored is None:
                    return None
                if ignored:
                    continue
            devices.append(dev)
        if same is not None:
            devices = [dev for dev in devices if same(dev) is not False]
        return devices

    def _node(self, routes, same):
        """The value of one prefix's routes in one table: ('dev', device), ('multi', devices), ('missing',
        why), ('throw', why), ('unknown', why), or None (no usable route: a shorter prefix decides)."""
        usable = []
        for route in routes:
            if route.not_modelled:
                return ('unknown', route.not_modelled)
            devices = self._hops(route, same)
            if devices is None:
                return ('unknown', 'route %s is linkdown, and whether the kernel ignores it was not read' % route.text)
            if devices:
                usable.append((route, devices))
        if not usable:
            return None
        lowest = min(route.metric for route, _devices in usable)
        chosen = [(route, devices) for route, devices in usable if route.metric == lowest]
        if len(set((route.kind, tuple(devices)) for route, devices in chosen)) > 1:
            return ('unknown', 'routes %s of one metric: which one the kernel takes is not modelled'
                    % ', '.join(route.text for route, _devices in chosen))
        route, devices = chosen[0]
        if same is not None and any(same(dev) is None for dev in devices):
            return ('unknown', 'route %s: whether its device is the incoming interface is not known' % route.text)
        if route.kind in ('unicast', 'multicast'):
            return ('dev', devices[0]) if len(set(devices)) == 1 else ('multi', tuple(devices), route.text)
        if route.kind in _NO_DEVICE:
            return ('missing', '%s route' % route.kind)
        if route.kind == 'throw':
            return ('throw', 'route %s' % route.text)
        return ('unknown', 'route %s of type %s' % (route.text, route.kind))

    def _table(self, table, same):
        by_prefix = {}
        for route in self.routes:
            if route.table == table:
                by_prefix.setdefault((route.first, route.last), []).append(route)
        blocks = []
        for (first, last), routes in by_prefix.items():
            value = self._node(routes, same)
            if value is not None:
                blocks.append((first, last, value))
        return _paint(blocks)

    def lookup(self, same=None):
        """Segments (first, last, value) over the whole IPv6 space: the lookup's answer for each source,
        value ('dev', device), ('multi', devices, route), ('missing', why) or ('unknown', why). same: the
        link-local lookup's restriction to the incoming interface (device -> True, False or None); the
        lookup without one is worked out once."""
        if same is None and self._cache is not None:
            return self._cache
        segments = [(0, 2 ** 128 - 1, None)]
        for at, (table, why) in enumerate(self.rules):
            if table is None:
                segments = _fill(segments, [(0, 2 ** 128 - 1, None)], lambda _value, why=why: ('unknown', why))
                break
            last = at == len(self.rules) - 1
            segments = _fill(segments, self._table(table, same), lambda value, last=last: _thrown(value, last))
        found = [(first, last, value or ('missing', 'no route')) for first, last, value in segments]
        if same is None:
            self._cache = found
        return found


def _thrown(value, last_rule):
    """A table's value with a throw route resolved: no route after the last rule; else not known (the
    kernel's lookups differ on whether the next rule is looked up)."""
    if value[0] != 'throw':
        return value
    if last_rule:
        return ('missing', 'throw %s' % value[1])
    return ('unknown', 'throw %s with policy routing rules after it: kernels differ on whether the next rule is '
                       'looked up' % value[1])


def parse(rules_text, routes_text, ignore_linkdown=None):
    """The Routing of `ip -j -6 rule show` and `ip -j -6 route show table all` output; raises RoutingError."""
    try:
        rules = json.loads(rules_text)
        routes = json.loads(routes_text)
    except ValueError as exc:
        raise RoutingError('ip printed no JSON: %s' % exc)
    if not isinstance(routes, list):
        raise RoutingError('ip -j -6 route show table all printed no list of routes')
    return Routing(_rules(rules), [Route(entry) for entry in routes], ignore_linkdown)


def reverse_path(routing, same, strict):
    """What a reverse-path lookup gives a packet arriving on one interface, by source: (passing spans,
    missing spans, [(unknown spans, why)]). same: device -> True (the incoming interface), False (another)
    or None (not known: a class of interfaces no one listed); strict: the lookup is keyed by the
    incoming interface (`. iif`): the route found must leave by it."""
    passing, missing, doubts = [], [], {}
    link_local = (int(_LINK_LOCAL.network_address), int(_LINK_LOCAL.broadcast_address))
    multicast = (int(_MULTICAST.network_address), int(_MULTICAST.broadcast_address))
    looked_up = _clip(routing.lookup(), link_local, multicast, inside=False) + _clip(
        routing.lookup(same), link_local, multicast, inside=True)
    for first, last, value in looked_up:
        kind = value[0]
        if kind == 'dev':
            outcome = True if not strict else same(value[1])
            outcome = ('unknown', 'route via %s: whether it is the incoming interface is not known' % value[1]) \
                if outcome is None else outcome
        elif kind == 'multi':
            if not strict:
                outcome = True
            elif all(same(dev) is False for dev in value[1]):
                outcome = False
            else:
                outcome = ('unknown', 'multipath route %s through the incoming interface: which nexthop counts '
                                      'differs between kernel versions' % value[2])
        elif kind == 'missing':
            outcome = False
        else:
            outcome = value
        if outcome is True:
            passing.append((first, last))
        elif outcome is False:
            missing.append((first, last))
        else:
            doubts.setdefault(outcome[1], []).append((first, last))
    missing.append(multicast)
    return (_merged(passing), _merged(missing), [(_merged(spans), why) for why, spans in sorted(doubts.items())])


def _clip(segments, link_local, multicast, inside):
    """The segments within the link-local range (inside) or outside it and the multicast range."""
    found = []
    for first, last, value in segments:
        if inside:
            pieces = [(max(first, link_local[0]), min(last, link_local[1]))]
        else:
            pieces = [(first, last)]
            for cut in (link_local, multicast):
                pieces = [piece for low, high in pieces for piece in _minus(low, high, cut)]
        found.extend((low, high, value) for low, high in pieces if low <= high)
    return found


def _minus(first, last, cut):
    if cut[1] < first or cut[0] > last:
        return [(first, last)]
    return [piece for piece in ((first, cut[0] - 1), (cut[1] + 1, last)) if piece[0] <= piece[1]]


def _merged(spans):
    found = []
    for first, last in sorted(spans):
        if found and first <= found[-1][1] + 1:
            found[-1] = (found[-1][0], max(found[-1][1], last))
        else:
            found.append((first, last))
    return tuple(found)
