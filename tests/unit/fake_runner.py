# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one fake runner of the unit tests: an ordered script of the exact commands a module (through
AnsibleModule.run_command, tests/unit/plugins/modules/conftest.py) or a host program (through
HostRunner, plugins/module_utils/_host/_host_runner.py: get_bin_path, run_command, warn, say) must run.
Each Call gives the argv, the exact stdin the command is fed, how it is run (binary_data,
environ_update), what it answers and, if need be, what must hold on the host when it runs; a
command nobody scripted, or the next one run with another argv, stdin, option or environment, fails
the test at once, naming it. What a program said and warned is recorded.

Plain classes and one helper, no fixtures, imported as `from fake_runner import Call, FakeRunner`.
tests/unit/conftest.py has pytest rewrite its asserts, which shows what differs."""

import time

from ansible_collections.netops.docker_firewall.plugins.module_utils._host import _host_lock

# How every iptables, nft and docker command is run: in the C locale.
C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}
# Call's default environ_update, which stands for C_LOCALE (a dict is no default argument).
_IN_THE_C_LOCALE = object()
# Where HostRunner.get_bin_path looks besides PATH, as its error for a missing tool says.
_SBIN = '/sbin, /usr/sbin, /usr/local/sbin'


class Call:
    """One expected command: argv, the stdin it is fed (None: none), how it is run, and its answer.

    Unless given, binary_data is False (run_command's default) and environ_update the C locale:
    a command run otherwise (an iptables-save with binary_data, systemctl with no environ_update)
    says so. holds: a function of no argument, true when the host is as the command needs it (a unit
    file still there when systemctl stops it)."""

    def __init__(self, argv, data=None, rc=0, stdout='', stderr='', binary_data=False, environ_update=_IN_THE_C_LOCALE,
                 holds=None):
        environ = dict(C_LOCALE) if environ_update is _IN_THE_C_LOCALE else environ_update
        self.expected = (list(argv), data, binary_data, environ)
        self.answer = (rc, stdout, stderr)
        self.holds = holds

    @property
    def argv(self):
        return self.expected[0]

    @property
    def data(self):
        return self.expected[1]


class Unstated:
    """A value a Call leaves unstated, said so where it stands: an argument the module chooses (a
    temporary file's name). Equal to any value `test` accepts. A payload is never one: every write
    states its stdin."""

    def __init__(self, what, test=lambda value: True):
        self.what = what
        self.test = test

    def __eq__(self, other):
        return self.test(other)

    def __ne__(self, other):
        return not self.test(other)

    def __repr__(self):
        return '<%s>' % self.what


def Tool(argv, **call):
    """A Call of iptables, ip6tables, ipset or nft as the modules run them (IptablesHost): stdin and
    output as bytes (binary_data), in the C locale."""
    return Call(argv, binary_data=True, **call)


class FakeRunner:
    """HostRunner's interface over `script`, a list of Calls run in that order.

    get_bin_path finds every tool of `tools` (name: path) but those `missing`, and for a required
    one it cannot find fails as the HostRunner named `name` does. run_command checks each command
    against the next Call of the script and answers as it says. ran: every command run, as
    (argv, data, binary_data, environ_update), the form of Call.expected; first_call_at: when the
    first one was run (time.monotonic()); said, warned: the messages, in order."""

    def __init__(self, script, tools=None, name=None, missing=()):
        self.pending = list(script)
        self.tools = tools or {}
        self.name = name
        self.missing = missing
        self.ran = []
        self.first_call_at = None
        self.said = []
        self.warned = []

    def get_bin_path(self, arg, required=False):
        if arg in self.tools and arg not in self.missing:
            return self.tools[arg]
        if required:
            raise OSError('%s: %s not found in PATH or %s' % (self.name, arg, _SBIN))
        return None

    def run_command(self, args, data=None, binary_data=False, environ_update=None):
        call = (list(args), data, binary_data, environ_update)
        if self.first_call_at is None:
            self.first_call_at = time.monotonic()
        self.ran.append(call)
        assert self.pending, 'a command nobody scripted: %r' % (call,)
        expected = self.pending.pop(0)
        assert call == expected.expected
        if expected.holds is not None:
            assert expected.holds(), 'the host is not as %r needs it' % (call[0],)
        return expected.answer

    def warn(self, message):
        self.warned.append(message)

    def say(self, message):
        self.said.append(message)


def record_host_lock(monkeypatch, commands_run):
    """Record each take and release of the host lock (plugins/module_utils/_host/_host_lock.py), in order,
    as ('taken', holder, n) and ('released', n), n: how many commands the fake runner had run then
    (len(commands_run())). A lock taken again by its holder is no take. Returns the list of events.

    The runner's command order and these events together show what ran under the lock: a whole run
    under it is exactly [('taken', holder, 0), ('released', number of commands)]."""
    events = []
    take, release = _host_lock._take, _host_lock._release

    def taken(path, holder, *args):
        fd, waited = take(path, holder, *args)
        events.append(('taken', holder, len(commands_run())))
        return fd, waited

    def released(fd):
        events.append(('released', len(commands_run())))
        release(fd)

    monkeypatch.setattr(_host_lock, '_take', taken)
    monkeypatch.setattr(_host_lock, '_release', released)
    return events
