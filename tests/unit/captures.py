# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one reader of the captures under tests/unit/fixtures (real iptables-save, nft and docker
output of the lab's hosts). Every test reads them through it, as `from captures import capture`."""

import glob
import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def fixture(*parts):
    """The text of the file tests/unit/fixtures/PARTS (a path that fixtures() found stays as it is)."""
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def capture(suite, name):
    """The text of tests/unit/fixtures/docker-iptables/SUITE/NAME.txt."""
    return fixture('docker-iptables', suite, name + '.txt')


def fixtures(*pattern):
    """The paths of the files under tests/unit/fixtures that match PATTERN, sorted."""
    return sorted(glob.glob(os.path.join(FIXTURES, *pattern)))


def firewalld(case, name):
    """The text of tests/unit/fixtures/firewalld/CASE/NAME: real firewall-cmd output and firewalld.conf
    (see the README there)."""
    return fixture('firewalld', case, name)
