# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The list of what the Molecule stage proves (tests/molecule-proofs.yml) is what the molecule files
prove: no proof is added without being listed, none disappears without being moved to `retired:`
with a reason and what covers it now, none runs on fewer generations or expects something else
than listed. The extractor (tests/molecule_proofs.py) is tested on small scenario trees."""

import importlib.util
import os
import textwrap

import pytest

from conftest import ROOT

WRITE = 'python tests/molecule_proofs.py --write'
ALL = ['20.10', '26.1', '28.5', '29.7']


def load_extractor():
    spec = importlib.util.spec_from_file_location('molecule_proofs', os.path.join(ROOT, 'tests', 'molecule_proofs.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


proofs = load_extractor()


# --- the list and the files ---------------------------------------------------------------------

@pytest.fixture(scope='module')
def findings():
    listed, retired = proofs.listed_entries(proofs.read_file(os.path.join(ROOT, proofs.LIST_FILE)))
    return proofs.compare(listed, retired, proofs.extract(ROOT))


def test_every_proof_in_the_files_is_listed(findings):
    assert findings['missing_from_list'] == [], 'add it: ' + WRITE


def test_every_listed_proof_is_in_the_files_or_retired(findings):
    assert findings['missing_from_files'] == [], \
        'a proof disappeared: restore it, or move it to retired with reason and covered_by'


def test_no_listed_proof_is_weaker_in_the_files(findings):
    assert findings['weakened'] == [], \
        ('a proof runs on other generations, or probes another path or expects another outcome, than listed '
         '(key, field, list, files): restore it, or, reviewed, ' + WRITE)


def test_the_listed_details_are_the_files(findings):
    assert findings['changed'] == [], 'the when, loop, chain or filter around a proof changed: ' + WRITE


def test_every_retired_proof_says_why_and_what_covers_it(findings):
    assert findings['retired_incomplete'] == [], 'a retired entry needs key, reason and covered_by'


def test_no_retired_proof_is_still_in_the_files(findings):
    assert findings['retired_in_files'] == [], 'still in the files: take it out of retired'


def test_every_loop_and_include_is_read(findings):
    assert findings['unresolved'] == [], \
        'the extractor cannot read these statically: write the loop as a list or variable, or teach the extractor'


# --- the extractor on small scenario trees ------------------------------------------------------

CONFIG = """\
platforms:
  - &platform {name: bookworm, groups: [lab]}
  - {<<: *platform, name: trixie}
  - {<<: *platform, name: docker28}
  - {<<: *platform, name: docker29}
provisioner:
  inventory:
    host_vars:
      bookworm: {lab_docker_generation: "20.10"}
      trixie: {lab_docker_generation: "26.1"}
      docker28: {lab_docker_generation: "28.5"}
      docker29: {lab_docker_generation: "29.7"}
"""
SEQUENCE = 'scenario:\n  test_sequence: [create, prepare, converge, verify]\n'
PROBE_VARS = """\
      vars: &probe_vars
        probe_label: "{{ item.label }}"
        probe_from: "{{ item.from }}"
        probe_to: "{{ item.to }}"
        probe_port: "{{ item.port }}"
        probe_expect: "{{ item.expect }}"
"""


def scenario_tree(tmp_path, scenarios):
    """A checkout with the given scenarios ({name: {file: text}}), each run on the four platforms."""
    files = {'Makefile': 'SCENARIOS ?= %s\n' % ' '.join(scenarios), '.config/molecule/config.yml': CONFIG,
             'molecule/shared/tasks/probe.yml': '---\n[]\n'}
    for scenario, texts in scenarios.items():
        files['molecule/%s/molecule.yml' % scenario] = SEQUENCE
        files['molecule/%s/converge.yml' % scenario] = '---\n[]\n'
        files.update({'molecule/%s/%s' % (scenario, name): text for name, text in texts.items()})
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path)


def verify_play(tasks, play_vars='', hosts='lab'):
    return '---\n- name: Verify\n  hosts: %s\n%s  tasks:\n%s' % (hosts, play_vars, tasks)


def extracted(tmp_path, scenarios, scenario='s'):
    return proofs.extract(scenario_tree(tmp_path, scenarios))[scenario]


def probes(records):
    return [(r['key'], r.get('from'), r.get('to'), r.get('port'), r.get('expect')) for r in records
            if r['kind'] == 'probe']


def test_anchored_loops_and_their_aliases_are_each_proofs(tmp_path):
    tasks = """\
    - name: Probe the ports
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
""" + PROBE_VARS + """\
      loop: &ports
        - {label: allowed, from: wan1, to: 198.51.100.17, port: 8080, expect: reach}
        - {label: denied, from: wan2, to: "2001:db8:2::1", port: 8080, expect: blocked}
    - name: Probe the ports again
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
      vars: *probe_vars
      loop: *ports
