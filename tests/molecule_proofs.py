# SPDX-License-Identifier: GPL-3.0-or-later
"""What the Molecule stage proves, read from the molecule files, and the list that keeps it
(tests/molecule-proofs.yml; tests/unit/test_molecule_proofs.py holds the two together).

  molecule_proofs.py           compare the list with the files: missing from the list, missing
                               from the files, fields that differ (exit status 1 on any)
  molecule_proofs.py --write   rewrite the list's `proofs:` from the files, keeping its header
                               and `retired:`

The scenarios are the Makefile's `SCENARIOS ?=`; in each, the playbooks Molecule runs
(prepare, converge, verify, side_effect, as its test_sequence and provisioner.playbooks say) are
walked task by task, following include_tasks/import_tasks into task files (never include_role:
the roles are the product, not the tests). A proof is:

- probe: a real packet. Each item (or the single call) of a task that includes
  `shared/tasks/probe.yml`, and each entry of the `probes` list given to a task that includes
  `shared/tasks/probes.yml` (a batch), with the probe's label, from, to, port and expect, and `oracle: true`
  where the batch is given `probes_oracle` (the probe's real outcome is held to the reachability
  engine's prediction too, shared/tasks/oracle.yml). Loops are read when
  they are lists, YAML aliases, or a Jinja expression over list literals and variables (play vars,
  the scenario's inventory group_vars and host_vars), `+`, `x if c else y` (the condition becomes
  the item's `when`) and selectattr/rejectattr on plain values; a filter that cannot be evaluated
  keeps every item and is noted in `filter`. A batch's `probes` list is read the same way.
- assert: an `assert` task, by its name.
- probe-program: a task that runs another packet sender (firewalld-probe, lab-boot-probe,
  `labnet probe`) from a command or shell, or enables or starts lab-boot-probe.service (the boot
  prober sends its packets while the platform boots).

Each proof records the generations it runs on (the platforms of .config/molecule/config.yml, as
the scenario's `# make-molecule-args: --platform-name X` and the play's `hosts:` restrict them;
two platforms of one generation are told apart by name),
the `when:` conditions around it (raw text, never evaluated), the loops of the includes it came
through, and those includes (`chain`). Its key is `<scenario>/<playbook>: <task name> | <label>`
(the label for probes only), numbered ` #2`, ` #3` in walk order when it repeats. Templates stay
raw text. What cannot be read statically is recorded as kind `unresolved`.
"""

import argparse
import ast
import dataclasses
import fnmatch
import os
import re
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIST_FILE = os.path.join('tests', 'molecule-proofs.yml')

PLAYBOOKS = ('prepare', 'converge', 'side_effect', 'verify')
# Molecule's actions that run each playbook (check and idempotence run converge again).
PLAYBOOK_ACTIONS = {'prepare': ('prepare',), 'converge': ('check', 'converge', 'idempotence'),
                    'side_effect': ('side_effect',), 'verify': ('verify',)}
DEFAULT_SEQUENCE = ('dependency', 'cleanup', 'destroy', 'syntax', 'create', 'prepare', 'converge',
                    'idempotence', 'side_effect', 'verify', 'cleanup', 'destroy')
PROBE_TASKS = 'shared/tasks/probe.yml'
PROBE_BATCH = 'shared/tasks/probes.yml'
PROBE_FIELDS = (('label', 'probe_label'), ('from', 'probe_from'), ('to', 'probe_to'), ('port', 'probe_port'),
                ('expect', 'probe_expect'))
# What the list holds of a proof, in this order; the fields a proof must not lose come first.
STRONG_FIELDS = ('generations', 'from', 'to', 'port', 'expect', 'oracle')
LISTED_FIELDS = ('key', 'kind') + STRONG_FIELDS + ('hosts', 'chain', 'when', 'loop', 'filter', 'run_once',
                                                   'rescue', 'unresolved')
