# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a module's own Python spends its time, without a host: prints figures, asserts nothing.

`python tests/bench/profile_modules.py [converged] [info] [--profile N]` (from the checkout, with the
venv's python: `make collection` first).

- converged: a converged run of docker_user_allowlist with N = 10,000 and 50,000 sources from a
  sources_file (four fifths IPv4, the rest IPv6, none merging, as `make bench` declares them), on Docker's
  iptables backend (sets) and its nftables backend (our table): on the controller, the action plugin's
  reading and checking of the file; on the host, main() answered by a fake runner with the converged
  host, once taking the full path (no record) and once proven by the record of the run before
  (_converged). CPU seconds, median of five; the commands run; the result's size.
- info: docker_firewall_info's main() on captured hosts (a light host with no Docker, as
  `make bench-compliance` starts them; a Docker 28 router with and without reachability): the
  commands it runs, its CPU time, and what importing it costs an interpreter that compiles it from
  source, as AnsiballZ runs it.

`--profile N` prints cProfile's N costliest calls (cumulative) of each run measured.
"""

import contextlib
import cProfile
import io
import ipaddress
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
sys.path[:0] = [COLLECTIONS, os.path.join(ROOT, 'tests', 'unit')]

# pylint: disable=wrong-import-position
from ansible.module_utils import _internal, basic  # noqa: E402
from ansible.module_utils.common.json import Direction, get_module_encoder  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from captures import capture  # noqa: E402
from fake_runner import Call  # noqa: E402
from plugins.module_utils.test_ipset import saved_by_ipset  # noqa: E402
from plugins.modules.test_docker_firewall_info import DEFAULT_BRIDGE, ROUTED_V6, commands  # noqa: E402
from plugins.modules.test_docker_firewall_info_ipsets import with_docker_user  # noqa: E402
from plugins.modules.test_docker_firewall_info_reachability import ALLOWLIST, IP_ADDR, LINKS, WEB  # noqa: E402
from plugins.modules.test_docker_user_modules import save_with  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._module import _docker_user_module  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _firewall_info_host, _host_lock, _iptables_host  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine import _layout, _nft  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._blocks import allowlist_block  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._chain_plan import plan_chain  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.module_utils._engine._sources import declared_sources  # noqa: E402
from ansible_collections.netops.docker_firewall.plugins.modules import (  # noqa: E402
    docker_firewall_info,
    docker_user_allowlist,
)
from ansible_collections.netops.docker_firewall.plugins.plugin_utils._sources_file import (  # noqa: E402
    read_text,
    with_file_entries,
)

INTERFACE = 'bench0'
SIZES = (10000, 50000)
DOCKER28_V4 = capture('sid', 'q2-published-default.iptables-save')
DOCKER28_V6 = capture('sid', 'q2-published-default.ip6tables-save')
TOP = int(sys.argv[sys.argv.index('--profile') + 1]) if '--profile' in sys.argv else 0


def sources(count):
    """As tests/bench/run.py's scale_sources: four fifths IPv4, every other address, the rest IPv6."""
    count4 = count * 4 // 5
    return ([str(ipaddress.ip_address('198.18.0.0') + 2 * i) for i in range(count4)]
            + [str(ipaddress.ip_address('2001:db8:b::') + 2 * i) for i in range(count - count4)])


class Host:
    """run_command answering each command from {argv: (rc, stdout, stderr)}, recording what ran."""

    def __init__(self, answers):
        self.answers = answers
        self.ran = []

    def run_command(self, args, data=None, binary_data=False, environ_update=None):
        self.ran.append(list(args))
        if data is not None:
            raise AssertionError('a write, in a run meant to read only: %r' % (args,))
        return self.answers[tuple(args)]


def converged_host(entries, backend):
    """{argv: answer} of a host holding the allowlist of `entries` as written."""
    block = allowlist_block(INTERFACE, entries)
    name = block.name
    if backend == 'nftables':
        return {('/usr/sbin/nft', 'list', 'table', _nft.FAMILY, _nft.TABLE): (0, _nft.render(_nft.plan_table(None, {name: block})), ''),
                ('/usr/sbin/iptables-nft-save',): (0, capture('docker29', 'n3-switched-after-reboot.iptables-save'), '')}
    return {('/usr/sbin/iptables-nft-save',): (0, save_with(plan_chain([], 'ipv4', {name: block}), DOCKER28_V4), ''),
            ('/usr/sbin/ip6tables-nft-save',): (0, save_with(plan_chain([], 'ipv6', {name: block}), DOCKER28_V6), ''),
            ('/usr/sbin/ipset', 'save'): (0, saved_by_ipset(list(block.sets.values()), hashsize=16384), '')}


def run_main(main, args, host):
    """Run a module's main() against `host`; its printed result."""
    basic.AnsibleModule.run_command = host.run_command
    basic.AnsibleModule.get_bin_path = lambda self, name, required=False, opt_dirs=None: (
        None if name in getattr(host, 'missing', ()) else '/usr/sbin/' + name)
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit:
            pass
    return out.getvalue()