"""
    assert probes(extracted(tmp_path, {'s': {'verify.yml': verify_play(tasks)}})) == [
        ('s/verify: Probe the ports | allowed', 'wan1', '198.51.100.17', 8080, 'reach'),
        ('s/verify: Probe the ports | denied', 'wan2', '2001:db8:2::1', 8080, 'blocked'),
        ('s/verify: Probe the ports again | allowed', 'wan1', '198.51.100.17', 8080, 'reach'),
        ('s/verify: Probe the ports again | denied', 'wan2', '2001:db8:2::1', 8080, 'blocked')]


def test_loops_over_variables_filtered_or_not(tmp_path):
    play_vars = """\
  vars:
    probes:
      - {label: routed, from: lan, to: 198.51.100.18, port: 8000, expect: reach}
      - {label: denied, from: wan2, to: 198.51.100.17, port: 8080, expect: blocked}
"""
    tasks = """\
    - name: All
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
""" + PROBE_VARS + """\
      loop: "{{ probes }}"
    - name: Port 8080
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
      vars: *probe_vars
      loop: "{{ probes | selectattr('port', 'eq', 8080) | list }}"
    - name: Not evaluated
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
      vars: *probe_vars
      loop: "{{ probes | map('combine', {'page': 'x'}) }}"
    - name: From the inventory
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
      vars: *probe_vars
      loop: "{{ group_probes }}"
"""
    molecule = SEQUENCE + """\
provisioner:
  inventory:
    group_vars:
      lab:
        group_probes: [{label: kept, from: wan1, to: 198.51.100.17, port: 8081, expect: reach}]
"""
    records = extracted(tmp_path, {'s': {'molecule.yml': molecule, 'verify.yml': verify_play(tasks, play_vars)}})
    assert [(r['key'], r['filter']) for r in records] == [
        ('s/verify: All | routed', None), ('s/verify: All | denied', None),
        ('s/verify: Port 8080 | denied', None),
        ('s/verify: Not evaluated | routed', "map('combine', {'page': 'x'})"),
        ('s/verify: Not evaluated | denied', "map('combine', {'page': 'x'})"),
        ('s/verify: From the inventory | kept', None)]


def test_each_probe_of_a_batch_is_a_proof(tmp_path):
    play_vars = """\
  vars:
    router_probes:
      - {label: routed, from: lan, to: 198.51.100.18, port: 8000, expect: reach}
      - {label: denied, from: wan2, to: 198.51.100.17, port: 8080, expect: blocked}
"""
    tasks = """\
    - name: Probe after the restart
      ansible.builtin.include_tasks: ../shared/tasks/probes.yml
      vars:
        probes_title: after the restart
        probes: "{{ router_probes + [{'label': 'v6', 'from': 'wan2', 'to': '2001:db8:2::1', 'port': 8080,
                                      'expect': 'blocked'}] }}"
    - name: Probe by hand
      ansible.builtin.command: /usr/local/sbin/labnet probes
"""
    records = extracted(tmp_path, {'s': {'verify.yml': verify_play(tasks, play_vars)}})
    assert [(r['key'], r['kind'], r.get('from'), r.get('port'), r.get('expect')) for r in records] == [
        ('s/verify: Probe after the restart | routed', 'probe', 'lan', 8000, 'reach'),
        ('s/verify: Probe after the restart | denied', 'probe', 'wan2', 8080, 'blocked'),
        ('s/verify: Probe after the restart | v6', 'probe', 'wan2', 8080, 'blocked'),
        ('s/verify: Probe by hand', 'probe-program', None, None, None)]


def test_a_jinja_list_keeps_its_conditions_and_templates(tmp_path):
    tasks = """\
    - name: Premise
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
""" + PROBE_VARS + """\
      loop: >-
        {{ [{'label': 'v4', 'from': 'wan2', 'to': '198.51.100.17', 'port': 8080, 'expect': 'reach'}]
           + ([{'label': 'v6', 'from': 'wan2', 'to': container, 'port': 8081, 'expect': 'reach'}]
              if lab_docker_generation is version('28', '>=') else []) }}
