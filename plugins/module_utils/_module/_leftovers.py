# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the docker_leftovers module does, under the host lock: read every family's rule set and
Docker's nftables tables once, plan what of Docker's goes (_docker_leftovers), refuse while Docker would
write its rules again, then test every payload, write each once and read each back.

Private to this collection. The module only declares its options and returns this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _docker_leftovers as leftovers
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import FAMILIES
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _docker_host as docker_host
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._daemon_host import DaemonHost
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import module_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    BACKENDS,
    CommandError,
    IptablesHost,
    NftHost,
)

HOLDER = 'docker_leftovers'  # who holds the host lock, as its record says
_WHAT = "Docker's leftovers"


def docker_leftovers(module):
    """The module's result: Docker's leftovers removed (planned only, in check mode), or the task failed."""
    policy = module.params['forward_policy']
    host = IptablesHost(module)
    with module_lock(module, HOLDER):
        try:
            plans = plan_iptables(host, policy)
            tables, nft_payloads = plan_nftables(module)
            changed = bool(nft_payloads) or any(planned.payload for planned in plans.values())
            refused = why_refused(module, module.params['daemon_json']) if changed else None
            if module.check_mode or not changed:
                commands = []
            elif refused:
                module.fail_json(msg='%s; nothing was changed' % refused, changed=False, refused=refused)
            else:
                commands = write(module, host, plans, nft_payloads, policy)
        except CommandError as exc:
            module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    return report(module, plans, tables, changed, refused, commands)


def why_refused(module, path):
    """Why the leftovers may not be cleared now (_docker_leftovers.refusal), or None."""
    settings, error = docker_host.read_daemon_json(path)
    host = DaemonHost(module)
    major = host.docker_major()[0]
    return leftovers.refusal(settings, error, major, host.started_after(path, settings))


def plan_iptables(host, forward_policy):
    """{(backend, family): FamilyPlan} of every family that holds something of Docker's."""
    plans = {}
    for backend in BACKENDS:
        for family in FAMILIES:
            if host.binary(family, backend, 'save'):
                planned = leftovers.plan_family(host.save(family, backend), forward_policy)
                if planned.tables:
                    plans[(backend, family)] = planned
    return plans


def plan_nftables(module):
    """(Docker's nftables tables, {table: nft -f payload})."""
    if not module.get_bin_path('nft'):
        return [], {}
    found, _payload = leftovers.plan_nft(nft.table_names(NftHost(module, 'ip', 'docker-bridges').list_tables()))
    return found, dict((name, leftovers.plan_nft([name])[1]) for name in found)


def write(module, host, plans, nft_payloads, forward_policy):
    """Test every payload, write each once, read each back: nothing of Docker's may be left."""
    changing = sorted(key for key, planned in plans.items() if planned.payload)
    for backend, family in changing:
        host.restore(family, backend, plans[(backend, family)].payload, test=True, what=_WHAT)
    for name, payload in sorted(nft_payloads.items()):
        NftHost(module, *name.split()).apply(payload, test=True)
    commands = [host.restore(family, backend, plans[(backend, family)].payload, what=_WHAT)
                for backend, family in changing]
    commands += [NftHost(module, *name.split()).apply(payload) for name, payload in sorted(nft_payloads.items())]
    for backend, family in changing:
        if leftovers.plan_family(host.save(family, backend), forward_policy).payload:
            module.fail_json(msg='%s %s: Docker\'s leftovers read back after the write (did Docker or another tool write '
                                 'them again meanwhile?)' % (backend, family), changed=True, commands=commands)
    if nft_payloads and plan_nftables(module)[0]:
        module.fail_json(msg='Docker\'s nftables tables are still there after the delete', changed=True,
                         commands=commands)
    return commands


def _diff(plans, tables):
    """before/after: each family's leftovers in iptables-save form, then Docker's nftables tables."""
    sides = ([], [])
    for (backend, family), planned in sorted(plans.items()):
        for side, text in zip(sides, planned.diff()):
            side.append('# %s (%s)\n%s' % (family, backend, text))
    sides[0].extend('table %s\n' % name for name in tables)
    return dict(before=''.join(sides[0]), after=''.join(sides[1]))


def report(module, plans, tables, changed, refused, commands):
    """The module's result, with a warning for each FORWARD policy set back and each chain kept."""
    if refused:
        module.warn('a real run would refuse now and change nothing: %s' % refused)
    for (backend, family), planned in sorted(plans.items()):
        if planned.policy_reset:
            module.warn('%s %s: the FORWARD policy %s ACCEPT (Docker had set DROP; what the node had before Docker '
                        'cannot be read back; forward_policy: keep leaves it)'
                        % (backend, family, 'would be set back to' if module.check_mode else 'was set back to'))
    cleared = {}
    for (backend, family), planned in sorted(plans.items()):
        cleared.setdefault(backend, {})[family] = planned.summary()
    kept = ['%s %s %s' % (backend, family, item) for backend, families in sorted(cleared.items())
            for family, found in sorted(families.items()) for item in found['kept']]
    for item in kept:
        module.warn('kept, not Docker\'s alone: %s' % item)
    result = dict(changed=changed, cleared=cleared, nftables=tables, refused=refused, commands=commands, kept=kept)
    if module._diff:
        result['diff'] = _diff(plans, tables)
    return result
