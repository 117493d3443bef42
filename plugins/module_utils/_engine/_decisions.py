# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The decisions the collection takes about a host, each in one function: which firewall backend
Docker runs, which iptables variant holds the rules, whether the backstop table is kept, whether a
rule is ours, where nft and ipset are, and what a Docker generation does of its own (its raw-table
drop of direct routing, the ports it cannot publish twice without docker-proxy).

Each function takes what was read from the host and returns a Decision: the value, and the reason
in words for reports. docker_firewall_info returns them (its `decisions`), the roles and the
compliance checks read them there; the DOCKER-USER modules, docker_publish and the host programs
call the same functions. Nothing else decides these.

Private to this collection. Pure: no host access, no Ansible imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import Rule

Decision = collections.namedtuple('Decision', ['value', 'reason'])

# --- whether a rule is ours ------------------------------------------------------------------------

# Every rule, set and chain the collection writes carries a comment that starts with this.
TAG_PREFIX = 'netops.docker_firewall/'
_NFT_COMMENT = re.compile(r'(?:^|\s)comment "([^"]*)"')


def owner(rule):
    """The block name a rule of ours belongs to (its comment after TAG_PREFIX), or None for a rule we
    did not write. `rule`: a parsed iptables Rule, an iptables-save `-A` line, or a line of `nft list`
    output. A comment that only mentions the prefix further on is not ours."""
    if not isinstance(rule, Rule):
        if TAG_PREFIX not in rule:
            return None  # most lines of a host: nothing to parse
        if not rule.lstrip().startswith('-'):
            return next((c[len(TAG_PREFIX):] for c in _NFT_COMMENT.findall(rule) if c.startswith(TAG_PREFIX)), None)
        rule = Rule(rule)
    for comment in rule.option_values('--comment'):
        if comment.startswith(TAG_PREFIX):
            return comment[len(TAG_PREFIX):]
    return None


def is_ours(rule):
    """Whether the collection wrote a rule (see owner)."""
    return owner(rule) is not None


# --- Docker's firewall backend ---------------------------------------------------------------------

FIREWALL_BACKENDS = ('iptables', 'nftables')
# What dockerd runs when daemon.json names no firewall-backend (and what every Docker before 29 has).
DEFAULT_FIREWALL_BACKEND = 'iptables'


def reported_firewall_backend(driver):
    """The backend in what `docker info` reports as FirewallBackend.Driver (Docker 28.1 and later):
    'nftables' of 'nftables+firewalld' (Docker adds the suffix while firewalld runs); None when
    nothing is reported (Docker not running, or older than 28.1)."""
    return (driver or '').split('+')[0] or None


def firewall_backend(configured=None, reported=None, requested='auto'):
    """Docker's firewall backend the policy is for: Decision('iptables' or 'nftables', reason).

    configured: daemon.json's firewall-backend (None when it names none); reported: what the running
    dockerd reports (reported_firewall_backend; None where it was not asked: the DOCKER-USER modules
    decide for the backend daemon.json gives dockerd at its next start, which the restore unit also
    serves); requested: the backend asked for ('auto': the one Docker runs).

    In order: the backend asked for; the one the running dockerd reports; the one daemon.json names;
    Docker's default, iptables."""
    named = configured if configured in FIREWALL_BACKENDS else None
    if requested in FIREWALL_BACKENDS:
        now = reported if reported in FIREWALL_BACKENDS else named or DEFAULT_FIREWALL_BACKEND
        return Decision(requested, 'asked for' + ('' if now == requested else ', a switch from %s' % now))
    if reported in FIREWALL_BACKENDS:
        pending = ' (daemon.json names %s for its next start)' % named if named and named != reported else ''
        return Decision(reported, 'the running dockerd reports it%s' % pending)
    if named:
        return Decision(named, 'daemon.json names it (no running dockerd reports its backend: not running, '
                               'not asked, or older than 28.1)')
    if configured is not None:
        return Decision(DEFAULT_FIREWALL_BACKEND, 'daemon.json names %r, which is no firewall backend: Docker\'s '
                                                  'default' % (configured,))
    return Decision(DEFAULT_FIREWALL_BACKEND, 'Docker\'s default: daemon.json names no firewall-backend')


def firewall_backend_switch(configured=None, requested='auto'):
    """Whether daemon.json must change for dockerd to run the backend asked for: Decision(bool, reason)."""
    if requested not in FIREWALL_BACKENDS:
        return Decision(False, 'no backend asked for')
    now = configured if configured is not None else DEFAULT_FIREWALL_BACKEND
    if requested == now:
        return Decision(False, 'daemon.json gives dockerd %s already' % now)
    return Decision(True, 'daemon.json gives dockerd %s, %s is asked for' % (now, requested))


# --- the iptables variant --------------------------------------------------------------------------

NO_IPTABLES = 'no iptables-nft-save or iptables-legacy-save found: install the iptables package'


def iptables_default(version_text):
    """The variant the `iptables` command runs, from `iptables --version` ('iptables v1.8.9 (legacy)'),
    or None when it does not say."""
    if '(legacy)' in (version_text or ''):
        return 'legacy'
    if '(nf_tables)' in (version_text or ''):
        return 'nft'
    return None


