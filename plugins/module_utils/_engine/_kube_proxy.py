# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kube-proxy beside Docker: which mode kube-proxy runs on a node, read from what is in the kernel,
whether that mode's structures are there and free of ours, and whether a FORWARD DROP policy
(Docker sets one when it switches forwarding on) drops what the node forwards. Private to this
collection. Pure: no host access, no Ansible imports. docker_firewall_info decides with detect();
compliance reads the answer and never decides again.

  iptables  KUBE-* chains: nat KUBE-SERVICES (from PREROUTING, OUTPUT), KUBE-POSTROUTING, filter
            KUBE-FORWARD (from FORWARD), per service KUBE-SVC-*, KUBE-SEP-*, KUBE-EXT-*
  ipvs      the same jumps, no per-service chains, and its own: KUBE-IPVS-FILTER, KUBE-NODE-PORT,
            KUBE-LOAD-BALANCER; ipsets KUBE-* (KUBE-CLUSTER-IP); the dummy interface kube-ipvs0
            holding the service addresses
  nftables  table ip kube-proxy and table ip6 kube-proxy, base chains nat-prerouting, nat-output
            and nat-postrouting; no accept for a host firewall (an nftables accept is not final)

Chains kubelet creates in every mode (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY, KUBE-FIREWALL)
mark no mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import is_ours
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import jump_target
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import BUILTIN_CHAINS

MODES = ('iptables', 'ipvs', 'nftables')
EXPECTED_MODES = ('auto',) + MODES
NFT_TABLES = ('ip kube-proxy', 'ip6 kube-proxy')
IPVS_INTERFACE = 'kube-ipvs0'
IPVS_SET = 'KUBE-CLUSTER-IP'
_KUBELET = frozenset(('KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY', 'KUBE-FIREWALL'))
_IPVS_CHAINS = frozenset(('KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER',
                          'KUBE-SOURCE-RANGES-FIREWALL'))
# What both the iptables and the ipvs proxier hang on the built-in chains: 'table CHAIN TARGET'.
JUMPS = ('nat PREROUTING KUBE-SERVICES', 'nat OUTPUT KUBE-SERVICES', 'nat POSTROUTING KUBE-POSTROUTING',
         'filter FORWARD KUBE-FORWARD')
NFT_BASE_CHAINS = ('nat-prerouting', 'nat-output', 'nat-postrouting')
_MATCH_SET = re.compile(r'--match-set (KUBE-\S+)')
_NFT_CHAIN = re.compile(r'^\s*chain (\S+) \{')
_NFT_HOOK = re.compile(r'^\s*type (\w+) hook (\w+) priority ([^;]+);')
_INET = re.compile(r'^\s*inet6? (\S+)/\d+ ')


# --- what one iptables family holds of kube-proxy's (_facts.family_facts calls it) ---------------

def family_structures(tables):
    """kube-proxy's part of one iptables family ({name: parsed Table}): its chains per table (kubelet's
    left out), the jumps the built-in chains make to them, and the KUBE-* ipsets its rules match."""
    chains, jumps, sets = {}, [], set()
    for name, table in sorted(tables.items()):
        own = sorted(c for c in table.chains if c.startswith('KUBE-') and c not in _KUBELET)
        if own:
            chains[name] = own
        for rule in table.rules:
            target = jump_target(rule.line) or ''
            if rule.chain in BUILTIN_CHAINS and target in own:
                jumps.append('%s %s %s' % (name, rule.chain, target))
            if rule.chain.startswith('KUBE-'):
                sets.update(_MATCH_SET.findall(rule.line))
    return dict(chains=chains, jumps=sorted(set(jumps)), sets=sorted(sets))


def _iptables_modes(structures):
    """The modes one family's KUBE-* chains show: ipvs by its own chains, iptables by the rest."""
    names = set(c for chains in (structures.get('chains') or {}).values() for c in chains)
    if names & _IPVS_CHAINS:
        per_service = [c for c in names if c.startswith(('KUBE-SVC-', 'KUBE-SEP-', 'KUBE-EXT-'))]
        return ['ipvs'] + (['iptables'] if per_service else [])
    return ['iptables'] if names else []


def ipvs_chains_seen(iptables):
    """Whether a family's KUBE-* chains are IPVS mode's (docker_firewall_info then reads IPVS's rest)."""
    return any('ipvs' in _iptables_modes(facts.get('kube_proxy') or {}) for _b, _f, facts in _families(iptables))


# --- nftables and IPVS, from what docker_firewall_info read -------------------------------------

def nft_structures(text):
    """The chains of a `nft -t list table ip kube-proxy` listing ({name: 'type hook priority' or ''})
    and the rules of ours in it (is_ours)."""
    chains, current = {}, None
    for line in text.splitlines():
        found = _NFT_CHAIN.match(line)
        if found:
            current = found.group(1)
            chains[current] = ''
            continue
        hook = _NFT_HOOK.match(line)
        if hook and current is not None:
            chains[current] = '%s %s %s' % hook.groups()
    ours = [line.strip() for line in text.splitlines() if is_ours(line)]
    return dict(chains=chains, ours=ours)


def interface_addresses(text):
    """The addresses `ip addr show dev kube-ipvs0` lists (the services IPVS answers for)."""
    return [found.group(1) for found in (_INET.match(line) for line in text.splitlines()) if found]


