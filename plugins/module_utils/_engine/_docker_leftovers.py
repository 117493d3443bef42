# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What Docker left in the firewall from before it stopped managing it ("iptables": false, the k8s
preset), and the plan that removes it. Private to this collection. Pure: no host access, no Ansible
imports. The docker_leftovers module writes the plan; docker_firewall_info reports the leftovers.

Docker's, per family (iptables-save output of one backend): its chains (DOCKER, DOCKER-FORWARD,
...; DOCKER-USER when it holds nothing but Docker's RETURN), the built-in chains' jumps to them and
the rules it wrote in built-in chains (_publish.docker_rules, the project's one definition), and the
FORWARD DROP policy it sets when it switches forwarding on. On Docker 29's nftables backend: its
tables ip and ip6 docker-bridges, Docker's alone.

Never a rule of kube-proxy's or another tool's: a Docker chain that holds one (a commented rule,
or in DOCKER-USER any rule but Docker's RETURN) is kept, with the chains it jumps to and the jumps
to it. The payload is `iptables-restore --noflush` input: the policy line, `-D` of each removed
rule exactly as saved, `-F` then `-X` of each removed chain; every other line stays as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._daemon_config import IP6TABLES_DEFAULT_ON_SINCE
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import CHAIN as DOCKER_USER
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import is_docker_chain
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import docker_rules, jump_target
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save, restore_text

NFT_TABLES = ('ip docker-bridges', 'ip6 docker-bridges')
POLICIES = ('accept', 'keep')
_DOCKER_USER_DEFAULT = '-A %s -j RETURN' % DOCKER_USER


class TablePlan:
    """One table's leftovers: the chains and rules that go, the chains kept and why."""

    def __init__(self, name, chains, rules, removed_lines, kept):
        self.name = name
        self.chains = chains  # removed, in save order
        self.rules = rules  # removed rules of the built-in chains (deleted one by one), in save order
        self.removed_lines = removed_lines  # every rule that goes (those and the removed chains'), in save order
        self.kept = kept  # {chain: why}

    def lines(self, policy_line=None):
        lines = [policy_line] if policy_line else []
        lines += ['-D' + line[2:] for line in self.rules]
        return lines + ['-F %s' % chain for chain in self.chains] + ['-X %s' % chain for chain in self.chains]


class FamilyPlan:
    """One family of one backend: what Docker left, and the restore payload that removes it."""

    def __init__(self, tables, policy_reset):
        self.tables = tables  # [TablePlan] with something to remove or keep
        self.policy_reset = policy_reset  # FORWARD DROP to be set back to ACCEPT

    def _policy(self, table, policy):
        return ':FORWARD %s [0:0]' % policy if self.policy_reset and table.name == 'filter' else None

    @property
    def payload(self):
        sections = [(t.name, t.lines(self._policy(t, 'ACCEPT'))) for t in self.tables]
        return restore_text([(name, lines) for name, lines in sections if lines])

    def diff(self):
        """(before, after) in iptables-save form: what goes, and what takes its place (the policy)."""
        before = [(t.name, [line for line in [self._policy(t, 'DROP')] if line]
                   + [':%s - [0:0]' % c for c in t.chains] + t.removed_lines) for t in self.tables]
        after = [(t.name, [line for line in [self._policy(t, 'ACCEPT')] if line]) for t in self.tables]
        return tuple(restore_text([(name, lines) for name, lines in side if lines]) for side in (before, after))

    def summary(self):
        """What docker_firewall_info reports and the module returns for this family."""
        return dict(chains=['%s %s' % (t.name, c) for t in self.tables for c in t.chains],
                    rules=[line for t in self.tables for line in t.rules],
                    kept=['%s %s: %s' % (t.name, c, why) for t in self.tables for c, why in sorted(t.kept.items())],
                    forward_policy='DROP -> ACCEPT' if self.policy_reset else None)


def _foreign(chain, line, docker_lines):
    """Whether a rule of a Docker chain is another tool's."""
    if chain == DOCKER_USER:
        return line != _DOCKER_USER_DEFAULT
    return line not in docker_lines


def _kept_chains(table, docker_chains, docker_lines):
    """{chain: why} of the Docker chains that must stay, closed over the jumps from kept chains."""
    kept = {}
    for rule in table.rules:
        target = jump_target(rule.line) or ''
        if rule.chain in docker_chains and _foreign(rule.chain, rule.line, docker_lines):
            kept.setdefault(rule.chain, 'holds a rule of another tool: %s' % rule.line)
        elif target in docker_chains and rule.chain not in docker_chains and rule.line not in docker_lines:
            kept.setdefault(target, 'another tool jumps to it: %s' % rule.line)
    grown = True
    while grown:
        grown = False
        for rule in table.rules:
            target = jump_target(rule.line) or ''
            if rule.chain in kept and target in docker_chains and target not in kept:
                kept[target] = 'a kept chain (%s) jumps to it' % rule.chain
                grown = True
    return kept


def plan_table(table, docker_lines):
    """The TablePlan of one parsed table, or None when Docker left nothing in it."""
    docker_chains = set(c for c in table.chains if is_docker_chain(c) or c == DOCKER_USER)
    kept = _kept_chains(table, docker_chains, docker_lines)
    removed = [c for c in table.chains if c in docker_chains and c not in kept]
    rules, removed_lines = [], []
    for rule in table.rules:
        if rule.chain in removed:
            removed_lines.append(rule.line)
        elif rule.chain not in docker_chains and rule.line in docker_lines \
                and (jump_target(rule.line) or '') not in kept:
            rules.append(rule.line)
            removed_lines.append(rule.line)
    if not (removed or rules or kept):
        return None
    return TablePlan(table.name, removed, rules, removed_lines, kept)


def plan_family(save_text, forward_policy='accept'):
    """The FamilyPlan of one family's iptables-save output ('' when the backend holds nothing).
    The FORWARD DROP policy is set back to ACCEPT (forward_policy 'accept') only in a family where
    Docker left something: Docker set it when it switched forwarding on; what the node had before
    cannot be read back."""
    tables = parse_save(save_text)
    docker_lines = set(docker_rules(save_text))
    plans = [p for p in (plan_table(t, docker_lines) for t in tables.values()) if p]
    filter_table = tables.get('filter')
    left = any(p.chains or p.rules for p in plans)
    reset = forward_policy == 'accept' and left and filter_table is not None \
        and filter_table.chains.get('FORWARD') == 'DROP'
    return FamilyPlan(plans, reset)


def plan_nft(tables):
    """The docker-bridges tables among `nft list tables` names, and the `nft -f` payload that deletes them."""
    found = [name for name in NFT_TABLES if name in (tables or [])]
    return found, ''.join('delete table %s\n' % name for name in found)


def refusal(settings, settings_error, docker_major, started_after_config):
    """Why Docker's leftovers may not be cleared now, or None: Docker must keep out of the firewall
    (the k8s preset in daemon.json, and a dockerd started since), or it writes them again.
    started_after_config: whether the running dockerd started after daemon.json last changed (None
    when dockerd does not run: it reads daemon.json when it starts)."""
    if settings_error:
        return '%s: whether Docker keeps out of the firewall cannot be told' % settings_error
    if settings.get('iptables', True) is not False:
        return ('daemon.json does not say "iptables": false: Docker would write its rules again (the k8s preset, '
                'which the docker_beside_kube_proxy role applies, says it)')
    ip6_default = docker_major is not None and docker_major >= IP6TABLES_DEFAULT_ON_SINCE
    if settings.get('ip6tables', ip6_default) is not False:
        return ('daemon.json does not say "ip6tables": false: Docker %s writes its IPv6 rules even with "iptables": '
                'false' % (docker_major if docker_major is not None else '27 and later'))
    if started_after_config is False:
        return ('dockerd runs since before daemon.json last changed, so "iptables": false is not in force yet: restart '
                'dockerd first (docker_beside_kube_proxy_apply)')
    return None