def iptables_variant(installed, holding, requested='auto', default=None, in_use=()):
    """The iptables variant the host's rules are read and written with: Decision('nft', 'legacy' or None,
    reason).

    installed: the variants whose iptables-save is installed, in the collection's order (nft first);
    holding: those that hold the chains the caller follows (Docker's DOCKER-USER or chains; kube-proxy's
    KUBE-* chains on a node where Docker keeps out of iptables); requested: the variant asked for
    ('auto': decide); default: the variant the `iptables` command runs (iptables_default), or a
    function that reads it, called only when the decision needs it; in_use: the variants that hold any
    rule, in the order to prefer.

    In order: the variant asked for; the only one holding the chains; where several or none hold them,
    the default, then the first in use, then the first installed (each among the holders where several
    hold them: a writer of DOCKER-USER refuses then, the other chain filters packets too). None when none
    is installed."""
    if requested != 'auto':
        return Decision(requested, 'asked for (iptables_variant: %s)' % requested)
    if len(holding) == 1:
        return Decision(holding[0], 'the only variant holding the chains')
    candidates = list(holding) or list(installed)
    if not candidates:
        return Decision(None, NO_IPTABLES)
    where = 'both variants hold the chains' if holding else 'no variant holds the chains'
    default = default() if callable(default) else default
    if default in candidates:
        return Decision(default, '%s; the iptables command runs this one' % where)
    for variant in in_use:
        if variant in candidates:
            return Decision(variant, '%s; this one holds rules' % where)
    return Decision(candidates[0], '%s; the first installed' % where)


# --- the backstop ----------------------------------------------------------------------------------

BACKSTOP_WITHOUT_NFT = ('nft is not installed: no backstop table beside DOCKER-USER, so the allowlists lapse while '
                        'firewalld or Docker rebuild iptables')


def backstop(mode, firewall_backend_value, nft_path, drops=True):
    """Whether the collection's nftables table is kept beside DOCKER-USER (the backstop): Decision(bool,
    reason). mode: auto (where nft is installed), always or never; firewall_backend_value: the backend
    Docker runs (firewall_backend); nft_path: where nft is (None: not installed); drops: whether the
    declarations drop anything (allowlists, or routed access, whose guard the docker_on_router role
    always declares). With `always` and no nft the answer is True: the caller fails or reports it."""
    if firewall_backend_value == 'nftables':
        return Decision(False, 'Docker runs its nftables backend: the table is the policy itself, not a backstop')
    if not drops:
        return Decision(False, 'nothing declared drops: no table of ours may drop beside DOCKER-USER')
    if mode == 'never':
        return Decision(False, 'backstop: never')
    if nft_path:
        return Decision(True, 'backstop: %s, and nft is installed (%s)' % (mode, nft_path))
    if mode == 'always':
        return Decision(True, 'backstop: always, but nft is not installed')
    return Decision(False, BACKSTOP_WITHOUT_NFT)


# --- the tools -------------------------------------------------------------------------------------

# The package that installs each tool the collection runs besides iptables.
PACKAGES = {'nft': 'nftables', 'ipset': 'ipset'}


def tool(name, path):
    """Where a tool is, from the one lookup (get_bin_path, as every command of ours finds it):
    Decision(path or None, reason)."""
    if path:
        return Decision(path, 'found at %s' % path)
    return Decision(None, '%s is not installed (the %s package)' % (name, PACKAGES.get(name, name)))


# --- what a Docker generation does of its own --------------------------------------------------------

# From Docker 28 on, Docker drops in raw PREROUTING what is routed to a container from another interface
# than its bridge; daemon.json's allow-direct-routing (which exists from then) lifts the drop.
DIRECT_ROUTING_SINCE = 28
# Docker 29 on its nftables firewall backend without docker-proxy cannot start a container that publishes
# one container port twice ("MASQ TO OWN PORT ... rule exists", measured on 29.7.2): the majors concerned.
PUBLISHED_TWICE_FAILS_ON = (29,)


def direct_routing_dropped(major):
    """Whether this Docker (its major version, None when not known) drops direct routing to containers
    unless allow-direct-routing is set: Decision(bool, reason)."""
    if major is None:
        return Decision(False, 'Docker\'s version is not known: nothing is set that it might refuse')
    if major >= DIRECT_ROUTING_SINCE:
        return Decision(True, 'Docker %d drops, in raw PREROUTING, what is routed to a container from another '
                              'interface than its bridge, unless allow-direct-routing is set' % major)
    return Decision(False, 'Docker %d has no such drop (from %d on)' % (major, DIRECT_ROUTING_SINCE))


def published_twice_needs_proxy(major, firewall_backend_value):
    """Whether this Docker, on the firewall backend it runs, needs docker-proxy to start a container that
    publishes one container port twice (without it: "MASQ TO OWN PORT ... rule exists"): Decision(bool,
    reason). The caller knows whether docker-proxy runs (daemon.json's userland-proxy)."""
    if major not in PUBLISHED_TWICE_FAILS_ON:
        return Decision(False, 'only Docker %s needs it' % ', '.join(str(m) for m in PUBLISHED_TWICE_FAILS_ON))
    if firewall_backend_value != 'nftables':
        return Decision(False, 'Docker %d needs it on its nftables backend only' % major)
    return Decision(True, 'Docker %d on its nftables backend' % major)


def report(**decisions):
    """A module's `decisions` result: each Decision's value by name, and their reasons under `reasons`."""
    found = dict((name, decision.value) for name, decision in decisions.items())
    found['reasons'] = dict((name, decision.reason) for name, decision in decisions.items())
    return found