PROGRAM = re.compile(r'(?:^|[\s/;&|(`])(?:firewalld-probe|lab-boot-probe)(?=$|[\s;&|)`])|\blabnet\s+probes?\b')
BOOT_PROBER = re.compile(r'^lab-boot-probe(?:\.service)?$')
INCLUDES = ('include_tasks', 'import_tasks', 'include')
ROLES = ('include_role', 'import_role')
COMMANDS = ('command', 'shell', 'raw')
SERVICES = ('systemd', 'systemd_service', 'service')
LOOPS = ('loop', 'with_items', 'with_list')
TASK_KEYWORDS = frozenset((
    'name', 'when', 'vars', 'register', 'changed_when', 'failed_when', 'until', 'retries', 'delay', 'args',
    'become', 'become_user', 'become_method', 'delegate_to', 'delegate_facts', 'run_once', 'tags', 'environment',
    'check_mode', 'diff', 'ignore_errors', 'ignore_unreachable', 'no_log', 'notify', 'listen', 'async', 'poll',
    'throttle', 'timeout', 'any_errors_fatal', 'connection', 'module_defaults', 'collections', 'debugger',
    'loop_control', 'local_action') + LOOPS)
HEADER = """\
# Every proof the Molecule stage (`make molecule`, the Makefile's SCENARIOS) makes today, generated
# from the molecule files by tests/molecule_proofs.py and held to them by
# tests/unit/test_molecule_proofs.py.
#
# A proof is a real-packet probe (each item of a task that includes shared/tasks/probe.yml, or each
# entry of a batch given to shared/tasks/probes.yml, with from, to, port and expect, and oracle: true
# where the batch holds the engine's prediction to it), an assert
# task, or a task that runs another packet sender (firewalld-probe, lab-boot-probe, `labnet probe`):
# kind probe, assert or probe-program. Each says the Docker generations it runs on, and the when
# conditions, include loops and includes (chain) it sits in. The module docstring of
# tests/molecule_proofs.py says it in full.
#
# After changing a molecule file: `python tests/molecule_proofs.py --write` rewrites `proofs:`
# (review the diff: fewer generations or another expect is a weaker proof), and
# `python tests/molecule_proofs.py` shows what differs.
#
# A proof that disappears from the files is never just deleted: `--write` keeps it under
# `proofs:` and the unit test fails until it is moved by hand to `retired:`, with `reason:` (why
# it went) and `covered_by:` (the proof or proofs that cover it now, or why nothing needs to):
#   retired:
#     - key: "router/verify: Probe after the reboot | LAN to WAN is routed"
#       reason: the reboot probes were batched with the restart probes
#       covered_by: "router/verify: Probe after the restart and the reboot | LAN to WAN is routed"
# A key may be a pattern (fnmatch: `nftables/*` retires every proof of that scenario). A proof that
# stays but no longer runs on a generation is retired for that generation only, by an entry with
# `generations:` (`--write` keeps a listed generation the files lost until such an entry says why).
"""


class Unresolved(Exception):
    """A value the extractor cannot read without running Ansible."""


@dataclasses.dataclass(frozen=True)
class Site:
    """Where a task sits: its scenario, playbook, play, file, the includes, conditions and loops around it."""
    scenario: str
    playbook: str
    hosts: str
    generations: tuple
    platforms: tuple
    config: dict
    molecule_dir: str
    playbook_dir: str
    file: str
    env: dict
    hops: tuple = ()
    when: tuple = ()
    loops: tuple = ()
    run_once: bool = False
    rescue: bool = False


# --- YAML --------------------------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's tags (!unsafe, !vault) as plain values."""


def _untagged(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor('!', _untagged)


def parse_yaml(text):
    return yaml.load(text, Loader=_Loader)  # nosec - a SafeLoader


class _Flow(list):
    """A list written in flow style ([a, b])."""


class _Dumper(yaml.SafeDumper):
    """Indents sequences inside mappings, as yamllint's default wants."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_sequence(
    'tag:yaml.org,2002:seq', data, flow_style=True))
# Text with an apostrophe in double quotes, where single quotes would double it.
_Dumper.add_representer(str, lambda dumper, data: dumper.represent_scalar(
    'tag:yaml.org,2002:str', data, style='"' if "'" in data else None))


def dump_yaml(data):
    """YAML as yamllint wants it; a long text is folded below 160 columns."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=140,
                     default_flow_style=False)


# --- scenarios, platforms, generations ---------------------------------------------------------

def scenarios_from_makefile(text):
    match = re.search(r'^SCENARIOS\s*\?=(.*)$', text, re.M)
    if not match:
        raise ValueError('the Makefile has no SCENARIOS ?= line')
    return match.group(1).split()