"""
    records = extracted(tmp_path, {'s': {'prepare.yml': verify_play(tasks)}})
    assert [(r['key'], r['to'], r['when']) for r in records] == [
        ('s/prepare: Premise | v4', '198.51.100.17', []),
        ('s/prepare: Premise | v6', '{{ container }}', ["lab_docker_generation is version('28', '>=')"])]


def test_nested_includes_carry_their_loops_conditions_and_chain(tmp_path):
    verify = verify_play("""\
    - name: Each delay
      ansible.builtin.include_tasks: tasks/outer.yml
      when: outer_wanted
      loop: [0.3, 1.0]
      loop_control:
        loop_var: fault_delay
    - name: Not the product's tasks
      ansible.builtin.include_role:
        name: netops.docker_firewall.docker_on_router
""")
    outer = """\
    ---
    - name: Only on 28 and later
      when: lab_docker_generation is version('28', '>=')
      block:
        - name: Go deeper
          ansible.builtin.include_tasks: inner.yml
          vars:
            fault_name: "delay {{ fault_delay }}"
    """
    inner = """\
    ---
    - name: "Assert it held ({{ fault_name }})"
      ansible.builtin.assert:
        that: true
      when: inner_wanted
    - name: Probe once
      ansible.builtin.include_tasks: ../../shared/tasks/probe.yml
      vars: {probe_label: "{{ fault_name }}: denied", probe_from: wan2, probe_to: 198.51.100.17, probe_port: 8080,
             probe_expect: blocked}
    - name: Probe through reloads
      ansible.builtin.command: /usr/local/sbin/firewalld-probe wan2 198.51.100.17 8080 reload
    - name: Read the boot prober's log (no packet)
      ansible.builtin.command: tail -n 1 /var/log/lab-boot-probe.log
    - name: Enable the boot prober
      ansible.builtin.systemd_service: {name: lab-boot-probe.service, enabled: true}
    """
    records = extracted(tmp_path, {'s': {'verify.yml': verify, 'tasks/outer.yml': outer, 'tasks/inner.yml': inner}})
    chain = ['s/verify.yml: Each delay', 's/tasks/outer.yml: Go deeper', 's/tasks/inner.yml']
    around = ['outer_wanted', "lab_docker_generation is version('28', '>=')"]
    assert [(r['key'], r['kind'], r['chain'], r['when'], r['loop']) for r in records] == [
        ('s/verify: Assert it held ({{ fault_name }})', 'assert', chain, around + ['inner_wanted'],
         {'fault_delay': [0.3, 1.0]}),
        ('s/verify: Probe once | {{ fault_name }}: denied', 'probe', chain, around, {'fault_delay': [0.3, 1.0]}),
        ('s/verify: Probe through reloads', 'probe-program', chain, around, {'fault_delay': [0.3, 1.0]}),
        ('s/verify: Enable the boot prober', 'probe-program', chain, around, {'fault_delay': [0.3, 1.0]})]


def test_generations_follow_the_platform_restriction_and_the_hosts_pattern(tmp_path):
    assertion = '    - name: Assert\n      ansible.builtin.assert: {that: true}\n'
    plays = ''.join('- name: Play\n  hosts: %s\n  tasks:\n%s' % (hosts, assertion)
                    for hosts in ('lab', 'docker28:docker29', 'lab:!bookworm', 'bookworm,trixie', 'lab:&docker29'))
    one = {'molecule.yml': '# make-molecule-args: --platform-name docker29\n' + SEQUENCE,
           'verify.yml': verify_play(assertion)}
    found = proofs.extract(scenario_tree(tmp_path, {'fleet': {'verify.yml': '---\n' + plays}, 'one': one}))
    assert [(r['hosts'], r['generations']) for r in found['fleet']] == [
        ('lab', ALL), ('docker28:docker29', ['28.5', '29.7']), ('lab:!bookworm', ['26.1', '28.5', '29.7']),
        ('bookworm,trixie', ['20.10', '26.1']), ('lab:&docker29', ['29.7'])]
    assert [r['generations'] for r in found['one']] == [['29.7']]


def test_two_platforms_of_one_generation_are_told_apart(tmp_path):
    molecule = SEQUENCE + """\
platforms:
  - {name: replay-ipt, groups: [lab]}
  - {name: replay-nft, groups: [lab]}
  - {name: plain, groups: [lab]}
provisioner:
  inventory:
    host_vars:
      replay-ipt: {lab_docker_generation: "29.7"}
      replay-nft: {lab_docker_generation: "29.7"}
"""
    assertion = '    - name: Assert\n      ansible.builtin.assert: {that: true}\n'
    records = extracted(tmp_path, {'s': {'molecule.yml': molecule, 'verify.yml': verify_play(assertion)}})
    assert records[0]['generations'] == ['29.7 (replay-ipt)', '29.7 (replay-nft)', '? (plain)']


def test_a_repeated_key_is_numbered_in_walk_order(tmp_path):
    tasks = """\
    - name: First
      ansible.builtin.include_tasks: tasks/held.yml
    - name: Second
      ansible.builtin.include_tasks: tasks/held.yml
