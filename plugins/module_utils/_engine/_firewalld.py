# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""firewalld's verdict on forwarded traffic between two interfaces: its zones and policies, parsed
from `firewall-cmd --list-all-zones` and `--list-all-policies`, and evaluated as firewalld's
nftables backend does. Private to this collection. Pure: no host access, no Ansible imports.
docker_firewall_info decides with evaluate(); compliance and the roles read its verdicts and never
decide again. (The firewalld watcher, a host program, is _programs/_firewalld_watch.py: nothing in common.)

Why it matters: with FirewallBackend=nftables, firewalld filters forwarded traffic in a base chain
of its own (inet firewalld filter_FORWARD), beside Docker's FORWARD chain; a packet must pass both,
so an ACCEPT in DOCKER-USER does not make the host route what firewalld rejects. With
FirewallBackend=iptables, firewalld's rules sit in the same FORWARD chain below Docker's jump to
DOCKER-USER, whose ACCEPT decides: not_applicable.

The model, for a new connection from interface I to interface O (firewalld 2.3.1's nftables.py,
build_policy_ingress_egress_pair_rules and _policy_dispatch_sort_key; fw_zone.py for the zones;
1.3.3 orders the same steps through per-zone chains):
  zone(X)   the zone listing X among its interfaces (a name ending in + is a wildcard), else the
            default zone, implicitly.
  1. policies of negative priority, by priority, whose ingress zones hold zone(I) or ANY and egress
     zones zone(O) or ANY (HOST never matches forwarded traffic): ACCEPT, DROP, REJECT decide,
     CONTINUE goes on. Two matching policies of one priority that disagree: firewalld's order
     between them is not defined.
  2. intra-zone forwarding: zone(I) == zone(O), the zone has forward: yes and O is explicitly in it
     (its rule is `oifname O accept` in the zone's forward chain, written for explicit interfaces only).
  3. policies of positive priority, the same way.
  4. the ingress zone's target, the last rule of the pair: ACCEPT, DROP, %%REJECT%% or REJECT decide;
     default is firewalld's final reject.
  When both interfaces are only implicitly in the default zone, firewalld writes no policy rule
  for the pair (fw_policy.py skips the ("+", "+") pair): only steps 2 and 4 apply, and 2 never does.
What could decide part of the traffic on the way makes the verdict `depends` (naming it), never a
silent accept or reject: a policy's services, ports, protocols, source ports, forward ports, ICMP
blocks and rich rules (those that accept where the verdict is reject or drop, those that drop where
it is accept); the ingress zone's forward ports (connections they DNAT are accepted before any
policy); zones bound to sources (a packet from a source goes to that zone whatever its interface:
not modelled). A zone's services, ports, protocols and other rich rules are for traffic to the host
(the zone's zone->HOST policy), never on the forwarding path.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NFTABLES, IPTABLES = 'nftables', 'iptables'
BACKENDS = (NFTABLES, IPTABLES)
# firewalld's FALLBACK_FIREWALL_BACKEND since 0.6: what it runs when firewalld.conf does not say.
DEFAULT_BACKEND = NFTABLES
ACCEPT, REJECT, DROP, DEPENDS, NOT_APPLICABLE = 'accept', 'reject', 'drop', 'depends', 'not_applicable'
VERDICTS = (ACCEPT, REJECT, DROP, DEPENDS, NOT_APPLICABLE)
FINAL_REJECT = "firewalld's final reject"
# Docker's zone holds every bridge of Docker's; routed access is evaluated to this one.
DOCKER_BRIDGE = 'docker0'
ANY = 'ANY'

_TARGET_VERDICT = {'ACCEPT': ACCEPT, 'DROP': DROP, 'REJECT': REJECT, '%%REJECT%%': REJECT}
# Keys whose value is a list of words, and those listed one per line after a tab.
_WORDS = ('interfaces', 'sources', 'services', 'ports', 'protocols', 'source-ports', 'icmp-blocks',
          'ingress-zones', 'egress-zones')
_LINES = ('forward-ports', 'rich rules')
_ZONE_KEYS = ('target', 'interfaces', 'sources', 'forward')
_POLICY_KEYS = ('priority', 'target', 'ingress-zones', 'egress-zones')
_POLICY_SUMMARY = ('name', 'priority', 'target', 'ingress_zones', 'egress_zones', 'active')
_HEADER = re.compile(r'^(\S+)(?: \(([^()]*)\))?$')
_QUOTED = re.compile(r'"[^"]*"')


class FirewalldSyntaxError(ValueError):
    """firewall-cmd printed something that is not a listing of zones or policies."""


# --- parsing ------------------------------------------------------------------------------------

def _entries(text, what):
    """[(name, attributes, {key: value})] of a --list-all-zones or --list-all-policies listing: a
    name line ("public (default, active)"), then "  key: value" lines, rich rules and forward ports
    on lines of their own after a tab."""
    entries, key = [], None
    for number, line in enumerate((text or '').splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith('\t'):
            if key not in _LINES:
                raise FirewalldSyntaxError('%s line %d: a continuation line outside %s: %r'
                                           % (what, number, ' or '.join(_LINES), line))
            entries[-1][2][key].append(line.strip())
        elif line.startswith('  '):
            if not entries:
                raise FirewalldSyntaxError('%s line %d: a setting before any name: %r' % (what, number, line))
            key, sep, value = line.strip().partition(':')
            if not sep:
                raise FirewalldSyntaxError('%s line %d: not "key: value": %r' % (what, number, line))
            entries[-1][2][key] = _value(key, value.strip())
        else:
            match = _HEADER.match(line.rstrip())
            if not match:
                raise FirewalldSyntaxError('%s line %d: not a name: %r' % (what, number, line))
            attributes = [a.strip() for a in (match.group(2) or '').split(',') if a.strip()]
            entries.append((match.group(1), attributes, {}))
            key = None
    return entries


def _value(key, text):
    """A setting's value: a list of words, a list of lines (the first may follow the key), or the text."""
    if key in _WORDS:
        return text.split()
    if key in _LINES:
        return [text] if text else []
    return text


def _required(name, settings, keys, what):
    missing = [key for key in keys if key not in settings]
    if missing:
        raise FirewalldSyntaxError('%s %s has no %s' % (what, name, ', '.join(missing)))


def _content(settings):
    return dict(services=settings.get('services', []), ports=settings.get('ports', []),
                protocols=settings.get('protocols', []), source_ports=settings.get('source-ports', []),
                icmp_blocks=settings.get('icmp-blocks', []),
                icmp_block_inversion=settings.get('icmp-block-inversion') == 'yes',
                forward_ports=settings.get('forward-ports', []), rich_rules=settings.get('rich rules', []),
                masquerade=settings.get('masquerade') == 'yes')


def parse_zones(text):
    """({name: zone}, the default zone or None) from `firewall-cmd --list-all-zones`. firewalld 2.1
    and later mark the default zone "(default)"; earlier ones need --get-default-zone."""
    zones, default = {}, None
    for name, attributes, settings in _entries(text, 'firewall-cmd --list-all-zones'):
        _required(name, settings, _ZONE_KEYS, 'zone')
        zone = dict(name=name, target=settings['target'], interfaces=settings['interfaces'],
                    sources=settings['sources'], forward=settings['forward'] == 'yes', active='active' in attributes)
        zone.update(_content(settings))
        zones[name] = zone
        if 'default' in attributes:
            default = name
    if not zones:
        raise FirewalldSyntaxError('firewall-cmd --list-all-zones listed no zone')
    return zones, default


def parse_policies(text):
    """{name: policy} from `firewall-cmd --list-all-policies` (none is a valid answer)."""
    policies = {}
    for name, attributes, settings in _entries(text, 'firewall-cmd --list-all-policies'):
        _required(name, settings, _POLICY_KEYS, 'policy')
        try:
            priority = int(settings['priority'])
        except ValueError:
            raise FirewalldSyntaxError('policy %s: priority %r is not a number' % (name, settings['priority']))
        policy = dict(name=name, priority=priority, target=settings['target'], ingress_zones=settings['ingress-zones'],
                      egress_zones=settings['egress-zones'], active='active' in attributes)
        policy.update(_content(settings))
        policies[name] = policy
    return policies


def backend_of(conf_text):
    """The backend firewalld.conf names (FirewallBackend=), as firewalld reads it: the first
    definition, case-insensitive; absent or invalid, firewalld's fallback, nftables."""
    for line in (conf_text or '').splitlines():
        line = line.strip()
        if not line or line[0] in '#;':
            continue
        key, sep, value = line.partition('=')
        if sep and key.strip() == 'FirewallBackend':
            value = value.strip().lower()
            return value if value in BACKENDS else DEFAULT_BACKEND
    return DEFAULT_BACKEND


def state(zones_text, policies_text, default_zone=None, conf_text=None):
    """firewalld's parsed state: backend, default_zone, zones, policies. `default_zone` is
    --get-default-zone's answer where the zones listing marks none (firewalld before 2.1)."""
    zones, marked = parse_zones(zones_text)
    default = marked or (default_zone or '').strip() or None
    if default is None:
        raise FirewalldSyntaxError('no default zone: the listing marks none and --get-default-zone was not read')
    if default not in zones:
        raise FirewalldSyntaxError('the default zone %s is not among the zones listed' % default)
    return dict(backend=backend_of(conf_text), default_zone=default, zones=zones,
                policies=parse_policies(policies_text))


def summary(parsed):
    """What docker_firewall_info returns of the parsed state: the default zone, the zones in use (with
    interfaces or sources, and the default) and which interface is in which, the policies."""
    zones = parsed['zones']
    in_use = sorted(name for name, zone in zones.items()
                    if zone['interfaces'] or zone['sources'] or name == parsed['default_zone'])
    return dict(
        default_zone=parsed['default_zone'],
        zones=dict((name, dict((key, zones[name][key]) for key in ('target', 'forward', 'interfaces', 'sources')))
                   for name in in_use),
        zones_of_interfaces=dict((interface, name) for name in in_use for interface in zones[name]['interfaces']),
        policies=[dict((key, policy[key]) for key in _POLICY_SUMMARY)
                  for policy in sorted(parsed['policies'].values(), key=lambda p: (p['priority'], p['name']))],
    )


# --- the pairs asked about ---------------------------------------------------------------------

def declared_pairs(accept, to_docker):
    """[(in, out)] of router pairs (dicts with in_interface, out_interface and bidirectional, true
    unless said otherwise, as the profile declares them) and of interfaces routed to Docker's
    containers (each to docker0), in order, each once."""
    pairs = []
    for entry in accept or []:
        pairs.append((entry['in_interface'], entry['out_interface']))
        if entry.get('bidirectional', True) is not False:
            pairs.append((entry['out_interface'], entry['in_interface']))
    pairs += [(interface, DOCKER_BRIDGE) for interface in to_docker or []]
    seen = set()
    return [pair for pair in pairs if not (pair in seen or seen.add(pair))]


# --- evaluation ---------------------------------------------------------------------------------

def _covers(pattern, interface):
    """Whether a zone's interface entry (a name, or a wildcard ending in +) covers `interface`."""
    return pattern == interface or (pattern.endswith('+') and not interface.endswith('+')
                                    and interface.startswith(pattern[:-1]))


def _overlaps(entry, wildcard):
    """Whether a zone's interface entry names an interface a declared wildcard (wg+) also covers."""
    prefix, stem = wildcard[:-1], entry.rstrip('+')
    return stem.startswith(prefix) or (entry.endswith('+') and prefix.startswith(stem))


def zone_of(parsed, interface):
    """(zone, implicit, doubt): the zone firewalld puts `interface` in; implicit when only the
    default zone takes it; doubt, a sentence, where wildcards of several zones cover it, or a
    declared wildcard (wg+) spans interfaces that zones hold."""
    zones = parsed['zones']
    exact = sorted(name for name, zone in zones.items() if interface in zone['interfaces'])
    if exact:
        return exact[0], False, None
    if interface.endswith('+'):
        spread = sorted(name for name, zone in zones.items()
                        if any(_overlaps(entry, interface) for entry in zone['interfaces']))
        doubt = 'interfaces matching %s are in zone %s: firewalld decides per interface' % (
            interface, ', '.join(spread)) if spread else None
        return parsed['default_zone'], True, doubt
    wild = sorted(name for name, zone in zones.items() if any(_covers(e, interface) for e in zone['interfaces']))
    if len(wild) > 1:
        return wild[0], False, 'wildcards of zones %s all cover %s' % (', '.join(wild), interface)
    if wild:
        return wild[0], False, None
    return parsed['default_zone'], True, None


def _rich_effect(rule):
    """What a rich rule can do to forwarded traffic it matches: 'accept', 'drop' or None (marks,
    masquerades, clamps, logs)."""
    words = _QUOTED.sub('""', rule).split()
    if 'forward-port' in words:
        return 'accept'  # DNAT: firewalld accepts what it DNATs before any policy
    if any(w in words for w in ('masquerade', 'mark', 'tcp-mss-clamp')):
        return None
    if 'icmp-block' in words:
        return 'drop'
    if 'accept' in words:
        return 'accept'
    if 'drop' in words or 'reject' in words:
        return 'drop'
    return None


def _policy_doubts(policy):
    """[(effect, what)] of a policy's content that can accept or drop part of the traffic."""
    doubts = [('accept', '%s %s' % (key.replace('_', ' '), ' '.join(policy[key])))
              for key in ('services', 'ports', 'protocols', 'source_ports', 'forward_ports') if policy[key]]
    if policy['icmp_blocks'] or policy['icmp_block_inversion']:
        inverted = ' (inverted)' if policy['icmp_block_inversion'] else ''
        doubts.append(('drop', 'icmp blocks %s%s' % (' '.join(policy['icmp_blocks']) or 'none', inverted)))
    doubts += [(effect, 'rich rule %s' % rule) for rule, effect in ((r, _rich_effect(r)) for r in policy['rich_rules'])
               if effect]
    return doubts


def _zone_doubts(zone):
    """[(effect, what)] of what in a zone (as the ingress zone) can decide part of forwarded traffic:
    its forward ports, plain or in rich rules (the rest of a zone is for traffic to the host)."""
    doubts = [('accept', 'forward port %s' % port) for port in zone['forward_ports']]
    return doubts + [('accept', 'rich rule %s' % rule) for rule in zone['rich_rules'] if 'forward-port' in rule]


def _matches(policy, in_zone, out_zone):
    """Whether a policy is on the path from in_zone to out_zone (HOST, a policy's zone for the host
    itself, is never a zone an interface is in)."""
    ingress, egress = policy['ingress_zones'], policy['egress_zones']
    return (ANY in ingress or in_zone in ingress) and (ANY in egress or out_zone in egress)


def _policy_step(policies, in_zone, out_zone, doubts):
    """(verdict, by, priority, reason) of the first group of matching policies (by priority) whose
    target decides, or None; what could decide part of the traffic on the way goes into `doubts`."""
    matching = sorted((p for p in policies if _matches(p, in_zone, out_zone)), key=lambda p: (p['priority'], p['name']))
    for priority in sorted(set(p['priority'] for p in matching)):
        decided = []
        for policy in (p for p in matching if p['priority'] == priority):
            name = 'policy %s' % policy['name']
            doubts.extend((effect, name, what) for effect, what in _policy_doubts(policy))
            if policy['target'] in _TARGET_VERDICT:
                decided.append((_TARGET_VERDICT[policy['target']], name, priority,
                                'its target is %s' % policy['target']))
        if len(set(d[0] for d in decided)) > 1:
            doubts.append(('both', ' and '.join(d[1] for d in decided),
                           'same priority %d, different targets: firewalld\'s order between them is not defined'
                           % priority))
        if decided:
            return decided[0]
    return None


def _decide(parsed, in_zone, out_zone, in_implicit, out_implicit, doubts):
    """(verdict, by, priority of the deciding policy or None, reason) along steps 1-4."""
    policies = [] if in_implicit and out_implicit else list(parsed['policies'].values())
    ingress = parsed['zones'][in_zone]
    doubts.extend((effect, 'zone %s' % in_zone, what) for effect, what in _zone_doubts(ingress))
    decided = _policy_step([p for p in policies if p['priority'] < 0], in_zone, out_zone, doubts)
    if decided:
        return decided
    if in_zone == out_zone and ingress['forward'] and not out_implicit:
        return ACCEPT, 'zone %s' % in_zone, None, 'intra-zone forwarding (forward: yes)'
    decided = _policy_step([p for p in policies if p['priority'] > 0], in_zone, out_zone, doubts)
    if decided:
        return decided
    if ingress['target'] in _TARGET_VERDICT:
        return (_TARGET_VERDICT[ingress['target']], 'zone %s' % in_zone, None,
                'the target of the ingress zone is %s' % ingress['target'])
    return REJECT, FINAL_REJECT, None, _why_rejected(parsed, in_zone, out_zone, in_implicit, out_implicit)


def _why_rejected(parsed, in_zone, out_zone, in_implicit, out_implicit):
    if in_implicit and out_implicit:
        return ('both interfaces are only implicitly in the default zone %s: firewalld applies no policy and no '
                'intra-zone forwarding to them' % in_zone)
    if in_zone == out_zone:
        zone = parsed['zones'][in_zone]
        if not zone['forward']:
            return 'zone %s does not forward between its interfaces (forward: no), and no policy accepts' % in_zone
        return ('the outgoing interface is only implicitly in zone %s: intra-zone forwarding covers its explicit '
                'interfaces only, and no policy accepts' % in_zone)
    return 'no policy from zone %s to zone %s accepts, and zone %s\'s target is default' % (in_zone, out_zone, in_zone)


def evaluate(parsed, running, in_interface, out_interface, error=None):
    """firewalld's verdict on new connections forwarded from in_interface to out_interface: a dict with
    the interfaces, in_zone, out_zone, in_zone_implicit, out_zone_implicit, verdict (VERDICTS), by
    ("policy NAME", "zone NAME" or FINAL_REJECT; for depends what may decide part of the traffic),
    reason and fix (the firewall-cmd commands, for reject, drop and depends). `parsed`: state()'s
    answer (None when firewalld was not read), `error`: why it could not be read."""
    result = dict(in_interface=in_interface, out_interface=out_interface, in_zone=None, out_zone=None,
                  in_zone_implicit=None, out_zone_implicit=None, verdict=NOT_APPLICABLE, by=None, reason=None, fix=None)
    if not running:
        result['reason'] = 'firewalld does not run'
        return result
    if error or parsed is None:
        result.update(verdict=DEPENDS,
                      reason='firewalld\'s zones and policies cannot be read: %s' % (error or 'not read'),
                      fix='make firewall-cmd --list-all-zones and --list-all-policies answer, and read again')
        return result
    if parsed['backend'] != NFTABLES:
        result['reason'] = ('firewalld runs its %s backend: its rules sit in FORWARD below Docker\'s jump to '
                            'DOCKER-USER, whose rules decide' % parsed['backend'])
        return result
    in_zone, in_implicit, in_doubt = zone_of(parsed, in_interface)
    out_zone, out_implicit, out_doubt = zone_of(parsed, out_interface)
    result.update(in_zone=in_zone, out_zone=out_zone, in_zone_implicit=in_implicit, out_zone_implicit=out_implicit)
    doubts = [('both', 'interface %s' % name, doubt) for name, doubt in ((in_interface, in_doubt),
                                                                         (out_interface, out_doubt)) if doubt]
    doubts += [('both', 'zone %s' % name, 'bound to sources %s, which firewalld dispatches to it whatever their '
                'interface (not modelled)' % ' '.join(zone['sources']))
               for name, zone in sorted(parsed['zones'].items()) if zone['sources']]
    verdict, by, priority, reason = _decide(parsed, in_zone, out_zone, in_implicit, out_implicit, doubts)
    against = 'drop' if verdict == ACCEPT else 'accept'
    deciding = [(name, what) for effect, name, what in doubts if effect in ('both', against)]
    if deciding:
        name = deciding[0][0]
        result.update(verdict=DEPENDS, by=name,
                      reason='%s; the rest: %s by %s (%s)' % ('; '.join('%s: %s' % d for d in deciding), verdict, by,
                                                              reason),
                      fix='decide it in firewalld: review %s for this traffic, or give the pair a policy of its own '
                          'with target ACCEPT and a priority below every policy on its way' % name)
        return result
    result.update(verdict=verdict, by=by, reason=reason)
    if verdict in (REJECT, DROP):
        result['fix'] = fix(parsed, result, priority)
    return result


def _zone_name(interface):
    """The zone a fix proposes for an interface in no zone: named after it (a wildcard without its +)."""
    return interface.rstrip('+')


def fix(parsed, result, priority=None):
    """The firewall-cmd commands that make firewalld forward a rejected or dropped pair, in a sentence:
    zones of their own for interfaces only implicitly in the default zone, then intra-zone forwarding
    (both in one zone) or a policy from the one zone to the other with target ACCEPT, ahead of
    the deciding policy (priority)."""
    in_if, out_if = result['in_interface'], result['out_interface']
    commands, moved = [], []
    zones = {}
    for interface, zone, implicit in ((in_if, result['in_zone'], result['in_zone_implicit']),
                                      (out_if, result['out_zone'], result['out_zone_implicit'])):
        if implicit:
            zone = _zone_name(interface)
            moved.append(interface)
            commands += ['firewall-cmd --permanent --new-zone=%s' % zone,
                         'firewall-cmd --permanent --zone=%s --add-interface=%s' % (zone, interface)]
        zones[interface] = zone
    in_zone, out_zone = zones[in_if], zones[out_if]
    if in_zone == out_zone and not parsed['zones'][in_zone]['forward'] and priority is None:
        commands.append('firewall-cmd --permanent --zone=%s --add-forward' % in_zone)
        how = 'let zone %s forward between its interfaces' % in_zone
    else:
        name = '%s-%s' % (in_zone, out_zone)
        commands += ['firewall-cmd --permanent --new-policy=%s' % name,
                     'firewall-cmd --permanent --policy=%s --add-ingress-zone=%s' % (name, in_zone),
                     'firewall-cmd --permanent --policy=%s --add-egress-zone=%s' % (name, out_zone),
                     'firewall-cmd --permanent --policy=%s --set-target=ACCEPT' % name]
        how = 'add a policy that forwards from zone %s to zone %s' % (in_zone, out_zone)
        if priority is not None and priority <= -1:
            commands.append('firewall-cmd --permanent --policy=%s --set-priority=%d' % (name, priority - 1))
            how += ', ahead of %s (priority %d)' % (result['by'], priority)
    commands.append('firewall-cmd --reload')
    where = ('put %s in zones of their own and ' % ' and '.join(moved) if len(moved) > 1
             else 'put %s in a zone of its own and ' % moved[0] if moved else '')
    return '%s%s: %s' % (where, how, '; '.join(commands))


def sentence(result):
    """One verdict as a sentence: the module's warning for a reject or drop, a compliance detail."""
    def side(interface, zone, implicit):
        return '%s (zone %s%s)' % (interface, zone, ', implicit' if implicit else '') if zone else interface

    pair = 'from %s to %s' % (side(result['in_interface'], result['in_zone'], result['in_zone_implicit']),
                              side(result['out_interface'], result['out_zone'], result['out_zone_implicit']))
    verdict = result['verdict']
    if verdict in (REJECT, DROP):
        return ('firewalld %ss forwarding %s: %s (%s); an ACCEPT in DOCKER-USER does not change it (firewalld\'s '
                'nftables backend filters forwarded traffic in a chain of its own). Fix: %s'
                % ('reject' if verdict == REJECT else 'drop', pair, result['by'], result['reason'], result['fix']))
    if verdict == DEPENDS:
        return 'whether firewalld forwards %s depends on %s: %s. Fix: %s' % (
            pair, result['by'] or 'what could not be read', result['reason'], result['fix'])
    if verdict == ACCEPT:
        return 'firewalld accepts forwarding %s: %s (%s)' % (pair, result['by'], result['reason'])
    return 'firewalld\'s verdict on forwarding %s does not apply: %s' % (pair, result['reason'])


def warning(result):
    """The module warning for a verdict of reject or drop (None otherwise)."""
    return sentence(result) if result['verdict'] in (REJECT, DROP) else None
