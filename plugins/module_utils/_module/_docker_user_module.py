# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every DOCKER-USER module does: read the chains once, plan, apply once, read back, report,
all under the host lock (_host_lock), so that no other writer of the collection interleaves. Under
Docker's nftables firewall backend the same blocks go to the collection's nftables table. A run
whose declaration and host state are those a record of an earlier run proved converged (_converged)
returns that run's result without building the blocks; a run that converged, or wrote and read back
exactly its plan, records it.

Private to this collection. The modules only turn their parameters into blocks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import (
    CHAIN,
    blocks_in,
    holds_plan,
    plan_chain,
    restore_payload,
    same_chain,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import FAMILIES, InputError
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _converged as converged
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _decisions as decisions
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout as layout
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _nft as nft
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._docker_host import read_daemon_json
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._facts import forward_order
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._host_lock import module_lock
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._record_files import read_record, write_record
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_converge import (
    ReadBackError,
    choose_variant,
    converge,
    converge_table,
    table_in_place,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._host._iptables_host import (
    CommandError,
    IpsetHost,
    IptablesHost,
    NftHost,
)
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._rules import (
    RuleSyntaxError,
    parse_save,
)

# The iptables variant was first called `backend`, easily taken for `firewall_backend`: a deprecated alias.
BACKEND_ALIAS = dict(aliases=['backend'],
                     deprecated_aliases=[dict(name='backend', version='0.4.0', collection_name='netops.docker_firewall')])

COMMON_ARGUMENT_SPEC = dict(
    iptables_variant=dict(type='str', default='auto', choices=['auto', 'nft', 'legacy'], **BACKEND_ALIAS),
    create_chain=dict(type='bool', default=False),
    daemon_json=dict(type='path', default='/etc/docker/daemon.json'),
    firewall_backend=dict(type='str', default='auto', choices=['auto', 'iptables', 'nftables']),
)

# The options of one routed-access declaration (docker_user_chain's and docker_user_routed's `routed`).
ROUTED_OPTIONS = dict(
    interface=dict(type='str', required=True),
    sources=dict(type='list', elements='str'),
    sources_text=dict(type='str'),
    sources_file=dict(type='path'),
    source_sets=dict(type='str', default='auto', choices=['auto', 'always', 'never']),
    networks=dict(type='list', elements='str'),
    ports=dict(type='list', elements='str'),
    protocol=dict(type='str', default='tcp', choices=['tcp', 'udp', 'sctp']),
)

LEFTOVER_RULES = ('Docker runs its nftables firewall backend, but the iptables DOCKER-USER chain still holds rules '
                  'of this collection (%s), left from the iptables backend. FORWARD still jumps there until the next '
                  'reboot, then nothing does; the nftables table now holds the policy.')
LEFTOVER_DROP = ('The iptables FORWARD policy is DROP, left by Docker\'s iptables backend until the next reboot: '
                 'forwarding that no iptables rule accepts is dropped until then, whatever nftables says.')
PROXY_PATH = ('%s does not set "userland-proxy": false, so docker-proxy serves published ports on INPUT: IPv6 '
              'clients of a port published from an IPv4-only network reach it around DOCKER-USER and this '
              'allowlist. Set "userland-proxy": false (the docker_on_router role does when allowlists are declared).')


# A destroy refused as in use right after the chain write is tried again (see destroy_sets).
DESTROY_ATTEMPTS = 5
DESTROY_PAUSE = 0.2
CONVERGED_DIR = layout.CONVERGED_DIR


class StateError(Exception):
    """The host is not in a state we can safely write to."""


def _chain_lines(save_text):
    """DOCKER-USER rule lines of a save output, or None when the chain does not exist."""
    table = parse_save(save_text).get('filter')
    if table is None or CHAIN not in table.chains:
        return None
    return [rule.line for rule in table.chain_rules(CHAIN)]


def choose_backend(host, requested, create_chain):
    """The iptables variant (_iptables_converge.choose_variant: the one holding Docker's IPv4 DOCKER-USER),
    and its IPv4 save output."""
    decision, holding, saves = choose_variant(host, requested, lambda text: _chain_lines(text) is not None)
    backend = decision.value
    if backend is None:
        raise StateError(decisions.NO_IPTABLES)
    if len(holding) > 1:
        raise StateError('DOCKER-USER exists in both the nft and the legacy iptables backend; rules in either '
                         'one filter packets, so writing only one would be misleading. Remove the stale chain '
                         'or set iptables_variant=nft or iptables_variant=legacy to choose the one Docker uses.')
    if backend in holding:
        return backend, saves[backend]
    if create_chain:
        return backend, ''
    checked = ' and '.join(saves)
    raise StateError('DOCKER-USER does not exist in iptables (%s checked). Docker is not running, or runs with '
                     '"iptables": false in daemon.json, so no FORWARD rule would jump to a chain created now. '
                     'Start Docker first, or set create_chain=true to create the chain and its FORWARD jump.'
                     % checked)


def _chain_text(family, backend, lines):
    header = '# %s (%s) %s' % (family, backend, CHAIN)
    if lines is None:
        return header + ': no such chain\n'
    return '\n'.join([header] + lines) + '\n'


def read_chains(host, params, warn):
    """Read each family once: (backend, {family: DOCKER-USER lines or None}). Warns when FORWARD
    does not reach the chain (fail-open): the module writes the chain, never Docker's FORWARD."""
    backend, ipv4_text = choose_backend(host, params['iptables_variant'], params['create_chain'])
    current = {}
    for family, text in (('ipv4', ipv4_text), ('ipv6', host.save('ipv6', backend))):
        current[family] = _chain_lines(text)
        if current[family] is not None:
            _warn_fail_open(family, parse_save(text).get('filter'), warn)
    return backend, current


def _warn_fail_open(family, filter_table, warn):
    jump, accepting = forward_order(filter_table)
    if jump is None:
        warn('%s FORWARD does not jump to DOCKER-USER: its rules filter nothing until it does. Docker adds the jump '
             'when it starts; restart dockerd, or look for the tool that removed it.' % family)
    for line in accepting:
        warn('%s FORWARD accepts before it jumps to DOCKER-USER, so DOCKER-USER never sees what this rule accepts: '
             '%s' % (family, line))


def plan_families(current, blocks, purge, create_chain, warn):
    """{family: (lines before or None, planned lines)} for every family we may write."""
    plans = {}
    for family in FAMILIES:
        before = current[family]
        if before is None and not create_chain:
            has_allowlist = any(b is not None and b.name.startswith('allowlist:') for b in blocks.values())
            if family == 'ipv6' and has_allowlist:
                warn('ip6tables has no DOCKER-USER chain (Docker does not filter IPv6 on this host): the IPv6 side '
                     'of the allowlist is not enforced. Set create_chain=true to create the chain with its '
                     'FORWARD jump.')
            continue
        plans[family] = (before, plan_chain(before or [], family, blocks, purge))
    return plans


def apply_plans(host, backend, plans, families, after_test=None):
    """Write the planned chains of `families` (_iptables_converge.converge: dry-run all, write each once,
    read back). `after_test` (a callable) runs once every dry run passed, before the first write.

    Returns (commands run, {family: lines in effect})."""
    payloads = dict((f, restore_payload(*plans[f])) for f in families)
    return converge(host, backend, payloads, holding_plans(plans), after_test=after_test)


def holding_plans(plans):
    """The read-back of a write of `plans`: (family, save output) -> its DOCKER-USER lines, which must hold
    the family's plan (rules another tool added meanwhile pass)."""

    def read_back(family, save_text):
        lines = _chain_lines(save_text)
        if lines is None or not holds_plan(lines, plans[family][1]):
            raise ReadBackError('%s DOCKER-USER differs from what was written (did another tool change it at the '
                                'same time?): %s' % (family, lines))
        return lines

    return read_back


class SetPlan:
    """The collection's ipsets around a DOCKER-USER write: the sets read (ours), the ones the planned
    rules match, and the `ipset restore` lines to run before the chains are written and after."""

    def __init__(self, current=None, wanted=None, before=None, after=None):
        self.current = current or {}
        self.wanted = wanted or {}  # {name: IpSet}
        self.before = before or []
        self.after = after or []

    @property
    def changed(self):
        return bool(self.before or self.after)

    def payload(self):
        """`ipset restore` input that creates the wanted sets (kept by the docker_on_router role)."""
        return ipset.restore_text([line for name in sorted(self.wanted) for line in ipset.render(self.wanted[name])])


def plan_sets(read_sets, plans, blocks):
    """The SetPlan of the planned families: the sets of the blocks set in them are put in place,
    and sets of ours that no planned rule matches any more are destroyed once the chains are written.
    ipset is read (`read_sets()`, `ipset save`) only where a rule read or planned matches a set of ours:
    other hosts never run it."""
    wanted = dict((s.name, s) for block in blocks.values() if block is not None
                  for s in block.sets.values() if s.family in plans)
    if not wanted and not ipset.match_sets(line for before, _after in plans.values() for line in before or []):
        return SetPlan()
    current = ipset.parse_save(read_sets())
    before, after = ipset.plan(current, wanted, removable_sets(current, plans))
    return SetPlan(current, wanted, before, after)


def removable_sets(current, plans):
    """The names of the sets of ours in `current` (parse_save) that no planned rule matches, in a planned family."""
    matched = set(ipset.match_sets(line for _before, after in plans.values() for line in after))
    return [name for name in current if ipset.live_family(name) in plans and name not in matched]


def apply_sets(sets_host, lines):
    """Run `ipset restore` lines. Returns the commands run."""
    return [sets_host.restore(ipset.restore_text(lines))] if lines else []


def destroy_sets(sets_host, lines):
    """Run the destroy lines of a SetPlan. iptables-nft lets go of a set that a deleted rule matched a
    moment after the write, so a destroy refused as in use is tried again, with the sets still there,
    at most DESTROY_ATTEMPTS times DESTROY_PAUSE seconds apart."""
    pending = list(lines)
    for attempt in range(1, DESTROY_ATTEMPTS + 1):
        try:
            return apply_sets(sets_host, pending)
        except CommandError as exc:
            if attempt == DESTROY_ATTEMPTS or 'in use' not in (exc.stderr or ''):
                raise
        time.sleep(DESTROY_PAUSE)
        present = set(sets_host.names())
        pending = [line for line in pending if line.split()[1] in present]
    return []


def check_sets(sets_host, set_plan):
    """Read the sets back: each wanted set holds what was planned, each destroyed one is gone. Returns
    the `ipset save` output read and its parse_save."""
    text = sets_host.save()
    in_effect = ipset.parse_save(text)
    destroyed = [line.split()[1] for line in set_plan.after]
    wrong = [name for name, want in sorted(set_plan.wanted.items()) if not ipset.same_set(in_effect.get(name), want)]
    wrong += [name for name in destroyed if name in in_effect]
    if wrong:
        raise StateError('the ipsets differ from what was written (did another tool change them at the same '
                         'time?): %s' % ', '.join(wrong))
    return text, in_effect


def sets_changed(sets_host, set_plan):
    """After a failed `ipset restore` (which keeps the lines before the one that failed): whether the
    sets of ours differ from those read before it; True when they cannot be read."""
    try:
        now = ipset.parse_save(sets_host.save())
    except (CommandError, ipset.IpsetSyntaxError):
        return True
    return sorted(now) != sorted(set_plan.current) or not all(
        ipset.same_set(now[name], found) for name, found in set_plan.current.items())


def apply_all(host, backend, plans, changed, sets_host, set_plan):
    """Put the sets in place and write the `changed` chains, in an order that never lets a rule see a
    set half filled or missing: new sets and the staging sets of changed ones are filled first; the
    chains are dry-run; the staging sets are swapped in; the chains are written and read back; the old
    contents (now in the staging sets) and the sets no rule matches now are destroyed; the sets are
    read back. A failure after the swaps puts the sets back where no chain was written (put_back_sets).
    A failure after a write says what was already written (the exception's `changed`, and `written`
    families).

    Returns (commands, {family: lines in effect}, the sets read back (check_sets) or None)."""
    prepare, swaps, retired = ipset.split_commit(set_plan.before)
    commands = fill_sets(sets_host, set_plan, prepare)
    swapping = []

    def swap():
        swapping.extend(swaps)
        commands.extend(apply_sets(sets_host, swaps))

    in_effect = {}
    try:
        if changed:
            chain_commands, in_effect = apply_plans(host, backend, plans, changed, after_test=swap)
            commands += chain_commands
        else:
            swap()
    except (CommandError, ReadBackError) as exc:
        if commands or swapping:
            exc.changed = True
            done = (put_back_sets(sets_host, set_plan, swapping, getattr(exc, 'written', [])) if swapping else
                    'new sets were filled beside the ones rules match, which are as they were: the next run puts '
                    'them in place or destroys them')
            exc.args = ('%s; %s' % (str(exc).replace('nothing was changed', 'no chain was changed'), done),)
        raise
    commands += retire_sets(sets_host, retired + set_plan.after, changed)
    sets_back = None
    if set_plan.changed:
        try:
            sets_back = check_sets(sets_host, set_plan)
        except StateError as exc:
            exc.changed = True
            raise
    return commands, in_effect, sets_back


def fill_sets(sets_host, set_plan, prepare):
    """Run the lines that touch no set a rule matches. Returns the commands run."""
    try:
        return apply_sets(sets_host, prepare)
    except CommandError as exc:
        exc.changed = sets_changed(sets_host, set_plan)
        exc.args = ('%s; the sets rules match were not changed (a live set is changed only by a swap)' % exc,)
        raise


def retire_sets(sets_host, lines, changed):
    """Once the chains are written and read back: destroy the old contents and the sets no rule matches."""
    try:
        return destroy_sets(sets_host, lines)
    except CommandError as exc:
        exc.changed, exc.written = True, changed
        exc.args = ('destroying the ipsets no rule of ours matches any more failed, after the chains were written '
                    '(does a rule of another tool match them?); destroy them by hand once nothing uses them',)
        raise


def put_back_sets(sets_host, set_plan, swaps, written):
    """After a failure once the swaps ran (all or some of them): each set of a family whose chain was
    not written and that holds the new content is swapped back with its staging twin, which holds
    what it held before, so that each family is left with its chain and sets as they were or as
    written. Returns what the sets hold then, as read back, for the failure's message."""
    names = [line.split()[2] for line in swaps]
    try:
        now = ipset.parse_save(sets_host.save())
        back = [name for name in names
                if ipset.live_family(name) not in written and ipset.same_set(now.get(name), set_plan.wanted[name])]
        if not back:
            return 'no ipset needed swapping back; in force now: %s' % sets_in_force(now, set_plan, names)
        apply_sets(sets_host, ['swap %s %s' % (ipset.staging_name(name), name) for name in back])
        done = 'the ipsets swapped in were swapped back where no chain was written (%s)' % ', '.join(back)
    except (CommandError, ipset.IpsetSyntaxError) as exc:
        done = 'putting the ipsets back failed (%s)' % ((getattr(exc, 'stderr', '') or '').strip() or exc)
    try:
        now = ipset.parse_save(sets_host.save())
    except (CommandError, ipset.IpsetSyntaxError) as exc:
        return '%s; the ipsets could not be read back (%s): what %s hold is not known' % (done, exc, ', '.join(names))
    return '%s; in force now: %s' % (done, sets_in_force(now, set_plan, names))


def sets_in_force(now, set_plan, names):
    """What each of the sets `names` holds in `now` (parse_save of the host), against the run's plan."""
    said = []
    for name in names:
        if name not in now:
            said.append('%s is missing' % name)
        elif ipset.same_set(now[name], set_plan.wanted[name]):
            said.append('%s holds the sources of this run' % name)
        elif ipset.same_set(now[name], set_plan.current[name]):
            said.append('%s holds what it held before this run' % name)
        else:
            said.append('%s holds neither this run\'s sources nor the earlier ones (%d entries)'
                        % (name, len(now[name].entries)))
    return ', '.join(said)


def _sets_text(sets, names):
    text = ''
    for name in sorted(names):
        if name in sets:
            found = sets[name]
            text += '# ipset %s (%s %s, %d entries)\n' % (name, found.set_type, found.family, len(found.entries))
            text += ''.join(entry + '\n' for entry in found.entries)
    return text


def _names(lines_by_family):
    return set(name for lines in lines_by_family for name in blocks_in(lines or []))


def docker_firewall(module):
    """(the firewall backend to write for, the one Docker is configured for), each 'iptables' or
    'nftables': firewall_backend, or by default the one in daemon.json; and `warn(allowlists)`, which
    gives the warnings of daemon.json: unreadable, or the docker-proxy path around an allowlist when
    the module declares one."""
    path = module.params['daemon_json']
    settings, error = read_daemon_json(path)

    def warn(allowlists):
        if error:
            module.warn('%s: Docker\'s firewall backend and userland proxy are assumed to be the defaults' % error)
        if allowlists and settings.get('userland-proxy', True) is not False:
            module.warn(PROXY_PATH % path)

    # The running dockerd is not asked: the policy is for the backend daemon.json gives dockerd (_decisions).
    configured = settings.get('firewall-backend')
    return (decisions.firewall_backend(configured, requested=module.params['firewall_backend']).value,
            decisions.firewall_backend(configured).value, warn)


def _warn_leftovers(module, iptables):
    """Under nftables: what Docker's iptables backend left behind until the next reboot. Only
    feeds warnings, so a failed read is one too."""
    if not iptables.binary('ipv4', 'nft', 'save'):
        return
    try:
        table = parse_save(iptables.save('ipv4', 'nft')).get('filter')
    except (CommandError, RuleSyntaxError) as exc:
        module.warn('iptables could not be read for rules left by Docker\'s iptables backend: %s' % exc)
        return
    if table is None:
        return
    ours = blocks_in([rule.line for rule in table.chain_rules(CHAIN)]) if CHAIN in table.chains else []
    if ours:
        module.warn(LEFTOVER_RULES % ', '.join(ours))
    if table.chains.get('FORWARD') == 'DROP':
        module.warn(LEFTOVER_DROP)


def converge_nftables(module, declared, purge, docker_runs):
    """Converge the collection's nftables table to the declared blocks (Docker's nftables backend, or a switch
    to it: then what the iptables backend leaves behind is not reported yet). Returns (the result, what to
    record: (state digest, sets read) or None); the record's result when it proves the table converged."""
    host = NftHost(module, nft.FAMILY, nft.TABLE)
    commands = []
    state = None
    try:
        listed = host.list_table()
        if docker_runs == 'nftables':
            _warn_leftovers(module, IptablesHost(module))
        if declared.proves(lambda: converged.nftables_state(listed)):
            return declared.record.result, None
        before = nft.parse_table(listed)
        after = nft.plan_table(before, declared.blocks, purge)
        changed = not nft.same_table(before, after)
        if not changed:
            state = (converged.nftables_state(listed), False)
        elif not module.check_mode:
            # _iptables_converge.converge_table: nft -c, nft -f, nft list table read back against `after`.
            commands, in_effect = converge_table(host, nft.payload(after), table_in_place(after))
            state = (converged.nftables_state(in_effect[host.name]), False)
    except (ReadBackError, nft.NftSyntaxError) as exc:
        module.fail_json(msg=str(exc), changed=bool(getattr(exc, 'written', [])))
    except CommandError as exc:
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                         changed=bool(getattr(exc, 'written', [])))
    before_names = before.blocks() if before else []
    after_names = after.blocks() if after else []
    result = dict(
        changed=changed,
        backend='nftables',
        firewall_backend='nftables',
        families=['ipv4', 'ipv6'] if after else [],
        rules=dict(nftables=nft.render(after).splitlines() if after else []),
        blocks=dict(nftables=after_names),
        removed_blocks=sorted(set(before_names) - set(after_names)),
        commands=commands,
        payload=nft.payload(after),
        ipsets={},  # the table keeps the sources in nftables sets
        ipset_payload='',
    )
    if module._diff:
        result['diff'] = dict(before=nft.render(before) if before else '', after=nft.render(after) if after else '')
    return result, state


def _written_state(backend, current, plans, in_effect, sets_read, sets_back, wanted):
    """What to record of a write: (state digest, sets read) when the chains read back are exactly the plan
    and the sets read back (`sets_back`, check_sets, after a set write) leave nothing to plan (then a run of
    the same declaration finds the host converged), else None. `sets_read`: `ipset save` read before the
    write, or None."""
    if any(in_effect[family] != plans[family][1] for family in in_effect):
        return None  # another tool's rule came between: the next run decides
    sets_text = sets_read
    if sets_back is not None:
        sets_text, now = sets_back
        if ipset.plan(now, wanted, removable_sets(now, plans)) != ([], []):
            return None  # a set of ours that this run did not plan came between: the next run decides
    chains = dict(current, **in_effect)
    return converged.iptables_state(backend, chains, sets_text), sets_text is not None


def converge_iptables(module, declared, purge, docker_runs=None):
    """Converge DOCKER-USER and the collection's ipsets to the declared blocks in every family. Returns
    (the result, what to record or None), as converge_nftables does."""
    params = module.params
    host = IptablesHost(module)
    sets_host = IpsetHost(module)
    saved = {}

    def read_sets():
        """`ipset save`, run once at most before the writes."""
        if 'text' not in saved:
            saved['text'] = sets_host.save()
        return saved['text']

    try:
        backend, current = read_chains(host, params, module.warn)
        if declared.proves(lambda: converged.iptables_state(backend, current,
                                                            read_sets() if declared.record.reads_sets else None)):
            return declared.record.result, None
        blocks = declared.blocks
        plans = plan_families(current, blocks, purge, params['create_chain'], declared.warn)
        set_plan = plan_sets(read_sets, plans, blocks)
        changed = sorted(f for f, (before, after) in plans.items() if before is None or not same_chain(before, after))
        rules = dict((f, after) for f, (before, after) in plans.items())
        commands = []
        state = None
        if not (changed or set_plan.changed):
            state = (converged.iptables_state(backend, current, saved.get('text')), 'text' in saved)
        elif not module.check_mode:
            commands, in_effect, sets_back = apply_all(host, backend, plans, changed, sets_host, set_plan)
            rules.update(in_effect)
            state = _written_state(backend, current, plans, in_effect, saved.get('text'), sets_back, set_plan.wanted)
    except (InputError, StateError, ReadBackError, RuleSyntaxError, ipset.IpsetSyntaxError) as exc:
        written = getattr(exc, 'written', [])
        module.fail_json(msg=str(exc), changed=bool(written) or getattr(exc, 'changed', False))
    except CommandError as exc:
        written = getattr(exc, 'written', [])
        module.fail_json(msg=str(exc), cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr,
                         changed=bool(written) or getattr(exc, 'changed', False), written_families=written)
    result = dict(
        changed=bool(changed) or set_plan.changed,
        backend=backend,
        families=sorted(plans),
        rules=rules,
        blocks=dict((f, blocks_in(lines)) for f, lines in rules.items()),
        removed_blocks=sorted(_names(b for b, a in plans.values()) - _names(rules.values())),
        commands=commands,
        ipsets=dict((name, len(s.entries)) for name, s in set_plan.wanted.items()),
        ipset_payload=set_plan.payload(),
    )
    if module._diff:
        set_names = set(set_plan.wanted) | set(line.split()[1] for line in set_plan.after)
        result['diff'] = dict(
            before=''.join(_chain_text(f, backend, plans[f][0]) for f in sorted(plans))
            + _sets_text(set_plan.current, set_names),
            after=''.join(_chain_text(f, backend, plans[f][1]) for f in sorted(plans))
            + _sets_text(set_plan.wanted, set_names),
        )
    return result, state


class Declared:
    """A module's declaration: `build()` gives its blocks ({name: Block or None}) and the results that
    describe them, built when first needed (never, in a run a record proves converged); `record`, the
    Record of an earlier run of the same declaration, or None; `warnings`, those of this run's plan."""

    def __init__(self, module, build, record=None):
        self._module = module
        self._build = build
        self._built = None
        self.record = record
        self.proven = False
        self.warnings = []

    def built(self):
        """(blocks, results); bad input fails the module."""
        if self._built is None:
            self._built = build_blocks(self._module, self._build)
        return self._built

    @property
    def blocks(self):
        return self.built()[0]

    def warn(self, message):
        """A warning of the plan: given now, and again by the runs this run's record proves."""
        self.warnings.append(message)
        self._module.warn(message)

    def proves(self, state):
        """Whether the record proves the host converged: its state digest is `state()`, the host's as read
        now. Then its plan's warnings are given again."""
        if self.record is None or self.record.state != state():
            return False
        for message in self.record.warnings:
            self._module.warn(message)
        self.proven = True
        return True


def engine_code(build):
    """The code of the engine and of the module whose `build` function declares the blocks."""
    return converged.engine_code(converged.ENGINE_MODULES + (build.__module__,))


def run(module, holder, build, allowlists, purge=False, scope='chain'):
    """Converge DOCKER-USER (or, under Docker's nftables backend, the collection's table) to the blocks
    `build()` gives ({name: Block or None}, with the results that describe them) and exit. The host lock
    is held, as `holder` (the module's name), from the first read to the read-back; the result is what
    was read back under it, or what the record of this declaration (per firewall and `scope`: the block,
    or 'chain') proves in force. Bad input fails before the firewall is read (daemon.json is, for the
    firewall backend the record is of); where a record of the same declaration is, which was valid, the
    blocks are built only if the host differs. Diff mode reads every entry, for the whole diff.
    `allowlists`: whether the module declares an allowlist."""
    target, docker_runs, warn = docker_firewall(module)
    path = os.path.join(CONVERGED_DIR, converged.record_name(holder, target, scope))
    declared_digest = converged.declaration_digest(engine_code(build), holder, target, purge, module.params)
    declared = Declared(module, build, None if module._diff else read_record(path, declared_digest))
    if declared.record is None:
        declared.built()
    warn(allowlists)
    with module_lock(module, holder) as taken:
        converge = converge_nftables if target == 'nftables' else converge_iptables
        result, state = converge(module, declared, purge, docker_runs)
        if not declared.proven:
            result.update(declared.built()[1])
            if state is not None and declared_digest is not None and not module.check_mode:
                write_record(path, converged.Record(declared_digest, state[0], state[1], declared.warnings,
                                                    converged.converged_result(result)))
    module.exit_json(**dict(result, host_lock=taken))


def build_blocks(module, builder):
    """Call a block builder, turning bad input into a clear failure before the host is touched."""
    try:
        return builder()
    except InputError as exc:
        module.fail_json(msg=str(exc), field=exc.field, value=exc.value)
