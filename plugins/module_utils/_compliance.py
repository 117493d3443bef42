# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance checks: what docker_firewall_info read on a host, against the profile the host
should have. Private to this collection. Pure: runs on the controller (filter plugin)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.netops.docker_firewall.plugins.module_utils._daemon_config import preset_settings
from ansible_collections.netops.docker_firewall.plugins.module_utils._docker_user import (
    FAMILIES,
    TAG_PREFIX,
    InputError,
    accept_block,
    allowlist_block,
    plan_chain,
    same_chain,
)

PROFILES = ('docker_on_router', 'docker_beside_kube_proxy', 'none')
PASS, FAIL, SKIP = 'pass', 'fail', 'skip'

# Every check, in report order: id -> what it asserts.
CHECKS = (
    ('ip_forward', 'IPv4 forwarding is on'),
    ('docker_user_first', 'DOCKER-USER is the first FORWARD jump'),
    ('router_rules_ipv4', 'our IPv4 DOCKER-USER rules: none missing, extra or out of order'),
    ('router_rules_ipv6', 'our IPv6 DOCKER-USER rules: none missing, extra or out of order'),
    ('persistence', 'the restore unit is installed and keeps exactly the declared rules'),
    ('k8s_preset', 'daemon.json holds the k8s preset'),
    ('no_docker_rules', 'Docker writes no iptables rules'),
    ('kube_chains', "kube-proxy's KUBE-* chains are present and hold no rule of ours"),
    ('standalone_ports', 'no standalone container publishes ports that do not work'),
    ('publisher', 'the listed standalone containers are published and followed'),
    ('docker_chains_clean', "Docker's chains hold nothing foreign"),
    ('single_backend', 'one iptables backend in use'),
)
CHECK_IDS = tuple(check[0] for check in CHECKS)
PROFILE_CHECKS = {
    'docker_on_router': ('ip_forward', 'docker_user_first', 'router_rules_ipv4', 'router_rules_ipv6', 'persistence',
                         'docker_chains_clean', 'single_backend'),
    'docker_beside_kube_proxy': ('k8s_preset', 'no_docker_rules', 'kube_chains', 'standalone_ports', 'publisher',
                                 'docker_chains_clean', 'single_backend'),
    'none': ('docker_chains_clean', 'single_backend'),
}


class ExpectationError(ValueError):
    """The inventory declares something that cannot be checked (bad profile or rule)."""


def _ours(lines):
    return [line for line in lines or [] if TAG_PREFIX in line]


def expected_router_rules(expected):
    """The collection's DOCKER-USER lines per family for the declared pairs and allowlists."""
    blocks = {}
    try:
        for pair in expected.get('accept') or []:
            block = accept_block(pair['in_interface'], pair['out_interface'], pair.get('bidirectional', True))
            blocks[block.name] = block
        for allowlist in expected.get('allowlists') or []:
            block = allowlist_block(allowlist['interface'], allowlist['sources'], allowlist.get('ports'),
                                    allowlist.get('protocol', 'tcp'))
            blocks[block.name] = block
    except (InputError, KeyError, TypeError) as exc:
        raise ExpectationError('the declared router rules cannot be checked: %s' % exc)
    return dict((family, plan_chain([], family, blocks, purge=True)) for family in FAMILIES)


def _families(facts):
    backend = facts.get('docker_backend')
    if backend in (None, 'both'):
        backend = (facts.get('backends_in_use') or ['nft'])[0]
    return (facts.get('iptables') or {}).get(backend, {})


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


def _check_router(check_id, facts, expected, wanted):
    families = _families(facts)
    if check_id == 'ip_forward':
        on = (facts.get('ip_forward') or {}).get('ipv4')
        return (PASS, []) if on else (FAIL, ['net.ipv4.ip_forward is %s' % ('0' if on is False else 'unreadable')])
    if check_id == 'docker_user_first':
        details = []
        for family in FAMILIES:
            family_facts = families.get(family)
            if family_facts and family_facts['docker_user']['exists'] and not family_facts['docker_user_first']:
                details.append('%s FORWARD jumps in order: %s' % (family, ', '.join(family_facts['forward_jumps'])))
        if 'ipv4' not in families or not families['ipv4']['docker_user']['exists']:
            details.append('ipv4 has no DOCKER-USER chain')
        return (FAIL, details) if details else (PASS, [])
    if check_id.startswith('router_rules_'):
        family = check_id.rsplit('_', 1)[1]
        return _rules_check(families.get(family), wanted[family], family)
    if check_id == 'persistence':
        if not expected.get('persist', True):
            return SKIP, ['persistence not wanted for this host']
        state = facts.get('persistence') or {}
        details = []
        if not state.get('docker_user_unit'):
            details.append('netops-docker-user.service is not installed')
        elif not state.get('docker_user_unit_enabled'):
            details.append('netops-docker-user.service is not wanted by docker.service')
        for family in FAMILIES:
            kept = (state.get('kept_rules') or {}).get(family, [])
            if wanted[family] and not same_chain(kept, wanted[family]):
                details.append('the kept %s rules differ from the declared ones (%d kept, %d declared)'
                               % (family, len(kept), len(wanted[family])))
        return (FAIL, details) if details else (PASS, [])
    raise KeyError(check_id)


