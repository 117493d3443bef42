# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance checks: what docker_firewall_info read on a host, against the profile the host
should have. Private to this collection. Pure: runs on the controller (filter plugin)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decide
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _firewalld as firewalld
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _kube_proxy as kube_proxy
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _reachability as reach
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import preset_settings
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import merge_spans
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import (
    CONTAINER_BRIDGES,
    ROUTED,
    bridge_covered,
    declared_blocks,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import plan_chain, same_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES, InputError

PROFILES = ('docker_on_router', 'docker_beside_kube_proxy', 'none')
ROUTER, KUBE = ('docker_on_router',), ('docker_beside_kube_proxy',)
PASS, FAIL, SKIP = 'pass', 'fail', 'skip'


class ExpectationError(ValueError):
    """The inventory declares something that cannot be checked (bad profile or rule)."""


class Check:
    """One registered check: what it asserts, for which profiles, and the function that decides."""

    __slots__ = ('id', 'title', 'profiles', 'function')

    def __init__(self, check_id, title, profiles, function):
        self.id = check_id
        self.title = title
        self.profiles = profiles
        self.function = function


# Every check, in report order. A check is added in one place: a function below with @check.
REGISTRY = []


def check(check_id, title, profiles):
    def register(function):
        REGISTRY.append(Check(check_id, title, profiles, function))
        return function
    return register


class Host:
    """What the checks of one host read: its facts, its declared settings, and (for routers) the
    DOCKER-USER lines those declarations give, computed once."""

    def __init__(self, facts, expected):
        self.facts = facts
        self.expected = expected
        self._blocks = None

    @property
    def blocks(self):
        """The declared router pairs, allowlists and routed access as blocks, built once."""
        if self._blocks is None:
            self._blocks = declared_router_blocks(self.expected)
        return self._blocks

    @property
    def wanted(self):
        """Our DOCKER-USER lines per family for the declarations."""
        return dict((family, plan_chain([], family, self.blocks, purge=True)) for family in FAMILIES)

    @property
    def wanted_table(self):
        """Our nftables table for the declarations (None: nothing declared, so no table)."""
        return nft.plan_table(None, self.blocks, purge=True)

    def backstop(self):
        """(the table that should exist on Docker's iptables backend, or a reason the check cannot
        say): the declarations when the backstop is kept (_decisions.backstop, for the declared mode and
        declarations, and where docker_firewall_info found nft), else None: no table of ours may drop
        beside DOCKER-USER."""
        nft_path = self.decisions.get('nft_path')
        drops = bool(self.expected.get('allowlists')) or self.expected.get('routed') is not None
        kept = decide.backstop(self.expected.get('backstop', 'auto'), self.firewall, nft_path, drops)
        if not kept.value:
            return None, NO_BACKSTOP if kept.reason == NO_BACKSTOP else None
        if not nft_path:
            return self.wanted_table, ('nft is not installed, but the backstop is required '
                                       '(docker_on_router_backstop: always)')
        return self.wanted_table, None

    def wanted_sets(self):
        """{name: IpSet} the declared allowlists keep on Docker's iptables backend, in the families
        whose DOCKER-USER exists (the role writes no other)."""
        return dict((s.name, s) for block in self.blocks.values() for s in block.sets.values()
                    if ((self.families.get(s.family) or {}).get('docker_user') or {}).get('exists'))

    @property
    def decisions(self):
        """What docker_firewall_info decided on the host (_decisions): read here, never decided again."""
        return self.facts.get('decisions') or {}

    @property
    def firewall(self):
        """The firewall backend Docker runs (docker_firewall_info's decision)."""
        return self.decisions.get('firewall_backend')

    @property
    def families(self):
        """The facts per family of the iptables variant docker_firewall_info decided for (the one holding
        Docker's chains)."""
        return (self.facts.get('iptables') or {}).get(self.decisions.get('iptables_variant'), {})

    def all_families(self):
        """(backend, family, facts) of every backend and family read."""
        return [(backend, family, f) for backend, families in sorted((self.facts.get('iptables') or {}).items())
                for family, f in sorted(families.items())]


def _ours(lines):
    return [line for line in lines or [] if decide.is_ours(line)]


def declared_router_blocks(expected):
    """The declared router pairs, allowlists and routed access (None: not part of the declaration) as
    blocks; a bad declaration is an ExpectationError."""
    try:
        return declared_blocks(expected.get('accept') or [], expected.get('allowlists') or [], expected.get('routed'))
    except (InputError, KeyError, TypeError) as exc:
        raise ExpectationError('the declared router rules cannot be checked: %s' % exc)


def _result(details):
    return (FAIL, details) if details else (PASS, [])


# --- the router profile -----------------------------------------------------------------------


@check('ip_forward', 'IPv4 forwarding is on', ROUTER)
def _ip_forward(host):
    on = (host.facts.get('ip_forward') or {}).get('ipv4')
    return (PASS, []) if on else (FAIL, ['net.ipv4.ip_forward is %s' % ('0' if on is False else 'unreadable')])


_NOT_IPTABLES = 'Docker runs its nftables firewall backend: see nft_table'
NO_BACKSTOP = decide.BACKSTOP_WITHOUT_NFT


@check('firewall_backend', 'the policy is written for the firewall backend Docker runs', ROUTER)
def _firewall_backend(host):
    if host.firewall != 'nftables':
        return PASS, []
    leftover = ['%s %s DOCKER-USER holds %s, written for the iptables backend Docker no longer uses'
                % (backend, family, ', '.join(f['docker_user']['blocks']))
                for backend, family, f in host.all_families() if f['docker_user']['blocks']]
    return _result(leftover)


@check('nft_table', 'our nftables table holds exactly the declared pairs and allowlists (the policy on Docker\'s '
       'nftables backend, the backstop beside DOCKER-USER on its iptables backend)', ROUTER)
def _nft_table(host):
    if host.firewall == 'nftables':
        wanted = host.wanted_table
    else:
        wanted, problem = host.backstop()
        if problem == NO_BACKSTOP:
            return SKIP, [problem]
        if problem:
            return FAIL, [problem]
    ours = (host.facts.get('nftables') or {}).get('ours')
    if ours and ours.get('error'):
        return FAIL, [ours['error']]
    try:
        have = nft.parse_table(ours['text']) if ours else None
    except ValueError as exc:  # NftSyntaxError, or an element that is not an address
        return FAIL, ['our nftables table cannot be read: %s' % exc]
    if nft.same_table(have, wanted):
        return PASS, []
    return FAIL, _table_differences(have, wanted)


def _table_differences(have, wanted):
    have_blocks = have.blocks() if have else []
    wanted_blocks = wanted.blocks() if wanted else []
    details = ['missing: %s' % name for name in wanted_blocks if name not in have_blocks]
    details += ['extra: %s' % name for name in have_blocks if name not in wanted_blocks]
    if not wanted:
        details.append('the table should not exist: it would drop beside DOCKER-USER')
    return details or ['the sets or rules of %s differ from the declared ones' % ', '.join(wanted_blocks)]


def _entries_text(entries):
    return ', '.join(entries[:5]) + (' and %d more' % (len(entries) - 5) if len(entries) > 5 else '')


@check('ipsets', 'our ipsets hold exactly the declared sources (allowlists kept in sets on Docker\'s iptables '
       'backend)', ROUTER)
def _ipsets(host):
    if host.firewall == 'nftables':
        return SKIP, [_NOT_IPTABLES]
    facts = host.facts.get('ipsets') or {}
    if facts.get('error'):
        return FAIL, ['the ipsets cannot be read: %s' % facts['error']]
    wanted = host.wanted_sets()
    try:
        have = ipset.parse_save(facts.get('text') or '')
    except ipset.IpsetSyntaxError as exc:
        return FAIL, ['the ipsets cannot be read: %s' % exc]
    details = []
    for name, want in sorted(wanted.items()):
        if name not in have:
            details.append('missing: ipset %s (%d entries)' % (name, len(want.entries)))
        elif not ipset.same_set(have[name], want):
            found = have[name]
            extra = sorted(set(found.entries) - set(want.entries)) + found.flagged
            lost = sorted(set(want.entries) - set(found.entries))
            if extra or lost:
                details.append('ipset %s differs: %d not declared (%s), %d declared missing (%s)'
                               % (name, len(extra), _entries_text(extra), len(lost), _entries_text(lost)))
            else:
                details.append('ipset %s is %s %s with room for %d entries, not %s %s for %d'
                               % (name, found.set_type, found.family, found.maxelem, want.set_type, want.family,
                                  len(want.entries)))
    details += ['extra: ipset %s' % name for name in sorted(have) if name not in wanted]
    return _result(details)


@check('docker_user_first', 'FORWARD reaches DOCKER-USER, and DOCKER-USER our rules, before any rule that accepts',
       ROUTER)
def _docker_user_first(host):
    if host.firewall == 'nftables':
        return SKIP, [_NOT_IPTABLES]
    details = []
    for family in FAMILIES:
        facts = host.families.get(family)
        if not facts or not facts['docker_user']['exists']:
            if family == 'ipv4':
                details.append('ipv4 has no DOCKER-USER chain')
            continue
        if facts['docker_user_jump'] is None:
            details.append('%s FORWARD does not jump to DOCKER-USER: its rules filter nothing' % family)
        for line in facts['accepting_before_docker_user']:
            details.append('%s FORWARD accepts before DOCKER-USER: %s' % (family, line))
        details += ['%s DOCKER-USER: a rule of another tool comes before ours (what it accepts or returns never '
                    'meets the allowlists): %s' % (family, line) for line in _before_ours(facts['docker_user']['rules'])]
    return _result(details)


def _before_ours(lines):
    """The rules above the first of ours in DOCKER-USER (none when no rule is ours): the modules and
    the restore program always put ours first."""
    first = next((i for i, line in enumerate(lines) if decide.is_ours(line)), None)
    return lines[:first] if first else []


def _rules_check(family_facts, wanted, family):
    if family_facts is None or not family_facts['docker_user']['exists']:
        if wanted:
            return FAIL, ['%s DOCKER-USER does not exist: %d rules of ours are missing' % (family, len(wanted))]
        return PASS, []
    have = _ours(family_facts['docker_user']['rules'])
    if same_chain(have, wanted):
        return PASS, []
    missing = [line for line in wanted if line not in have]
    extra = [line for line in have if line not in wanted]
    details = ['missing: %s' % line for line in missing] + ['extra: %s' % line for line in extra]
    if not details:
        details = ['out of order: %s' % line for line in have]
    return FAIL, details


@check('router_rules_ipv4', 'our IPv4 DOCKER-USER rules: none missing, extra or out of order', ROUTER)
def _router_rules_ipv4(host):
    if host.firewall == 'nftables':
        return SKIP, [_NOT_IPTABLES]
    return _rules_check(host.families.get('ipv4'), host.wanted['ipv4'], 'ipv4')


@check('router_rules_ipv6', 'our IPv6 DOCKER-USER rules: none missing, extra or out of order', ROUTER)
def _router_rules_ipv6(host):
    if host.firewall == 'nftables':
        return SKIP, [_NOT_IPTABLES]
    return _rules_check(host.families.get('ipv6'), host.wanted['ipv6'], 'ipv6')


@check('proxy_path', 'no path around the allowlists through docker-proxy', ROUTER)
def _proxy_path(host):
    if not host.expected.get('allowlists'):
        return SKIP, ['no allowlist declared']
    settings = host.facts.get('daemon_json') or {}
    if settings.get('userland-proxy', True) is not False:
        return FAIL, ['userland-proxy is %s in daemon.json: docker-proxy serves published ports on INPUT, where '
                      'IPv6 clients of IPv4-only networks reach them around the allowlists'
                      % ('not set (on by default)' if 'userland-proxy' not in settings
                         else json.dumps(settings['userland-proxy']))]
    return PASS, []


_ANY_INTERFACE = 'every interface'
# Gateway modes in which Docker 28 and later let any interface route to a network's containers.
_OPEN_MODES = ('routed', 'nat-unprotected')


def _families_of(network):
    return set('ipv6' if ':' in subnet else 'ipv4' for subnet in network['subnets'])


def _docker_lets_in(network, dropped, allowed):
    """Who Docker itself lets route to a bridge network's containers: every interface, the trusted host
    interfaces, or nobody (None). Without its raw-table drop (`dropped`, docker_firewall_info's decision:
    before 28) nothing stops it; with it, the drop does, unless allow-direct-routing, a routed or
    nat-unprotected gateway mode, or trusted interfaces lift it."""
    if network['internal']:
        return None  # Docker drops what comes from outside an internal network
    modes = [network['gateway_mode'].get(family) for family in _families_of(network)]
    if all(mode == 'isolated' for mode in modes) and modes:
        return None
    if not dropped or allowed or any(mode in _OPEN_MODES for mode in modes):
        return _ANY_INTERFACE
    return ', '.join(network['trusted_host_interfaces']) or None


def _network_line(network, covered):
    modes = network['gateway_mode']
    return ('network %s (bridge %s, %s): gateway mode ipv4 %s, ipv6 %s; trusted host interfaces %s; %s'
            % (network['name'], network['bridge'], ', '.join(network['subnets']) or 'no subnet', modes.get('ipv4'),
               modes.get('ipv6'), ', '.join(network['trusted_host_interfaces']) or 'none',
               'internal' if network['internal'] else 'guarded (%s)' % ' '.join(CONTAINER_BRIDGES) if covered
               else 'NOT covered by the guard (%s)' % ' '.join(CONTAINER_BRIDGES)))


@check('direct_routing', 'no Docker network is reachable by direct routing from an interface the routed-access '
       'declarations do not allow (the routed block itself: router_rules_*, nft_table)', ROUTER)
def _direct_routing(host):
    if host.expected.get('routed') is None:
        return SKIP, ['routed access is not part of the declaration (docker_on_router_routed)']
    networks = host.facts.get('networks')
    if networks is None:
        return FAIL, ['the Docker networks cannot be read: %s' % (host.facts.get('networks_error') or 'not reported')]
    allowed = (host.facts.get('daemon_json') or {}).get('allow-direct-routing') is True
    bridges = [network for network in networks if network.get('bridge')]
    dropped = host.decisions.get('direct_routing_dropped')
    details = []
    for network in bridges:
        reach = None if bridge_covered(network['bridge']) else _docker_lets_in(network, dropped, allowed)
        if reach:
            details.append('network %s: its bridge %s is not one the guard covers (%s), and Docker lets %s route to '
                           'its containers: name the bridge docker* or br-* (com.docker.network.bridge.name)'
                           % (network['name'], network['bridge'], ' '.join(CONTAINER_BRIDGES), reach))
    info = ['daemon.json %s allow-direct-routing' % ('sets' if allowed else 'does not set')]
    info += [_network_line(network, bridge_covered(network['bridge'])) for network in bridges]
    return (FAIL, details + info) if details else (PASS, info)


# --- reachability (worked out on the host by docker_firewall_info with _reachability) ---------------

_UNKNOWN = 'unknown: '
_NO_NFTABLES_MODEL = (_UNKNOWN + 'Docker runs its nftables firewall backend, and its nftables ruleset was not walked '
                      '(docker_firewall_info could not read it): who can reach the published ports is not known')


def _port_label(binding):
    via = ' (docker-proxy)' if binding.get('address') is None else ''
    return '%s %s/%s%s' % (binding.get('container'), binding.get('host_port'), binding.get('protocol'), via)


_path_text = reach.path_text
_reason_text = reach.reason_text


def _spans_text(family, spans):
    """An interval set as networks where a span is one, else as ranges 'first-last'."""
    address = ipaddress.IPv4Address if family == 'ipv4' else ipaddress.IPv6Address
    texts = []
    for first, last in spans:
        networks = reach.cidrs(family, [(first, last)])
        texts.append(networks[0] if len(networks) == 1 else '%s-%s' % (address(first), address(last)))
    return ', '.join(texts)


def _who(family, spans, found):
    ports = ' from source ports %s' % ', '.join(found['source_ports']) if found['source_ports'] else ''
    return '%s on %s%s' % (_spans_text(family, spans), found['interface'], ports)


def _in_ports(port, protocol, wanted, wanted_protocol):
    """Whether a port is in a declaration's ports ('8080', '8000-8100' or '8000:8100'), for its protocol."""
    if not wanted:
        return True
    if protocol != wanted_protocol:
        return False
    for text in wanted:
        first, _sep, last = text.replace(':', '-').partition('-')
        if int(first) <= int(port) <= int(last or first):
            return True
    return False


def _judge(family, what, found, allowed, lets):
    """The faults of one slice against the sources a declaration lets on (`allowed`, an interval set):
    unknown, outside them and reachable, inside them and dropped."""
    spans = reach.spans_of(found['source_ranges'])
    if found['verdict'] == reach.UNKNOWN:
        return ['%s%s %s: %s: %s' % (_UNKNOWN, family, what, _who(family, spans, found), _reason_text(found['reason']))]
    if found['verdict'] == reach.REACHABLE:
        outside = reach.subtract(spans, allowed)
        if outside:
            return ['%s %s: %s reaches the %s, which %s does not allow; path: %s'
                    % (family, what, _who(family, outside, found), found['to'], lets, _path_text(found['path']))]
        return []
    why = (found['reason'] or {}).get('why') or ''
    inside = reach.intersect(spans, allowed)
    if inside and (why == 'dropped' or 'forwarding' in why):
        return ['%s %s: %s, which %s allows, cannot reach it: %s'
                % (family, what, _who(family, inside, found), lets, _reason_text(found['reason']))]
    return []


def _allowlist_faults(family, port, spec):
    binding = port['port']
    if not _in_ports(binding['host_port'], binding.get('protocol') or 'tcp', spec['ports'], spec['protocol']):
        return []
    allowed = tuple(merge_spans([source.span() for source in spec['sources'] if source.family == family]))
    lets = 'the allowlist of %s' % spec['interface']
    return [fault for found in reach.slices_on(port['slices'], spec['interface'])
            for fault in _judge(family, _port_label(binding), found, allowed, lets)]


def _container_side(interface, bridges):
    """Whether an interface (or class) is a container's side: a bridge of Docker's networks, or a veth."""
    name = interface.name
    return bridge_covered(name) or name in bridges or name.startswith('veth') or name == 'docker_gwbridge'


def _routed_allowed(family, target, interface, declarations):
    """The sources the routed-access declarations let route from `interface` to the target."""
    address = ipaddress.ip_address(target['address'])
    spans = []
    for declaration in declarations:
        if not interface.matches(declaration['interface']):
            continue
        if declaration['networks'] is not None and not any(address in n for n in declaration['networks']
                                                           if n.version == address.version):
            continue
        if not _in_ports(target['port'], target.get('protocol') or 'tcp', declaration['ports'], declaration['protocol']):
            continue
        if declaration['sources'] is None:
            spans.append((0, 2 ** address.max_prefixlen - 1))
        else:
            spans.extend(source.span() for source in declaration['sources'] if source.family == family)
    return tuple(merge_spans(spans))


def _routed_faults(family, answer, declarations, bridges):
    target = answer['target']
    what = '%s %s port %s/%s routed' % (target.get('container'), target['address'], target['port'],
                                        target.get('protocol') or 'tcp')
    faults = []
    for found in answer['slices']:
        interface = reach.slice_interface(found)
        if _container_side(interface, bridges):
            continue  # from a container bridge: Docker's business, not the guard's
        faults += _judge(family, what, found, _routed_allowed(family, target, interface, declarations),
                         'docker_on_router_routed')
    return faults


@check('reachability', 'who can open a connection to each published port and container address, as worked out from '
       'the rules in force, is what the allowlists and routed-access declarations say', ROUTER)
def _reachability(host):
    found = host.facts.get('reachability')
    if not found:
        return SKIP, ['docker_firewall_info did not work out reachability (its option reachability: true)']
    if host.firewall == 'nftables' and not found.get('nftables_modelled'):
        return FAIL, [_NO_NFTABLES_MODEL]
    details = [_UNKNOWN + error for error in found.get('errors') or []]
    allowlists = [block.spec for name, block in sorted(host.blocks.items()) if name.startswith('allowlist:')]
    routed = host.blocks.get(ROUTED)
    bridges = set(network['bridge'] for network in host.facts.get('networks') or [] if network.get('bridge'))
    for family, answer in sorted((found.get('families') or {}).items()):
        for port in answer['ports']:
            for spec in allowlists:
                details += _allowlist_faults(family, port, spec)
        if routed is not None:
            for target in answer['routed']:
                details += _routed_faults(family, target, routed.spec['declarations'], bridges)
    return _result(details)


@check('ports_published_twice', 'no container, running or stopped, publishes one container port twice where Docker '
       '29 on its nftables backend without docker-proxy cannot start it again', ROUTER)
def _ports_published_twice(host):
    settings = host.facts.get('daemon_json') or {}
    # The profile switches docker-proxy off where allowlists are declared (proxy_path fails otherwise).
    proxy = False if host.expected.get('allowlists') else settings.get('userland-proxy', True)
    if not (host.decisions.get('published_twice_needs_proxy') and proxy is False):
        return SKIP, ['only Docker 29 on its nftables backend without docker-proxy cannot start such a container']
    way_out = ('publish each container port once, or keep docker-proxy (docker_on_router_close_proxy_path: false)')
    details = ['container %s publishes %s more than once: Docker cannot start it again (MASQ TO OWN PORT ... rule '
               'exists); %s' % (c['name'], ', '.join(c['ports_published_twice']), way_out)
               for c in host.facts.get('containers') or [] if c.get('ports_published_twice')]
    stopped = host.facts.get('stopped_published_twice', [])
    if stopped is None:
        details.append('the stopped containers could not be read: whether one publishes a port twice is not known')
    details += ['stopped container %s (restart policy %s) publishes %s more than once: Docker cannot start it '
                'again; %s' % (c['name'], c.get('restart_policy', 'no'), ', '.join(c['ports_published_twice']), way_out)
                for c in stopped or [] if c.get('ports_published_twice')]
    return _result(details)


def _program_faults(state, program, engine=True):
    """What keeps a host program of ours from running this collection version's engine (with
    engine=False only whether it is installed: its engine is reported once, for another program)."""
    if not (state.get('programs') or {}).get(program):
        return ['%s is not installed' % layout.PROGRAMS[program][0]]
    if not engine:
        return []
    if state.get('engine_current') is None:
        return ['the engine under %s, which %s runs, is missing' % (layout.ENGINE_DIR, layout.PROGRAMS[program][0])]
    if state.get('engine_current') is False:
        return ['the engine under %s is not this collection version\'s: run the role again' % layout.ENGINE_DIR]
    return []


@check('persistence', 'the restore unit is installed and keeps exactly the declared rules', ROUTER)
def _persistence(host):
    if not host.expected.get('persist', True):
        return SKIP, ['persistence not wanted for this host']
    state = host.facts.get('persistence') or {}
    details = []
    if not state.get('docker_user_unit'):
        details.append('%s is not installed' % layout.RESTORE_UNIT)
    elif not state.get('docker_user_unit_enabled'):
        details.append('%s is not wanted by %s' % (layout.RESTORE_UNIT, layout.WANTED_BY[layout.RESTORE_UNIT]))
    details.extend(_program_faults(state, 'restore'))
    try:
        kept_table = nft.parse_payload(state['kept_table']) if state.get('kept_table') else None
    except ValueError as exc:
        return FAIL, details + ['the kept nftables table cannot be read: %s' % exc]
    if host.firewall == 'nftables':
        if state.get('kept_backend') != 'nftables' or not nft.same_table(kept_table, host.wanted_table):
            details.append('the kept nftables table differs from the declared allowlists (kept for %s)'
                           % (state.get('kept_backend') or 'nothing'))
        return _result(details)
    backstop = host.backstop()[0]
    if not nft.same_table(kept_table, backstop):
        details.append('the kept backstop table differs from the declared allowlists' if backstop
                       else 'a kept nftables table would be loaded beside DOCKER-USER at boot')
    if not state.get('firewalld_watch_unit_enabled'):
        details.append('%s is not wanted by %s: a firewalld reload would leave DOCKER-USER without our rules'
                       % (layout.FIREWALLD_WATCH_UNIT, layout.WANTED_BY[layout.FIREWALLD_WATCH_UNIT]))
    elif state.get('docker_user_unit'):
        details.extend(_program_faults(state, 'firewalld_watch', engine=False))
    try:
        kept_sets = ipset.parse_save(state.get('kept_sets') or '')
    except ipset.IpsetSyntaxError as exc:
        kept_sets = {}
        details.append('the kept ipsets cannot be read: %s' % exc)
    wanted_sets = host.wanted_sets()
    if sorted(kept_sets) != sorted(wanted_sets) or not all(
            ipset.same_set(kept_sets[name], want) for name, want in wanted_sets.items()):
        details.append('the kept ipsets differ from the declared allowlists (%s kept, %s declared)'
                       % (', '.join(sorted(kept_sets)) or 'none', ', '.join(sorted(wanted_sets)) or 'none'))
    for family in FAMILIES:
        kept = (state.get('kept_rules') or {}).get(family, [])
        if host.wanted[family] and not same_chain(kept, host.wanted[family]):
            details.append('the kept %s rules differ from the declared ones (%d kept, %d declared)'
                           % (family, len(kept), len(host.wanted[family])))
    return _result(details)


# --- firewalld's forwarding (decided by docker_firewall_info with _firewalld.evaluate) ------------


@check('firewalld_forwarding', "firewalld (its nftables backend, whose own chain filters forwarded traffic beside "
       "Docker's) forwards the declared router pairs, and the routed-access interfaces into Docker's zone", ROUTER)
def _firewalld_forwarding(host):
    found = host.facts.get('firewalld')
    if found is None:
        return FAIL, ['docker_firewall_info reported no firewalld: a collection older than this check read the host']
    if not found.get('running'):
        return PASS, ['not applicable: firewalld does not run']
    if found.get('backend') == firewalld.IPTABLES and not found.get('error'):
        return PASS, ["not applicable: firewalld runs its iptables backend, whose rules sit in FORWARD below Docker's "
                      'jump to DOCKER-USER, where the declared pairs accept']
    routed = host.expected.get('routed') or []
    pairs = firewalld.declared_pairs(host.expected.get('accept'), [entry['interface'] for entry in routed])
    if not pairs:
        return PASS, ['no router pair or routed access declared']
    verdicts = dict(((v['in_interface'], v['out_interface']), v) for v in found.get('forwarding') or [])
    faults, seen = [], []
    for pair in pairs:
        verdict = verdicts.get(pair)
        if verdict is None:
            faults.append('%sfirewalld forwarding from %s to %s was not evaluated: docker_firewall_info reads it for '
                          'forward_pairs and forward_to_docker (the compliance role passes the declarations)'
                          % ((_UNKNOWN,) + pair))
        elif verdict['verdict'] in (firewalld.REJECT, firewalld.DROP):
            faults.append(firewalld.sentence(verdict))
        elif verdict['verdict'] == firewalld.DEPENDS:
            faults.append(_UNKNOWN + firewalld.sentence(verdict))
        else:
            seen.append(firewalld.sentence(verdict))
    return (FAIL, faults + seen) if faults else (PASS, seen)


# --- the Kubernetes-node profile ----------------------------------------------------------------


@check('k8s_preset', 'daemon.json holds the k8s preset', KUBE)
def _k8s_preset(host):
    wanted = preset_settings('k8s', (host.facts.get('docker') or {}).get('major'))
    wanted.update(host.expected.get('daemon_settings') or {})
    have = host.facts.get('daemon_json') or {}
    details = ['%s is %s, not %s' % (key, 'absent' if key not in have else json.dumps(have[key]), json.dumps(value))
               for key, value in sorted(wanted.items()) if have.get(key) != value]
    if host.facts.get('daemon_json_error'):
        details.insert(0, host.facts['daemon_json_error'])
    return _result(details)


@check('no_docker_rules', 'Docker writes no firewall rules (iptables, or the nftables tables of its nftables backend)',
       KUBE)
def _no_docker_rules(host):
    details = ['%s %s: %d rules written by Docker, e.g. %s'
               % (backend, family, len(f['docker_rules']), f['docker_rules'][0])
               for backend, family, f in host.all_families() if f['docker_rules']]
    details += ['nftables table %s: Docker\'s nftables backend' % name
                for name in leftovers.NFT_TABLES if name in ((host.facts.get('nftables') or {}).get('tables') or [])]
    if details and (host.facts.get('docker') or {}).get('manages_iptables') is False:
        details.append('left from when Docker managed the firewall: they stay until the next reboot, or '
                       'docker_beside_kube_proxy_clear_docker_leftovers removes them now')
    return _result(details)


# --- kube-proxy's mode (decided by docker_firewall_info with _kube_proxy.detect) -----------------


def expected_kube_proxy_mode(expected):
    """The mode the inventory expects (docker_beside_kube_proxy_kube_proxy_mode), 'auto' by default."""
    mode = expected.get('kube_proxy_mode') or 'auto'
    if mode not in kube_proxy.EXPECTED_MODES:
        raise ExpectationError('kube_proxy_mode %r is not one of %s' % (mode, ', '.join(kube_proxy.EXPECTED_MODES)))
    return mode


@check('kube_proxy', "kube-proxy runs in the expected mode, that mode's structures are there, and none holds a rule "
       'of ours', KUBE)
def _kube_proxy(host):
    found = host.facts.get('kube_proxy')
    if not found:
        return FAIL, ['docker_firewall_info reported no kube_proxy: a collection older than this check read the host']
    if found.get('errors'):
        return FAIL, list(found['errors'])
    wanted, mode = expected_kube_proxy_mode(host.expected), found['mode']
    details = []
    if mode == 'none':
        details.append('no structure of kube-proxy in any mode (no KUBE-* chain of its own, no table kube-proxy, '
                       'no %s): kube-proxy does not run' % kube_proxy.IPVS_INTERFACE)
    elif mode == 'several':
        details.append('structures of several modes (%s): leftovers of an earlier mode, or two proxies'
                       % ', '.join(found['seen']))
    elif wanted != 'auto' and mode != wanted:
        details.append('kube-proxy runs in %s mode, the inventory expects %s (docker_beside_kube_proxy_kube_proxy_mode)'
                       % (mode, wanted))
    details += ['missing: %s' % item for item in found.get('missing') or []]
    details += ["a rule of ours in kube-proxy's structures: %s" % line for line in found.get('ours') or []]
    return _result(details)


@check('kube_forwarding', "no FORWARD DROP policy (Docker sets one) drops what the node forwards under kube-proxy's "
       'mode', KUBE)
def _kube_forwarding(host):
    found = host.facts.get('kube_proxy') or {}
    return _result(['%s %s: %s%s' % (f['backend'], f['family'], f['reason'],
                                     '; Docker left its chains here: docker_beside_kube_proxy_clear_docker_leftovers '
                                     'sets the policy back to ACCEPT' if f['docker_left'] else '')
                    for f in found.get('forwarding') or [] if f['blocked']])


@check('standalone_ports', 'no standalone container publishes ports that do not work', KUBE)
def _standalone_ports(host):
    return _result(['%s Fix: %s.' % (f['problem'], f['fix']) for f in host.facts.get('findings') or []])


@check('publisher', 'the listed standalone containers are published and followed', KUBE)
def _publisher(host):
    listed = sorted(host.expected.get('publish') or [])
    if not listed:
        return SKIP, ['no container to publish']
    state = host.facts.get('persistence') or {}
    details = []
    if not (state.get('publisher_unit') and state.get('publisher_unit_enabled')):
        details.append('%s is not installed and enabled' % layout.PUBLISHER_UNIT)
    details.extend(_program_faults(state, 'publish'))
    if sorted(state.get('published_containers') or []) != listed:
        details.append('the publisher is configured for %s, not %s'
                       % (', '.join(state.get('published_containers') or []) or 'nothing', ', '.join(listed)))
    nat = [line for f in host.families.values() for line in (f['publish_rules'].get('nat') or [])]
    running = set(c['name'] for c in host.facts.get('containers') or [])
    for name in listed:
        if name in running and not any('publish:%s"' % name in line for line in nat):
            details.append('%s runs but none of its ports is published' % name)
    return _result(details)


# --- every profile --------------------------------------------------------------------------------


@check('docker_chains_clean', "Docker's chains hold nothing foreign", PROFILES)
def _docker_chains_clean(host):
    return _result(['%s %s: %s' % (backend, family, line) for backend, family, f in host.all_families()
                    for line in f['foreign_in_docker_chains']])


@check('single_backend', 'one iptables backend in use', PROFILES)
def _single_backend(host):
    in_use = host.facts.get('backends_in_use') or []
    if len(in_use) > 1:
        return FAIL, ['rules in %s: each backend filters packets without the other seeing it' % ' and '.join(in_use)]
    return PASS, []


CHECK_IDS = tuple(c.id for c in REGISTRY)
# Facts without docker_firewall_info's decisions cannot be checked: the checks read them, never decide again.
NO_DECISIONS = 'docker_firewall_info reported no decisions: a collection older than these checks read the host'

PROFILE_CHECKS = dict((profile, tuple(c.id for c in REGISTRY if profile in c.profiles)) for profile in PROFILES)


def evaluate(profile, facts, expected):
    """[{id, title, status, details}] for every check, in report order (SKIP where the profile
    does not apply). `expected`: the host's declared settings for its profile."""
    if profile not in PROFILES:
        raise ExpectationError('compliance_profile %r is not one of %s' % (profile, ', '.join(PROFILES)))
    host = Host(facts, expected or {})
    if profile == 'docker_on_router':
        host.wanted  # a bad declaration is an error before any check runs
    if profile == 'docker_beside_kube_proxy':
        expected_kube_proxy_mode(host.expected)
    results = []
    for registered in REGISTRY:
        if profile in registered.profiles and not facts.get('decisions'):
            status, details = FAIL, [NO_DECISIONS]
        elif profile in registered.profiles:
            status, details = registered.function(host)
        else:
            status, details = SKIP, ['not part of the %s profile' % profile]
        results.append(dict(id=registered.id, title=registered.title, status=status, details=details))
    return results


def summarise(hosts):
    """The fleet report from {host: {'profile': ..., 'checks': [...]}} (or {'error': msg})."""
    report_hosts = []
    for name in sorted(hosts):
        entry = hosts[name]
        checks = entry.get('checks') or []
        failed = [c['id'] for c in checks if c['status'] == FAIL]
        error = entry.get('error')
        report_hosts.append(dict(
            name=name, profile=entry.get('profile'), error=error,
            compliant=not failed and not error, failed=failed, checks=checks))
    return dict(
        compliant=all(h['compliant'] for h in report_hosts),
        checks=[dict(id=registered.id, title=registered.title) for registered in REGISTRY],
        hosts=report_hosts,
        totals=dict(hosts=len(report_hosts), compliant=sum(1 for h in report_hosts if h['compliant']),
                    failed_checks=sum(len(h['failed']) for h in report_hosts)),
    )