"""
    held = '---\n- name: Assert it held\n  ansible.builtin.assert: {that: true}\n'
    records = extracted(tmp_path, {'s': {'verify.yml': verify_play(tasks), 'tasks/held.yml': held}})
    assert [(r['key'], r['chain'][0]) for r in records] == [
        ('s/verify: Assert it held', 's/verify.yml: First'), ('s/verify: Assert it held #2', 's/verify.yml: Second')]


def test_only_the_playbooks_molecule_runs_are_read(tmp_path):
    assertion = '    - name: Assert\n      ansible.builtin.assert: {that: true}\n'
    molecule = ('scenario:\n  test_sequence: [create, prepare, check, destroy]\n'
                'provisioner:\n  playbooks:\n    prepare: ../other/prepare.yml\n')
    scenarios = {'s': {'molecule.yml': molecule, 'converge.yml': verify_play(assertion),
                       'verify.yml': verify_play(assertion)},
                 'other': {'prepare.yml': verify_play(assertion)}}
    assert [r['key'] for r in extracted(tmp_path, scenarios)] == ['s/prepare: Assert', 's/converge: Assert']


def test_what_cannot_be_read_is_recorded_unresolved(tmp_path):
    tasks = """\
    - name: Unknown loop
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
      loop: "{{ probes_from_somewhere }}"
    - name: Templated include
      ansible.builtin.include_tasks: "tasks/{{ fault }}.yml"
"""
    records = extracted(tmp_path, {'s': {'verify.yml': verify_play(tasks)}})
    assert [(r['key'], r['kind'], r['unresolved']) for r in records] == [
        ('s/verify: Unknown loop', 'unresolved', 'loop {{ probes_from_somewhere }}'),
        ('s/verify: Templated include', 'unresolved', 'include of tasks/{{ fault }}.yml')]


# --- the checker on small scenario trees --------------------------------------------------------

TWO_PROBES = """\
    - name: Probe
      ansible.builtin.include_tasks: ../shared/tasks/probe.yml
""" + PROBE_VARS + """\
      loop:
        - {label: allowed, from: wan1, to: 198.51.100.17, port: 8080, expect: reach}
        - {label: denied, from: wan2, to: 198.51.100.17, port: 8080, expect: blocked}
"""
RETIRED = """\
  - key: 's/verify: Probe | denied'
    reason: moved
    covered_by: 's/verify: Probe | denied elsewhere'
"""


def listed_now(tmp_path, tasks, retired=''):
    """The list as --write makes it from a tree with these verify tasks, with retired entries added."""
    text, vanished, dropped = proofs.rewritten(None, proofs.extract(scenario_tree(tmp_path / 'before', {'s': {
        'verify.yml': verify_play(tasks)}})))
    assert vanished == [] and dropped == []
    return text.replace('retired: []\n', 'retired:\n' + retired if retired else 'retired: []\n')


def findings_after(tmp_path, text, tasks, molecule=SEQUENCE):
    listed, retired = proofs.listed_entries(text)
    after = proofs.extract(scenario_tree(tmp_path / 'after', {'s': {'verify.yml': verify_play(tasks),
                                                                    'molecule.yml': molecule}}))
    return {name: found for name, found in proofs.compare(listed, retired, after).items() if found}


def test_the_list_as_written_agrees_with_the_files(tmp_path):
    assert findings_after(tmp_path, listed_now(tmp_path, TWO_PROBES), TWO_PROBES) == {}


def test_a_proof_that_disappears_is_kept_until_retired(tmp_path):
    one_probe = TWO_PROBES.split('        - {label: denied', maxsplit=1)[0]
    text = listed_now(tmp_path, TWO_PROBES)
    assert findings_after(tmp_path, text, one_probe) == {'missing_from_files': ['s/verify: Probe | denied']}
    rewritten, vanished, _dropped = proofs.rewritten(text, proofs.extract(str(tmp_path / 'after')))
    assert vanished == ['s/verify: Probe | denied'] and 'denied' in rewritten
    assert findings_after(tmp_path, listed_now(tmp_path, TWO_PROBES, RETIRED), one_probe) == {}


def test_a_retired_proof_needs_a_reason_and_what_covers_it(tmp_path):
    text = listed_now(tmp_path, TWO_PROBES, RETIRED.replace("    covered_by: 's/verify: Probe | denied elsewhere'\n",
                                                            ''))
    assert findings_after(tmp_path, text, TWO_PROBES) == {'retired_incomplete': ['s/verify: Probe | denied'],
                                                          'retired_in_files': ['s/verify: Probe | denied']}


def test_a_proof_on_fewer_generations_or_with_another_outcome_is_weaker(tmp_path):
    text = listed_now(tmp_path, TWO_PROBES)
    molecule = '# make-molecule-args: --platform-name docker29\n' + SEQUENCE
    assert findings_after(tmp_path, text, TWO_PROBES.replace('expect: blocked', 'expect: reach'), molecule) == {
        'weakened': [('s/verify: Probe | allowed', 'generations', ALL, ['29.7']),
                     ('s/verify: Probe | denied', 'generations', ALL, ['29.7']),
                     ('s/verify: Probe | denied', 'expect', 'blocked', 'reach')]}


def test_a_batch_held_to_the_oracle_says_so_and_one_that_no_longer_is_weaker(tmp_path):
    batch = """\
    - name: Probe the batch
      ansible.builtin.include_tasks: ../shared/tasks/probes.yml
      vars:
        probes_title: the batch
        probes:
          - {label: routed, from: lan, to: 198.51.100.18, port: 8000, expect: reach}
        probes_oracle: "{{ answer }}"
