# SPDX-License-Identifier: GPL-3.0-or-later
"""Headless Chromium for the checks that need a real browser (the compliance report's HTML, the
packet-flow diagrams): the DOM Chromium built for a page, after its scripts ran."""

import shutil
import subprocess
import sys


def dump_dom(path, who, expect):
    """The DOM of the local file `path` as Chromium serialises it after loading. Exits with a
    message prefixed by `who` when Chromium is missing, fails, or the DOM lacks `expect`."""
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    if not browser:
        sys.exit('%s: chromium is not installed (tests/lab/bootstrap-host.sh installs it)' % who)
    done = subprocess.run([browser, '--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', 'file://' + path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                          check=False)
    if done.returncode != 0 or expect not in done.stdout:
        sys.exit('%s: chromium rendered nothing (rc %d): %s' % (who, done.returncode, done.stderr[-2000:]))
    return done.stdout
