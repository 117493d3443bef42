# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the pip bootstrap script that ansible-test downloads from a host our machines
cannot reach. `make sanity` puts it into ansible-test's cache. It installs pip from the wheel
bundled with the interpreter (ensurepip), then runs pip with the arguments ansible-test gave,
which fetch the requested pip release from the package index. Like get-pip, it installs: the
get-pip-only flags --no-setuptools and --no-wheel are dropped."""

import ensurepip
import importlib
import os
import runpy
import sys

ensurepip.bootstrap(upgrade=False, default_pip=True)
# ensurepip points pip at an empty configuration; the machine's pip.conf (index, CA) must apply.
os.environ.pop('PIP_CONFIG_FILE', None)
importlib.invalidate_caches()
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')
sys.argv = ['pip', 'install'] + [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
runpy.run_module('pip', run_name='__main__', alter_sys=True)