def _check_kube(check_id, facts, expected):
    docker = facts.get('docker') or {}
    if check_id == 'k8s_preset':
        wanted = preset_settings('k8s', docker.get('major'))
        wanted.update(expected.get('daemon_settings') or {})
        have = facts.get('daemon_json') or {}
        details = ['%s is %s, not %s' % (key, 'absent' if key not in have else json.dumps(have[key]), json.dumps(value))
                   for key, value in sorted(wanted.items()) if have.get(key) != value]
        if facts.get('daemon_json_error'):
            details.insert(0, facts['daemon_json_error'])
        return (FAIL, details) if details else (PASS, [])
    if check_id == 'no_docker_rules':
        details = ['%s %s: %d rules written by Docker, e.g. %s' % (backend, family, len(f['docker_rules']),
                                                                   f['docker_rules'][0])
                   for backend, families in sorted((facts.get('iptables') or {}).items())
                   for family, f in sorted(families.items()) if f['docker_rules']]
        return (FAIL, details) if details else (PASS, [])
    if check_id == 'kube_chains':
        all_families = [f for families in (facts.get('iptables') or {}).values() for f in families.values()]
        if not any(f['kube_chains'] for f in all_families):
            return FAIL, ['no KUBE-* chain in any backend: kube-proxy is not running in iptables mode']
        ours = ['a rule of ours in a KUBE-* chain: %s' % line for f in all_families for line in f['ours_in_kube_chains']]
        return (FAIL, ours) if ours else (PASS, [])
    if check_id == 'standalone_ports':
        findings = facts.get('findings') or []
        return (FAIL, ['%s Fix: %s.' % (f['problem'], f['fix']) for f in findings]) if findings else (PASS, [])
    if check_id == 'publisher':
        listed = sorted(expected.get('publish') or [])
        if not listed:
            return SKIP, ['no container to publish']
        state = facts.get('persistence') or {}
        details = []
        if not (state.get('publisher_unit') and state.get('publisher_unit_enabled')):
            details.append('netops-docker-publish.service is not installed and enabled')
        if sorted(state.get('published_containers') or []) != listed:
            details.append('the publisher is configured for %s, not %s'
                           % (', '.join(state.get('published_containers') or []) or 'nothing', ', '.join(listed)))
        nat = [line for f in _families(facts).values() for line in (f['publish_rules'].get('nat') or [])]
        running = set(c['name'] for c in facts.get('containers') or [])
        for name in listed:
            if name in running and not any('publish:%s"' % name in line for line in nat):
                details.append('%s runs but none of its ports is published' % name)
        return (FAIL, details) if details else (PASS, [])
    raise KeyError(check_id)


def _check_common(check_id, facts):
    if check_id == 'docker_chains_clean':
        details = ['%s %s: %s' % (backend, family, line)
                   for backend, families in sorted((facts.get('iptables') or {}).items())
                   for family, f in sorted(families.items()) for line in f['foreign_in_docker_chains']]
        return (FAIL, details) if details else (PASS, [])
    if check_id == 'single_backend':
        in_use = facts.get('backends_in_use') or []
        if len(in_use) > 1:
            return FAIL, ['rules in %s: each backend filters packets without the other seeing it' % ' and '.join(in_use)]
        return PASS, []
    raise KeyError(check_id)


def evaluate(profile, facts, expected):
    """[{id, title, status, details}] for every check, in report order (SKIP where the profile
    does not apply). `expected`: the host's declared settings for its profile."""
    if profile not in PROFILES:
        raise ExpectationError('compliance_profile %r is not one of %s' % (profile, ', '.join(PROFILES)))
    expected = expected or {}
    wanted = expected_router_rules(expected) if profile == 'docker_on_router' else None
    results = []
    for check_id, title in CHECKS:
        if check_id not in PROFILE_CHECKS[profile]:
            status, details = SKIP, ['not part of the %s profile' % profile]
        elif check_id in ('docker_chains_clean', 'single_backend'):
            status, details = _check_common(check_id, facts)
        elif profile == 'docker_on_router':
            status, details = _check_router(check_id, facts, expected, wanted)
        else:
            status, details = _check_kube(check_id, facts, expected)
        results.append(dict(id=check_id, title=title, status=status, details=details))
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
        checks=[dict(id=check_id, title=title) for check_id, title in CHECKS],
        hosts=report_hosts,
        totals=dict(hosts=len(report_hosts), compliant=sum(1 for h in report_hosts if h['compliant']),
                    failed_checks=sum(len(h['failed']) for h in report_hosts)),
    )
