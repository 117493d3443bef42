# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A converged run proven without the declaration's sources: the records of the DOCKER-USER modules.

A run that found the host converged to its declaration, or wrote it and read back exactly its plan,
leaves a record (layout.CONVERGED_DIR, one file per module, firewall and scope): the digest of the
declaration (every parameter, the firewall written for, the engine's code, the Python), the digest of the host
state it read and the result it returned. A later run whose declaration has the same digest reads
the host with the same commands as ever and digests what they print, without parsing it entry by
entry. When that digest is the recorded one, the host holds what the recorded run left, and its
result is the answer: the sources are not parsed or merged, the sets and the table not parsed back,
the payloads not rendered. Anything else (an element or a rule changed by hand, another writer, a
reboot, another declaration or engine) takes the full path, which writes what differs and records
again. The record never stands in for the host: the host is read on every run.

What is digested, as the commands print it: on Docker's iptables backend the iptables variant, each
family's DOCKER-USER (or its absence) and, where the run read ipset, the collection's sets (each
one's `create` line and its other lines sorted: the kernel lists a hash set in its own order); on
Docker's nftables backend the collection's table as `nft list table` prints it.

Private to this collection. Pure: no host access, no Ansible imports."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import sys

from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _ipset as ipset

FORMAT = 1
_PACKAGE = 'ansible_collections.netops.docker_firewall.plugins.module_utils.'
# The engine files a DOCKER-USER module imports when it loads, all of them, the subpackages they are in
# included (besides the module itself: tests/unit/plugins/module_utils/test_converged.py follows the
# imports): their code is part of the declaration's digest, so that no other version of them takes this
# one's record for its own.
ENGINE_MODULES = tuple(_PACKAGE + name for name in (
    '_engine', '_engine._blocks', '_engine._chain_plan', '_engine._converged', '_engine._decisions',
    '_engine._facts', '_engine._ipset', '_engine._kube_proxy', '_engine._layout', '_engine._nft',
    '_engine._publish', '_engine._rules', '_engine._sources',
    '_host', '_host._docker_host', '_host._host_lock', '_host._iptables_converge', '_host._iptables_host',
    '_host._record_files',
    '_module', '_module._docker_user_module'))
# The Python that runs the engine: its ipaddress and socket parse the sources, so a record of another
# Python (an upgrade without a reboot) proves nothing.
RUNTIME = '%s %d.%d.%d' % ((sys.implementation.name,) + tuple(sys.version_info[:3]))
# The parts of a result that belong to one run, never to a record: a proven run has its own.
RUN_FIELDS = ('changed', 'commands', 'diff', 'host_lock', 'invocation', 'removed_blocks', 'warnings',
              'deprecations')


class Record:
    """What a run proved in force: the digest of its declaration and of the host state it read, whether
    that state includes the sets (`ipset save`), the warnings its plan gave and its result (converged:
    nothing changed, no command, no block removed)."""

    __slots__ = ('declared', 'state', 'reads_sets', 'warnings', 'result')

    def __init__(self, declared, state, reads_sets, warnings, result):
        self.declared = declared
        self.state = state
        self.reads_sets = reads_sets
        self.warnings = warnings
        self.result = result


def digest(value):
    """sha256 (hex) of a JSON value, written one way only (sorted keys, ASCII)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(',', ':')).encode('ascii')).hexdigest()


def engine_code(names):
    """The source of the modules `names` (imported), or None when one cannot be read: then no run of
    this engine is recorded or proven."""
    texts = []
    for name in names:
        spec = getattr(sys.modules.get(name), '__spec__', None)
        try:
            texts.append(spec.loader.get_source(spec.name))
        except (AttributeError, ImportError, OSError):
            return None
    return None if None in texts else texts


def declaration_digest(code, holder, target, purge, params):
    """The digest of a module's declaration: `code` (engine_code of the engine and the module) and the
    Python that runs it (RUNTIME), the module (`holder`), the firewall it writes for (`target`), purge and
    its parameters; None without code."""
    if code is None:
        return None
    return digest([FORMAT, RUNTIME, [digest(text) for text in code], holder, target, purge, params])


def record_name(holder, target, scope):
    """The file of one module's record for one firewall and scope (its block, or 'chain' for the whole
    chain); the scope is hashed, so that no parameter, not yet checked, reaches the file system."""
    return '%s-%s-%s.json' % (holder, target, hashlib.sha256(scope.encode('utf-8', 'surrogateescape')).hexdigest()[:16])


def ipset_state(text):
    """The collection's sets (and staging twins) in `ipset save` output, as a sorted list of [create line,
    its other lines sorted]: what the kernel holds, whatever order it lists a hash set in. `ipset save`
    prints each set as its create line, then its elements: read set by set, not line by line."""
    state = []
    for chunk in ('\n' + text).split('\ncreate ')[1:]:
        lines = chunk.splitlines()
        if ipset.is_ours((lines[0].split(None, 1) or [''])[0]):
            state.append(['create ' + lines[0], sorted(lines[1:])])
    return sorted(state)


def iptables_state(backend, chains, sets_text):
    """The digest of Docker's iptables backend as read: the iptables variant, {family: DOCKER-USER lines
    or None} and the `ipset save` output (None when it was not read)."""
    return digest(['iptables', backend, chains, None if sets_text is None else ipset_state(sets_text)])


def nftables_state(text):
    """The digest of the collection's table as `nft list table` prints it ('' when there is none)."""
    return digest(['nftables', text])


def converged_result(result):
    """The result of a converged run on the state a run left: without the run's own fields, nothing
    changed, no command run, no block removed."""
    kept = dict((key, value) for key, value in result.items() if key not in RUN_FIELDS)
    kept.update(changed=False, commands=[], removed_blocks=[])
    return kept


def render_record(record):
    return json.dumps(dict(format=FORMAT, declared=record.declared, state=record.state, reads_sets=record.reads_sets,
                           warnings=record.warnings, result=record.result), sort_keys=True) + '\n'


def parse_record(text, declared):
    """The Record in `text` when it is one of this format for the declaration digest `declared`, else None."""
    try:
        found = json.loads(text)
        if found.get('format') != FORMAT or found.get('declared') != declared or declared is None:
            return None
        record = Record(declared, found['state'], found['reads_sets'], found['warnings'], found['result'])
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    valid = (isinstance(record.state, str) and isinstance(record.reads_sets, bool) and isinstance(record.result, dict)
             and isinstance(record.warnings, list) and all(isinstance(w, str) for w in record.warnings))
    return record if valid else None