def make_args_platforms(molecule_text):
    """The platforms a scenario's `# make-molecule-args:` line restricts it to, or None."""
    line = re.search(r'^# make-molecule-args:(.*)$', molecule_text, re.M)
    if not line:
        return None
    names = re.findall(r'(?:--platform-name|-p)(?:=|\s+)(\S+)', line.group(1))
    return names or None


def merged(base, override):
    """Molecule's merge of a scenario's molecule.yml over the shared config: mappings deep, the rest replaced."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for key, value in override.items():
        out[key] = merged(base[key], value) if key in base else value
    return out


def platforms(config, only=None):
    """[(name, groups, generation)] of the platforms a scenario runs on. A generation two of them share
    is written with the platform's name, `29.7 (replay29-nft)`, and a missing one as `? (name)`."""
    host_vars = ((config.get('provisioner') or {}).get('inventory') or {}).get('host_vars') or {}
    found = [(platform['name'], tuple(platform.get('groups') or ()),
              (host_vars.get(platform['name']) or {}).get('lab_docker_generation'))
             for platform in config.get('platforms') or [] if only is None or platform['name'] in only]
    shared = [generation for _name, _groups, generation in found]
    return [(name, groups, str(generation) if generation is not None and shared.count(generation) == 1
             else '%s (%s)' % ('?' if generation is None else generation, name))
            for name, groups, generation in found]


def hosts_matching(pattern, hosts):
    """The hosts (of [(name, groups, generation)]) an inventory pattern names, in platform order."""
    chosen = set()
    for term in (t for t in re.split(r'[:,]', str(pattern)) if t.strip()):
        term = term.strip()
        named = {h[0] for h in hosts if term.lstrip('!&') in ('all', '*', h[0]) or term.lstrip('!&') in h[1]}
        if term.startswith('!'):
            chosen -= named
        elif term.startswith('&'):
            chosen &= named
        else:
            chosen |= named
    return [h for h in hosts if h[0] in chosen]


def inventory_vars(config, hosts):
    """Variables every host of the scenario sees alike: group_vars, then host_vars all hosts share."""
    inventory = (config.get('provisioner') or {}).get('inventory') or {}
    group_vars = inventory.get('group_vars') or {}
    env = dict(group_vars.get('all') or {})
    for group in sorted(set(g for h in hosts for g in h[1])):
        env.update(group_vars.get(group) or {})
    per_host = [(inventory.get('host_vars') or {}).get(h[0]) or {} for h in hosts]
    shared = set.intersection(*(set(v) for v in per_host)) if per_host else set()
    env.update({name: per_host[0][name] for name in shared if all(v[name] == per_host[0][name] for v in per_host)})
    return env


def playbooks_run(config):
    """[(playbook, path relative to the scenario)] of the playbooks Molecule runs, in run order."""
    sequence = (config.get('scenario') or {}).get('test_sequence') or DEFAULT_SEQUENCE
    overrides = (config.get('provisioner') or {}).get('playbooks') or {}
    return [(playbook, overrides.get(playbook, playbook + '.yml')) for playbook in PLAYBOOKS
            if any(action in sequence for action in PLAYBOOK_ACTIONS[playbook])]


# --- Jinja expressions over lists --------------------------------------------------------------

def expression_of(value):
    """The expression of a string that is one `{{ ... }}` and nothing else, or None."""
    match = re.fullmatch(r'\s*\{\{(.*)\}\}\s*', value, re.S) if isinstance(value, str) else None
    if not match or '{{' in match.group(1) or '}}' in match.group(1):
        return None
    return match.group(1).strip()


def list_items(value, env, depth=0):
    """The items of a loop: ([(item, conditions)], unevaluated filters). Raises Unresolved."""
    if isinstance(value, list):
        return [(item, ()) for item in value], ()
    expression = expression_of(value)
    if expression is None or depth > 8:
        raise Unresolved(str(value))
    source = '(' + expression + ')'
    try:
        tree = ast.parse(source, mode='eval')
    except SyntaxError as error:
        raise Unresolved(expression) from error
    return node_items(tree.body, source, env, depth)