def cpu(function, times=5):
    """(median CPU seconds of `times` calls, the last call's value)."""
    samples, value = [], None
    for _time in range(times):
        started = time.process_time()
        value = function()
        samples.append(time.process_time() - started)
    return sorted(samples)[times // 2], value


def profiled(function):
    if TOP:
        profile = cProfile.Profile()
        profile.enable()
        function()
        profile.disable()
        pstats.Stats(profile, stream=sys.stdout).sort_stats('cumulative').print_stats(TOP)


def converged(work):
    encoder = get_module_encoder('legacy', Direction.CONTROLLER_TO_MODULE)
    records = os.path.join(work, 'converged')
    _docker_user_module.CONVERGED_DIR = records
    for count in SIZES:
        path = os.path.join(work, 'sources-%d.txt' % count)
        entries = sources(count)
        with open(path, 'w') as handle:
            handle.write(''.join(entry + '\n' for entry in entries))
        seconds, args = cpu(lambda: with_file_entries(dict(interface=INTERFACE, sources_file=path), '', read_text, print))
        encoded, _text = cpu(lambda: json.dumps(args, cls=encoder))
        print('N=%d controller: sources_file read and checked %.3f s, arguments encoded %.3f s (%d bytes)'
              % (count, seconds, encoded, len(json.dumps(args))))
        entries = declared_sources('', args.get('sources'), args.get('sources_text'))
        for backend in ('iptables', 'nftables'):
            daemon = os.path.join(work, 'daemon-%s.json' % backend)
            with open(daemon, 'w') as handle:
                json.dump({'userland-proxy': False, 'firewall-backend': backend}, handle)
            host = Host(converged_host(entries, backend))
            module_args = dict(args, daemon_json=daemon, _ansible_check_mode=False, _ansible_diff=False)

            def full():
                shutil.rmtree(records, ignore_errors=True)
                return run_main(docker_user_allowlist.main, module_args, host)

            def proven():
                return run_main(docker_user_allowlist.main, module_args, host)

            for label, function in (('full path', full), ('proven by the record', proven)):
                function()  # imports, and the record the next run finds
                host.ran = []
                seconds, out = cpu(function)
                result = json.loads(out)
                assert result.get('changed') is False, result.get('msg')
                print('N=%d %s, %s: main() %.3f s; commands %s; result %d bytes'
                      % (count, backend, label, seconds, sorted(set(' '.join(argv[0].rsplit('/', 1)[-1:] + argv[1:])
                                                                    for argv in host.ran)), len(out)))
                profiled(function)


def info_hosts():
    light = [call for call in commands(DOCKER28_V4, '') if call.argv[0].endswith(('-save', 'nft'))]
    router = commands(with_docker_user(DOCKER28_V4, ALLOWLIST.rules['ipv4']), DOCKER28_V6, containers=[WEB],
                      networks=[DEFAULT_BRIDGE, ROUTED_V6])
    return [('light host (no Docker; make bench-compliance)', light, ('dockerd', 'docker', 'ipset', 'ip'), False),
            ('Docker 28 router, reachability (profile docker_on_router)', router + [Call(IP_ADDR, stdout=json.dumps(LINKS))],
             (), True),
            ('Docker 28 router, no reachability', router, (), False)]


def info(work):
    _layout.STATE_DIR = os.path.join(work, 'state')
    _firewall_info_host.read_flag = lambda path: True
    daemon = os.path.join(work, 'daemon.json')
    with open(daemon, 'w') as handle:
        handle.write('{"userland-proxy": false}')
    for label, table, missing, reachability in info_hosts():
        host = Host(dict((tuple(call.argv), call.answer) for call in table))
        # firewalld installed and stopped, as on the lab images: one systemctl call says so.
        host.answers[('/usr/sbin/systemctl', 'is-active', 'firewalld.service')] = (3, 'inactive\n', '')
        host.missing = missing
        args = dict(daemon_json=daemon, reachability=reachability, _ansible_check_mode=True)

        def function():
            host.ran = []
            return run_main(docker_firewall_info.main, args, host)

        function()
        seconds, out = cpu(function, 7)
        print('info, %s: main() %.4f s; result %d bytes; %d commands:' % (label, seconds, len(out), len(host.ran)))
        for argv in host.ran:
            print('    ' + ' '.join(argv))
        profiled(function)
    for label, code in (('ansible.module_utils.basic (what ping imports)', 'import ansible.module_utils.basic'),
                        ('docker_firewall_info, after basic', 'import ansible.module_utils.basic; import '
                         'ansible_collections.netops.docker_firewall.plugins.modules.docker_firewall_info')):
        samples = []
        for _sample in range(9):
            done = subprocess.run([sys.executable, '-X', 'importtime', '-c', code], stderr=subprocess.PIPE, check=True,
                                  universal_newlines=True,
                                  env=dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONPYCACHEPREFIX=tempfile.mkdtemp(dir=work)))
            last = [line for line in done.stderr.splitlines() if line.startswith('import time:')][-1]
            samples.append(int(last.split('|')[1]) / 1e6)
        print('import of %s, compiled from source: %.3f s (median of 9)' % (label, sorted(samples)[4]))


def main():
    _internal.is_controller = False
    _iptables_host.IptablesHost.legacy_tables_exist = staticmethod(lambda family: False)
    sections = [name for name in ('converged', 'info') if name in sys.argv] or ['converged', 'info']
    work = tempfile.mkdtemp(prefix='profile-modules-')
    _host_lock.HOST_LOCK = os.path.join(work, 'lock')
    try:
        for section in sections:
            globals()[section](work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
