# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What one address family's rule set says about a Docker host, for docker_firewall_info.
Private to this collection. Pure: no host access, no Ansible imports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._decisions import is_ours
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import (
    CHAIN as DOCKER_USER,
    blocks_in,
    split_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import (
    CHAIN as PUBLISH_CHAIN,
    docker_rules,
    jump_target,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._kube_proxy import family_structures
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import parse_save

_VERDICTS = frozenset(('ACCEPT', 'DROP', 'REJECT', 'RETURN', 'LOG', 'MASQUERADE', 'DNAT', 'SNAT', 'MARK'))
# Targets that can end a packet's way through the filter table with it accepted (queues hand the
# verdict to a program). Every other target drops it or hands it on (TCPMSS, LOG, MARK, CT, ...).
_ACCEPTING = frozenset(('ACCEPT', 'QUEUE', 'NFQUEUE'))


def is_docker_chain(name):
    return name.startswith('DOCKER') and name != DOCKER_USER


def _may_accept(table, target, seen=()):
    """Whether a rule jumping to `target` can end with the packet accepted: an accepting target, or
    a user chain one of whose rules (or of the chains it jumps to) can."""
    if target in _ACCEPTING:
        return True
    if target is None or target not in table.chains or target in seen:
        return False
    return any(_may_accept(table, jump_target(rule.line), seen + (target,)) for rule in table.chain_rules(target))


def forward_order(filter_table):
    """Where FORWARD jumps to DOCKER-USER (1-based rule number, or None), and the FORWARD rules
    before it that can accept a packet, which would then never meet DOCKER-USER. Docker's
    DOCKER-ISOLATION-STAGE-1 above the jump (firewalld reloads put it there) only drops, so it
    changes nothing that is filtered."""
    if filter_table is None:
        return None, []
    forward = filter_table.chain_rules('FORWARD')
    for number, rule in enumerate(forward, 1):
        if jump_target(rule.line) == DOCKER_USER:
            # A RETURN in FORWARD itself ends the chain with its policy.
            accepts_on_return = filter_table.chains.get('FORWARD') == 'ACCEPT'
            before = [r.line for r in forward[:number - 1]
                      if _may_accept(filter_table, jump_target(r.line))
                      or (accepts_on_return and jump_target(r.line) == 'RETURN')]
            return number, before
    return None, []


def forward_accepting(filter_table, docker_lines):
    """FORWARD's rules that can end with the packet accepted, Docker's and ours left out (ours accept
    only the published containers' flows): what gets past a FORWARD DROP policy."""
    if filter_table is None:
        return []
    return [rule.line for rule in filter_table.chain_rules('FORWARD')
            if rule.line not in docker_lines and not is_ours(rule)
            and _may_accept(filter_table, jump_target(rule.line))]


def family_facts(save_text):
    """Facts of one family from its complete iptables-save output ('' when nothing is there)."""
    tables = parse_save(save_text)
    filter_table = tables.get('filter')
    chains = sorted(set(chain for table in tables.values() for chain in table.chains))
    forward_lines = [rule.line for rule in filter_table.chain_rules('FORWARD')] if filter_table else []
    forward_jumps = [t for t in (jump_target(line) for line in forward_lines) if t and t not in _VERDICTS]
    user_exists = bool(filter_table) and DOCKER_USER in filter_table.chains
    jump_position, accepting_before = forward_order(filter_table)
    user_rules = filter_table.chain_rules(DOCKER_USER) if user_exists else []
    ours, others = split_chain(user_rules)
    # Docker never writes a comment into its own chains: a commented rule there is someone else's.
    foreign_in_docker = [rule.line for table in tables.values() for rule in table.rules
                         if is_docker_chain(rule.chain) and '--comment' in rule.line]
    written_by_docker = docker_rules(save_text)
    publish = dict((name, [rule.line for rule in table.chain_rules(PUBLISH_CHAIN)])
                   for name, table in tables.items() if PUBLISH_CHAIN in table.chains)
    return dict(
        tables=sorted(tables),
        forward_policy=filter_table.chains.get('FORWARD') if filter_table else None,
        forward_jumps=forward_jumps,
        docker_user_first=forward_jumps[:1] == [DOCKER_USER],
        docker_user_jump=jump_position,
        docker_user_in_force=jump_position is not None and not accepting_before,
        accepting_before_docker_user=accepting_before,
        docker_user=dict(
            exists=user_exists,
            rules=[rule.line for rule in user_rules],
            blocks=blocks_in([rule.line for rule in user_rules]),
            foreign=others,
        ),
        docker_chains=[chain for chain in chains if is_docker_chain(chain)],
        docker_rules=written_by_docker,
        foreign_in_docker_chains=foreign_in_docker,
        kube_chains=[chain for chain in chains if chain.startswith('KUBE-')],
        ours_in_kube_chains=[rule.line for table in tables.values() for rule in table.rules
                             if rule.chain.startswith('KUBE-') and is_ours(rule)],
        publish_rules=publish,
        rule_count=sum(len(table.rules) for table in tables.values()),
        # kube-proxy's chains and jumps (_kube_proxy), and what gets past a FORWARD DROP.
        kube_proxy=family_structures(tables),
        forward_accepting=forward_accepting(filter_table, set(written_by_docker)),
    )
