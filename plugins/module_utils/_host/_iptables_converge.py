# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the collection writes iptables: choose the variant, dry-run every family
(`iptables-restore --test`), write each once, read each back (`iptables-save`) and compare it
with what was written. The DOCKER-USER modules, docker_publish, the publisher watcher and the
restore program all write through `converge`.

Private to this collection. Takes an IptablesHost over an AnsibleModule or a host program's
runner (_host_runner), so that a module and a host program run the very same commands.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import CHAIN as PUBLISH_CHAIN
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._publish import plan_family as plan_publish
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import run_c
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import CommandError


class ReadBackError(Exception):
    """What was read back after a write is not what was written."""


# --- the variant -----------------------------------------------------------------------------------

def choose_variant(iptables, requested, holds, default=None):
    """The iptables variant to read and write (_decisions.iptables_variant): each candidate's IPv4 rules
    are read once (every installed variant with 'auto', else the one asked for) and `holds(save_text)`
    tells whether they hold the chains the caller follows. `default`: as iptables_variant takes it.

    Returns (the Decision, the variants holding the chains, {variant: its IPv4 save output})."""
    candidates = iptables.backends('ipv4') if requested == 'auto' else [requested]
    saves = dict((variant, iptables.save('ipv4', variant)) for variant in candidates)
    holding = [variant for variant in candidates if holds(saves[variant])]
    return decisions.iptables_variant(candidates, holding, requested, default=default), holding, saves


def command_variant(runner):
    """The variant the `iptables` command runs (`iptables --version`), or None when it does not say.
    `runner`: an AnsibleModule or a HostRunner."""
    iptables = runner.get_bin_path('iptables')
    if not iptables:
        return None
    rc, out, _err = run_c(runner, [iptables, '--version'])
    return decisions.iptables_default(out) if rc == 0 else None


def publish_variant(iptables, runner, requested):
    """(the variant docker_publish writes: the one holding kube-proxy's KUBE-* chains, else the one the
    `iptables` command runs; None when no iptables is installed, its IPv4 save output)."""
    decision, _holding, saves = choose_variant(iptables, requested, lambda text: ':KUBE-' in text,
                                               default=lambda: command_variant(runner))
    return decision.value, saves.get(decision.value)


# --- the write -------------------------------------------------------------------------------------

def converge(iptables, backend, payloads, read_back, what='DOCKER-USER chain', after_test=None, table=None):
    """Write `payloads` ({family: iptables-restore --noflush payload}) with the `backend` variant, family
    by family in their order (ipv4, ipv6):

    1. dry-run every family (`--test`): a rejected payload raises CommandError, and nothing was changed;
    2. call `after_test()`, when given, once every dry run passed;
    3. write each family once (one transaction each): a write that fails raises its CommandError with
       `written`, the families already written, which its message names;
    4. read each family back (`iptables-save`, of `table` alone when given) and pass the text to
       `read_back(family, save_text)`, which returns what is in effect or raises ReadBackError when it
       is not what was written. A failed read-back carries `written`, every family.

    An exception raised after a write also carries `commands`, the writes run. `what` names the
    payload in the errors of iptables-restore.

    Returns (the writes run, {family: what read_back returned})."""
    families = sorted(payloads)
    for family in families:
        iptables.restore(family, backend, payloads[family], test=True, what=what)
    if after_test is not None:
        after_test()
    commands = []
    for family in families:
        try:
            commands.append(iptables.restore(family, backend, payloads[family], what=what))
        except CommandError as exc:
            written = exc.written = families[:len(commands)]
            exc.commands = commands
            if written:
                exc.args = ('%s; %s was already written: run the task again to finish (the next run '
                            'writes only what differs)' % (exc, ' and '.join(written)),)
            raise
    in_effect = {}
    try:
        for family in families:
            in_effect[family] = read_back(family, iptables.save(family, backend, table))
    except (CommandError, ReadBackError) as exc:
        exc.written, exc.commands = families, commands
        raise
    return commands, in_effect


def publish(iptables, backend, payloads, wanted, present=True):
    """Converge the publisher's chains (_publish) to `payloads`; read back, a replan of the bindings
    `wanted` must find nothing to do. Returns the writes run."""

    def replanned(family, save_text):
        again = plan_publish(save_text, wanted, family, present)
        if again is not None and again[2]:
            raise ReadBackError('%s: the rules read back differ from what was written (did another tool change '
                                'them at the same time?)' % family)
        return again

    return converge(iptables, backend, payloads, replanned, what='%s chains' % PUBLISH_CHAIN)[0]