def node_items(node, source, env, depth):
    if isinstance(node, (ast.List, ast.Tuple)):
        return [(node_value(element, source), ()) for element in node.elts], ()
    if isinstance(node, ast.Name) and node.id in env:
        return list_items(env[node.id], env, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, left_filters = node_items(node.left, source, env, depth)
        right, right_filters = node_items(node.right, source, env, depth)
        return left + right, left_filters + right_filters
    if isinstance(node, ast.IfExp):
        condition = ast.get_source_segment(source, node.test)
        body, body_filters = node_items(node.body, source, env, depth)
        other, other_filters = node_items(node.orelse, source, env, depth)
        return ([(item, (condition,) + c) for item, c in body]
                + [(item, ('not (%s)' % condition,) + c) for item, c in other]), body_filters + other_filters
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        items, filters = node_items(node.left, source, env, depth)
        kept, unevaluated = filtered(items, node.right, source)
        return kept, filters + unevaluated
    raise Unresolved(ast.get_source_segment(source, node))


def node_value(node, source):
    """A literal as its value, any other expression as raw template text."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in ('true', 'false', 'none', 'True', 'False', 'None'):
        return {'true': True, 'false': False}.get(node.id.lower())
    if isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) for k in node.keys):
        return {k.value: node_value(v, source) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [node_value(element, source) for element in node.elts]
    return '{{ %s }}' % ast.get_source_segment(source, node)


def filtered(items, node, source):
    """Items through one filter: (kept, ()) when it can be evaluated, else (items, (its text,))."""
    text = ast.get_source_segment(source, node)
    if isinstance(node, ast.Name) and node.id == 'list':
        return items, ()
    name = getattr(node.func, 'id', None) if isinstance(node, ast.Call) else None
    if name not in ('selectattr', 'rejectattr') or node.keywords:
        return items, (text,)
    try:
        arguments = [ast.literal_eval(argument) for argument in node.args]
        return [(item, c) for item, c in items if selected(item, arguments) == (name == 'selectattr')], ()
    except (Unresolved, ValueError, TypeError, SyntaxError):
        return items, (text,)


def selected(item, arguments):
    """Whether selectattr(*arguments) keeps an item. Raises Unresolved."""
    attribute, test, operand = (list(arguments) + [None, None])[:3]
    if not isinstance(item, dict) or attribute not in item or '{{' in str(item[attribute]):
        raise Unresolved(attribute)
    value = item[attribute]
    tests = {None: lambda: bool(value), 'eq': lambda: value == operand, '==': lambda: value == operand,
             'equalto': lambda: value == operand, 'ne': lambda: value != operand, '!=': lambda: value != operand,
             'in': lambda: value in operand}
    if test not in tests:
        raise Unresolved(test)
    return tests[test]()


def with_item(value, loop_var, item):
    """A probe field with the loop item's values put in for `{{ item.x }}` (the rest stays raw)."""
    if not isinstance(value, str):
        return value
    reference = re.compile(r'\{\{\s*%s(?:\.(\w+)|\[[\'"](\w+)[\'"]\])?\s*(?:\|\s*default\([^)]*\)\s*)?\}\}'
                           % re.escape(loop_var))

    def lookup(match):
        field = match.group(1) or match.group(2)
        if field is None:
            return item
        if not isinstance(item, dict) or field not in item:
            raise Unresolved(match.group(0))
        return item[field]

    whole = reference.fullmatch(value)
    if whole:
        return lookup(whole)
    return reference.sub(lambda match: str(lookup(match)), value)


# --- tasks -------------------------------------------------------------------------------------

def task_action(task):
    """(short module name, its arguments) of a task, or (None, None)."""
    for key, value in task.items():
        if key in ('action', 'local_action'):
            words = value.split(None, 1) if isinstance(value, str) else [value.get('module'), value]
            return short_name(words[0]), words[1] if len(words) > 1 else None
        if key not in TASK_KEYWORDS:
            return short_name(key), value
    return None, None


def short_name(module):
    return re.sub(r'^ansible\.(?:builtin|legacy)\.', '', str(module))


def conditions(task):
    when = task.get('when')
    if when is None:
        return ()
    return tuple(str(c) for c in when) if isinstance(when, list) else (str(when),)


def loop_of(task):
    """(loop variable, loop value) of a task, or None."""
    for key in LOOPS:
        if key in task:
            return ((task.get('loop_control') or {}).get('loop_var', 'item'), task[key])
    return None


def own_loop(task):
    loop = loop_of(task)
    if loop is None:
        return ()
    return ((loop[0], loop[1] if isinstance(loop[1], list) else str(loop[1]).strip()),)


def command_text(module, arguments, task):
    """The command line of a command/shell task, or None for other tasks."""
    if module not in COMMANDS:
        return None
    extra = task.get('args') or {}
    if isinstance(arguments, dict):
        extra, arguments = arguments, None
    argv = extra.get('argv')
    text = arguments or extra.get('cmd') or (' '.join(map(str, argv)) if isinstance(argv, list) else argv)
    return str(text or '')


def runs_packet_sender(module, arguments, task):
    text = command_text(module, arguments, task)
    if text is not None:
        return bool(PROGRAM.search(text))
    if module in SERVICES and isinstance(arguments, dict):
        return (bool(BOOT_PROBER.match(str(arguments.get('name', ''))))
                and (arguments.get('enabled') is True or arguments.get('state') in ('started', 'restarted')))
    return False


def include_path(module, arguments):
    if module not in INCLUDES:
        return None
    return str(arguments.get('file') if isinstance(arguments, dict) else arguments)


def task_proofs(task, site, read):
    """The proofs of one task, and of the blocks and task files it holds."""
    if not isinstance(task, dict):
        return []
    if 'block' in task:
        return block_proofs(task, site, read)
    site = dataclasses.replace(site, run_once=site.run_once or bool(task.get('run_once')))
    module, arguments = task_action(task)
    name = str(task.get('name') or '(%s)' % module)
    path = include_path(module, arguments)
    if path is not None and path.endswith(PROBE_TASKS):
        return probe_proofs(task, name, site)
    if path is not None and path.endswith(PROBE_BATCH):
        return batch_proofs(task, name, site)
    if path is not None:
        return include_proofs(task, name, path, site, read)
    if module == 'assert':
        return [proof(site, 'assert', name, when=conditions(task), loops=own_loop(task))]
    if runs_packet_sender(module, arguments, task):
        return [proof(site, 'probe-program', name, when=conditions(task), loops=own_loop(task))]
    return []


def block_proofs(task, site, read):
    inner = dataclasses.replace(site, when=site.when + conditions(task),
                                run_once=site.run_once or bool(task.get('run_once')),
                                env={**site.env, **(task.get('vars') or {})})
    found = []
    for section in ('block', 'rescue', 'always'):
        section_site = dataclasses.replace(inner, rescue=inner.rescue or section == 'rescue')
        found.extend(tasks_proofs(task.get(section) or [], section_site, read))
    return found


def tasks_proofs(tasks, site, read):
    return [found for task in tasks or [] for found in task_proofs(task, site, read)]


def include_proofs(task, name, path, site, read):
    """The proofs of an included task file, with the include's conditions, loop and vars around them."""
    if '{{' in path:
        return [proof(site, 'unresolved', name, when=conditions(task), unresolved='include of ' + path)]
    candidates = [os.path.normpath(os.path.join(base, path)) for base in (os.path.dirname(site.file),
                                                                          site.playbook_dir)]
    found = [(candidate, read(candidate)) for candidate in candidates]
    found = [(candidate, text) for candidate, text in found if text is not None]
    if not found:
        return [proof(site, 'unresolved', name, when=conditions(task), unresolved='no file ' + path)]
    candidate, text = found[0]
    inner = dataclasses.replace(
        site, file=candidate, hops=site.hops + ((relative(site.file, site), name),),
        when=site.when + conditions(task), loops=site.loops + own_loop(task),
        env={**site.env, **(task.get('vars') or {})})
    return tasks_proofs(parse_yaml(text), inner, read)


def probe_proofs(task, name, site):
    """One proof per item of a task that includes shared/tasks/probe.yml (one for a single call)."""
    given = {**site.env, **(task.get('vars') or {})}
    loop = loop_of(task)
    if loop is None:
        return [probe_proof(task, name, site, given, None, (None, ()), ())]
    try:
        items, filters = list_items(loop[1], given)
    except Unresolved:
        return [proof(site, 'unresolved', name, when=conditions(task), unresolved='loop %s' % str(loop[1]).strip())]
    return [probe_proof(task, name, site, given, loop[0], item, filters) for item in items]


def probe_proof(task, name, site, given, loop_var, item, filters):
    """One probe: probe.yml's variables with the loop item put in, the item's own conditions added."""
    item_value, item_when = item
    fields = {}
    for field, variable in PROBE_FIELDS:
        raw = given.get(variable)
        try:
            resolved = raw if loop_var is None else with_item(raw, loop_var, item_value)
        except Unresolved:
            resolved = raw
        if resolved is not None:
            fields[field] = plain(resolved)
    return proof(site, 'probe', name, when=conditions(task) + item_when, filters=filters, **fields)


def batch_proofs(task, name, site):
    """One proof per entry of the `probes` list of a task that includes shared/tasks/probes.yml."""
    given = {**site.env, **(task.get('vars') or {})}
    try:
        items, filters = list_items(given.get('probes'), given)
    except Unresolved:
        return [proof(site, 'unresolved', name, when=conditions(task), unresolved='probes %s' % given.get('probes'))]
    oracle = 'probes_oracle' in (task.get('vars') or {})
    return [proof(site, 'probe', name, when=conditions(task) + item_when, loops=own_loop(task), filters=filters,
                  oracle=oracle, **{field: plain(item[field]) for field, _variable in PROBE_FIELDS
                                    if isinstance(item, dict) and item.get(field) is not None})
            for item, item_when in items]


def plain(value):
    """A probe field as the list writes it: templates and words as text, numbers as numbers."""
    if isinstance(value, str):
        return ' '.join(value.split()) if '\n' in value else value
    return value


def relative(path, site):
    return os.path.relpath(path, site.molecule_dir).replace(os.sep, '/')


def proof(site, kind, task_name, when=(), loops=(), filters=(), unresolved=None, **probe):
    """A proof record (key without its number: see numbered())."""
    label = probe.pop('label', None)
    key = '%s/%s: %s' % (site.scenario, site.playbook, task_name)
    if kind == 'probe':
        key += ' | %s' % label
    chain = ['%s: %s' % hop for hop in site.hops] + ([relative(site.file, site)] if site.hops else [])
    return {'key': key, 'kind': kind, 'scenario': site.scenario, 'playbook': site.playbook, 'task': task_name,
            'label': label, 'generations': list(site.generations), **probe, 'hosts': site.hosts, 'chain': chain,
            'when': list(site.when + tuple(when)), 'loop': loop_mapping(site.loops + tuple(loops)),
            'filter': ' | '.join(filters) or None, 'run_once': site.run_once, 'rescue': site.rescue,
            'unresolved': unresolved}


def loop_mapping(loops):
    """{loop variable: values} of the loops around a proof (a variable met twice is numbered)."""
    mapping = {}
    for variable, values in loops:
        key, number = variable, 2
        while key in mapping:
            key, number = '%s #%d' % (variable, number), number + 1
        mapping[key] = values
    return mapping


def numbered(proofs):
    """The proofs with a repeated key numbered ` #2`, ` #3` in walk order."""
    seen = {}
    out = []
    for record in proofs:
        seen[record['key']] = seen.get(record['key'], 0) + 1
        count = seen[record['key']]
        out.append(dict(record, key=record['key'] + (' #%d' % count if count > 1 else '')))
    return out


# --- plays and scenarios -----------------------------------------------------------------------

def play_proofs(play, site, read):
    """The proofs of one play (following import_playbook)."""
    target = play.get('import_playbook') or play.get('ansible.builtin.import_playbook')
    if target:
        return playbook_proofs(os.path.normpath(os.path.join(os.path.dirname(site.file), target)), site, read)
    hosts = str(play.get('hosts', 'all'))
    chosen = hosts_matching(hosts, site.platforms)
    play_site = dataclasses.replace(site, hosts=hosts, generations=tuple(h[2] for h in chosen),
                                    env={**inventory_vars(site.config, chosen), **(play.get('vars') or {})})
    return [found for section in ('pre_tasks', 'tasks', 'post_tasks', 'handlers')
            for found in tasks_proofs(play.get(section), play_site, read)]


def playbook_proofs(path, site, read):
    text = read(path)
    if text is None:
        return [proof(site, 'unresolved', os.path.basename(path), unresolved='no playbook ' + relative(path, site))]
    base = dataclasses.replace(site, file=path, playbook_dir=os.path.dirname(path))
    return [found for play in parse_yaml(text) or [] for found in play_proofs(play, base, read)]


def scenario_proofs(root, scenario, shared_config, read):
    """Every proof of one scenario, numbered, in walk order."""
    molecule_dir = os.path.join(root, 'molecule')
    molecule_text = read(os.path.join(molecule_dir, scenario, 'molecule.yml'))
    config = merged(shared_config, parse_yaml(molecule_text) or {})
    hosts = tuple(platforms(config, make_args_platforms(molecule_text)))
    overrides = (config.get('provisioner') or {}).get('playbooks') or {}
    found = []
    for playbook, path in playbooks_run(config):
        full = os.path.normpath(os.path.join(molecule_dir, scenario, path))
        site = Site(scenario=scenario, playbook=playbook, hosts='all', generations=(), platforms=hosts, config=config,
                    molecule_dir=molecule_dir, playbook_dir=os.path.dirname(full), file=full, env={})
        # Molecule skips a prepare, side_effect or verify playbook that is not there.
        if read(full) is not None or playbook in overrides or playbook == 'converge':
            found.extend(playbook_proofs(full, site, read))
    return numbered(found)


def read_file(path):
    """The edge: a file's text, or None when there is none."""
    try:
        with open(path, encoding='utf-8') as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def extract(root, read=read_file):
    """{scenario: [proof]} for every scenario of the Makefile's SCENARIOS."""
    shared = parse_yaml(read(os.path.join(root, '.config', 'molecule', 'config.yml')) or '') or {}
    return {scenario: scenario_proofs(root, scenario, shared, read)
            for scenario in scenarios_from_makefile(read(os.path.join(root, 'Makefile')))}


# --- the list ----------------------------------------------------------------------------------

def entry(record):
    """What the list holds of a proof: key, kind, generations, the probe's fields, and the rest when present."""
    def present(field, value):
        if field in ('key', 'kind', 'generations'):
            return True
        empty = value is None or value is False or value == [] or value == {}
        return not empty and not (field == 'hosts' and value == 'lab')

    return {field: record.get(field) for field in LISTED_FIELDS if present(field, record.get(field))}


def listed_entries(text):
    """(proofs {key: entry} in list order, retired [entry]) of the list's text."""
    data = parse_yaml(text) if text else None
    data = data or {}
    proofs = {}
    for scenario, entries in (data.get('proofs') or {}).items():
        for listed in entries or []:
            proofs[listed['key']] = dict(listed, scenario=scenario)
    return proofs, list(data.get('retired') or [])


def retirement(retired, key, generation=None):
    """The retired entry that retires `key` (a whole proof, or only its `generation`), or None."""
    for found in retired:
        if not isinstance(found, dict) or not fnmatch.fnmatchcase(key, str(found.get('key'))):
            continue
        generations = found.get('generations') or []
        if (generation is None and not generations) or (generation is not None and generation in generations):
            return found
    return None


def dropped_generations(listed, now, retired):
    """The generations a listed proof lost in the files without a retired entry saying why."""
    return [g for g in listed.get('generations') or [] if g not in (now.get('generations') or [])
            and retirement(retired, listed['key'], g) is None]


def compare(listed, retired, extracted):
    """What differs between the list and the files: a mapping of findings, empty lists when they agree."""
    in_files = {record['key']: entry(record) for records in extracted.values() for record in records}
    changed = [(key, field, listed[key].get(field), now.get(field))
               for key, now in in_files.items() if key in listed
               for field in LISTED_FIELDS if listed[key].get(field) != now.get(field)]
    whole = [r for r in retired if isinstance(r, dict) and not r.get('generations')]
    return {
        'missing_from_list': [key for key in in_files if key not in listed],
        'missing_from_files': [key for key in listed if key not in in_files and retirement(retired, key) is None],
        'weakened': [c for c in changed if c[1] in STRONG_FIELDS],
        'changed': [c for c in changed if c[1] not in STRONG_FIELDS],
        'retired_incomplete': [r.get('key') if isinstance(r, dict) else r for r in retired if not said_why(r)],
        'retired_in_files': sorted(set(key for key in in_files for r in whole
                                       if fnmatch.fnmatchcase(key, str(r.get('key'))))),
        'unresolved': [key for key, now in in_files.items() if now['kind'] == 'unresolved'],
    }


def said_why(retired):
    """Whether a retired entry names its key, the reason it went and what covers it now."""
    return isinstance(retired, dict) and all(str(retired.get(field) or '').strip()
                                             for field in ('key', 'reason', 'covered_by'))


def rendered_proofs(extracted, kept):
    """The `proofs:` section: every proof of the files, then, per scenario, the listed ones that
    disappeared and are not retired yet (kept until they are moved to `retired:` by hand)."""
    section = {}
    for scenario, records in extracted.items():
        section[scenario] = [flowing(entry(record)) for record in records]
    for listed in kept:
        section.setdefault(listed['scenario'], []).append(
            flowing({k: v for k, v in listed.items() if k != 'scenario'}))
    return dump_yaml({'proofs': section})


def flowing(listed):
    """An entry with its generations and loop values written in flow style."""
    out = dict(listed)
    if 'generations' in out:
        out['generations'] = _Flow(out['generations'])
    if isinstance(out.get('loop'), dict):
        out['loop'] = {k: _Flow(v) if isinstance(v, list) else v for k, v in out['loop'].items()}
    return out


def rewritten(text, extracted):
    """(the list's new text, the keys that disappeared from the files and are not retired, and the
    (key, generation) pairs the files lost without a retired entry: those keep their listed
    generations, so that the unit test goes on failing until the loss is retired with its reason)."""
    listed, retired = listed_entries(text)
    vanished = compare(listed, retired, extracted)['missing_from_files']
    dropped, kept = [], {}
    for scenario, records in extracted.items():
        kept[scenario] = []
        for record in records:
            before = listed.get(record['key'])
            lost = dropped_generations(before, record, retired) if before else []
            dropped += [(record['key'], g) for g in lost]
            kept[scenario].append(dict(record, generations=before['generations']) if lost else record)
    start = re.search(r'^proofs:', text or '', re.M)
    head = text[:start.start()] if start else HEADER + '---\nretired: []\n\n'
    return head + rendered_proofs(kept, [listed[key] for key in vanished]), vanished, dropped


# --- reports and main --------------------------------------------------------------------------

def totals(extracted):
    """{scenario: {kind: count}}."""
    return {scenario: {kind: sum(1 for r in records if r['kind'] == kind)
                       for kind in ('probe', 'assert', 'probe-program', 'unresolved')}
            for scenario, records in extracted.items()}


REPORT = (
    ('missing_from_list', '+', 'in the files, not in the list (add it: python tests/molecule_proofs.py --write)'),
    ('missing_from_files', '-', 'in the list, not in the files (a proof disappeared: restore it, or move it to '
                                'retired with reason and covered_by)'),
    ('weakened', '!', 'generations, from, to, port, expect or oracle differ from the list (a weaker or moved proof?)'),
    ('changed', '~', 'details differ from the list (python tests/molecule_proofs.py --write)'),
    ('retired_incomplete', '?', 'retired without reason or covered_by'),
    ('retired_in_files', '=', 'retired, but still in the files'),
    ('unresolved', '?', 'not readable statically'),
)


def report_lines(findings):
    """A diff-style summary: `+ key` only in the files, `- key` only in the list, `! key: field` weaker..."""
    lines = []
    for name, mark, title in REPORT:
        if findings[name]:
            lines.append('%s:' % title)
            lines.extend('%s %s' % (mark, found if isinstance(found, str) else '%s: %s: list %r, files %r' % found)
                         for found in findings[name])
    return lines


def totals_lines(extracted):
    return ['%-12s %4d probes %4d asserts %3d probe-programs%s' % (
        scenario, counts['probe'], counts['assert'], counts['probe-program'],
        ' %d unresolved' % counts['unresolved'] if counts['unresolved'] else '')
        for scenario, counts in totals(extracted).items()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--write', action='store_true', help="rewrite the list's proofs: from the molecule files")
    arguments = parser.parse_args(argv)
    extracted = extract(ROOT)
    path = os.path.join(ROOT, LIST_FILE)
    text = read_file(path)
    if arguments.write:
        new_text, vanished, dropped = rewritten(text, extracted)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(new_text)
        print('\n'.join(totals_lines(extracted)))
        for key in vanished:
            print('disappeared from the files, kept in the list: move it to retired: %s' % key)
        for key, generation in dropped:
            print('no longer runs on %s, kept in the list: retire that generation: %s' % (generation, key))
        return 1 if vanished or dropped else 0
    listed, retired = listed_entries(text)
    lines = report_lines(compare(listed, retired, extracted))
    print('\n'.join(lines + totals_lines(extracted)))
    return 1 if lines else 0


if __name__ == '__main__':
    sys.exit(main())