"""
    records = extracted(tmp_path / 'tree', {'s': {'verify.yml': verify_play(batch)}})
    assert [(r['key'], r['oracle']) for r in records] == [('s/verify: Probe the batch | routed', True)]
    text = listed_now(tmp_path, batch)
    assert '      oracle: true\n' in text
    without = batch.replace('        probes_oracle: "{{ answer }}"\n', '')
    assert findings_after(tmp_path, text, without) == {
        'weakened': [('s/verify: Probe the batch | routed', 'oracle', True, None)]}


def test_a_pattern_retires_every_proof_it_matches(tmp_path):
    retired = "  - key: 's/verify: Probe | *'\n    reason: the scenario went\n    covered_by: 't/verify: Probe'\n"
    assert findings_after(tmp_path, listed_now(tmp_path, TWO_PROBES, retired), '') == {}
    assert findings_after(tmp_path, listed_now(tmp_path, TWO_PROBES, retired), TWO_PROBES) == {
        'retired_in_files': ['s/verify: Probe | allowed', 's/verify: Probe | denied']}


def test_a_generation_lost_is_kept_by_write_until_retired_for_that_generation(tmp_path):
    text = listed_now(tmp_path, TWO_PROBES)
    molecule = '# make-molecule-args: --platform-name docker29\n' + SEQUENCE
    after = proofs.extract(scenario_tree(tmp_path / 'after', {'s': {'verify.yml': verify_play(TWO_PROBES),
                                                                    'molecule.yml': molecule}}))
    rewritten, vanished, dropped = proofs.rewritten(text, after)
    assert vanished == [] and dropped == [('s/verify: Probe | %s' % label, g) for label in ('allowed', 'denied')
                                          for g in ALL if g != '29.7']
    assert proofs.listed_entries(rewritten)[0]['s/verify: Probe | denied']['generations'] == ALL
    retired = ("  - key: 's/verify: Probe | *'\n    generations: %s\n    reason: one platform left\n"
               "    covered_by: unit tests\n" % [g for g in ALL if g != '29.7'])
    rewritten, vanished, dropped = proofs.rewritten(listed_now(tmp_path, TWO_PROBES, retired), after)
    assert dropped == [] and proofs.listed_entries(rewritten)[0]['s/verify: Probe | denied']['generations'] == ['29.7']
    assert findings_after(tmp_path, rewritten, TWO_PROBES, molecule) == {}


def test_a_new_proof_must_be_listed(tmp_path):
    more = TWO_PROBES + '    - name: Assert more\n      ansible.builtin.assert: {that: true}\n'
    assert findings_after(tmp_path, listed_now(tmp_path, TWO_PROBES), more) == {
        'missing_from_list': ['s/verify: Assert more']}


def test_write_keeps_the_header_and_the_retired_section(tmp_path):
    text = '# our header\n---\nretired:\n' + RETIRED + '\nproofs:\n  s: []\n'
    rewritten, _vanished, _dropped = proofs.rewritten(text, proofs.extract(scenario_tree(tmp_path, {'s': {
        'verify.yml': verify_play(TWO_PROBES)}})))
    assert rewritten.startswith('# our header\n---\nretired:\n' + RETIRED + '\nproofs:\n  s:\n    - key:')
    assert list(proofs.listed_entries(rewritten)[0]) == ['s/verify: Probe | allowed', 's/verify: Probe | denied']