# --- the decision --------------------------------------------------------------------------------

def detect(iptables, nftables, ipvs):
    """kube-proxy's mode and structures on the node.

    iptables: docker_firewall_info's {backend: {family: facts}} (facts['kube_proxy'] from
    family_structures); nftables: {'installed': whether nft is, 'tables': ['ip kube-proxy', ...] or None
    when unreadable, 'kube_proxy': {'ip kube-proxy': listing or None when unreadable}}; ipvs: {'interface': bool,
    'addresses': [...], 'sets': [names] or None when not read, 'error': why a read failed or None}.

    mode: iptables, ipvs, nftables, none (nothing of kube-proxy's seen), several (structures of more
    than one mode: leftovers of an earlier mode, or two proxies), or None when a read failed
    (errors says which): a failed read is never "no kube-proxy"."""
    errors = [ipvs['error']] if ipvs.get('error') else []
    families = [(backend, family, facts, _iptables_modes(facts.get('kube_proxy') or {}))
                for backend, family, facts in _families(iptables)]
    nft = _nft_part(nftables, errors)
    seen = set(mode for _b, _f, _facts, modes in families for mode in modes)
    seen.update(['nftables'] if nft else [])
    seen.update(['ipvs'] if ipvs.get('interface') or IPVS_SET in (ipvs.get('sets') or []) else [])
    if not seen and nftables.get('installed') is False:
        errors.append('nft is not installed on the node: whether kube-proxy runs in nftables mode cannot be told '
                      '(install the nftables package)')
    missing = _iptables_missing(families) + _nft_missing(nft)
    if 'ipvs' in seen:
        missing += _ipvs_missing(ipvs, any('ipvs' in modes for _b, _f, _facts, modes in families))
    ours = ['%s %s: %s' % (backend, family, line) for backend, family, facts, _modes in families
            for line in facts.get('ours_in_kube_chains') or []]
    ours += ['%s: %s' % (table, line) for table, found in sorted(nft.items()) for line in found['ours']]
    return dict(mode=None if errors else _mode(seen), seen=sorted(seen), missing=missing, ours=ours,
                errors=errors, nftables=nft, ipvs=ipvs)


def _families(iptables):
    return [(backend, family, facts) for backend, families in sorted((iptables or {}).items())
            for family, facts in sorted(families.items())]


def _mode(seen):
    if not seen:
        return 'none'
    return sorted(seen)[0] if len(seen) == 1 else 'several'


def _nft_part(nftables, errors):
    """{table: nft_structures} of the kube-proxy tables listed; an unreadable listing is an error."""
    if nftables.get('tables') is None:
        errors.append('the nftables tables could not be listed: kube-proxy\'s nftables mode cannot be told')
        return {}
    found = {}
    for table in NFT_TABLES:
        if table not in nftables['tables']:
            continue
        text = (nftables.get('kube_proxy') or {}).get(table)
        if text is None:
            errors.append('table %s could not be listed' % table)
            continue
        found[table] = nft_structures(text)
    return found


def _iptables_missing(families):
    return ['%s %s: no jump %s' % (backend, family, jump) for backend, family, facts, modes in families if modes
            for jump in JUMPS if jump not in facts['kube_proxy']['jumps']]


def _nft_missing(nft):
    return ['%s: no base chain %s' % (table, chain) for table, found in sorted(nft.items())
            for chain in NFT_BASE_CHAINS if chain not in found['chains']]


def _ipvs_missing(ipvs, chains_seen):
    missing = [] if chains_seen else ['no KUBE-* chain of IPVS mode (KUBE-IPVS-FILTER, KUBE-NODE-PORT) in any backend']
    if not ipvs.get('interface'):
        missing.append('no interface %s (IPVS binds the service addresses to it)' % IPVS_INTERFACE)
    if ipvs.get('sets') is not None and IPVS_SET not in ipvs['sets']:
        missing.append('no ipset %s' % IPVS_SET)
    return missing


# --- forwarding under a FORWARD DROP policy -----------------------------------------------------

def forwarding(iptables, mode):
    """Each family whose FORWARD policy is DROP: whether a rule that is not Docker's can accept what
    the node forwards (kube-proxy's KUBE-FORWARD in iptables and ipvs mode, a CNI's own accepts),
    or nothing does and the policy drops it: kube-proxy's nftables mode accepts nothing there."""
    found = []
    for backend, family, facts in _families(iptables):
        if facts.get('forward_policy') != 'DROP':
            continue
        accepting = facts.get('forward_accepting') or []
        left = facts.get('docker_leftovers') or {}
        found.append(dict(backend=backend, family=family, accepting=accepting, blocked=not accepting,
                          docker_left=bool(left.get('chains') or left.get('rules')),
                          reason=_reason(mode, accepting)))
    return found


def _reason(mode, accepting):
    if accepting:
        return 'FORWARD DROP, but %d rule(s) not Docker\'s can accept first (%s)' % (
            len(accepting), '; '.join(accepting[:2]))
    if mode == 'nftables':
        return ('FORWARD DROP and no rule that accepts: kube-proxy\'s nftables mode adds none (its accepts are not '
                'final), so service and pod traffic the node forwards is dropped')
    return 'FORWARD DROP and no rule that accepts: what the node forwards is dropped'
