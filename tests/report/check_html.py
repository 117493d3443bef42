#!/usr/bin/env python
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render the compliance HTML report in headless Chromium and check what the page shows.

  check_html.py REPORT.html EXPECTED_JSON

EXPECTED_JSON: {"summary": "1 of 3 hosts compliant", "drift": {"host": ["check", ...], ...}}.
The DOM Chromium built is read back (not the file's text): the grid must show DRIFT in exactly
the expected (host, check) cells, "ok" or "-" everywhere else, a details section for exactly
the drifted hosts, and the expected summary line. Exit status 1 on any difference."""

import json
import sys
from html.parser import HTMLParser

from headless_chromium import dump_dom


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells = {}  # (host, check) -> text shown
        self.sections = []
        self.summary = None
        self._row = None
        self._cell = None
        self._summary = False
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'tr' and 'data-host' in attrs:
            self._row = attrs['data-host']
        elif tag == 'td' and self._row and 'data-check' in attrs:
            self._cell = (self._row, attrs['data-check'])
            self._text = []
        elif tag == 'section' and 'host' in (attrs.get('class') or '').split():
            self.sections.append(attrs['id'][len('host-'):])
        elif tag == 'p' and attrs.get('id') == 'summary':
            self._summary = True
            self._text = []

    def handle_endtag(self, tag):
        if tag == 'td' and self._cell:
            self.cells[self._cell] = ''.join(self._text).strip()
            self._cell = None
        elif tag == 'tr':
            self._row = None
        elif tag == 'p' and self._summary:
            self.summary = ''.join(self._text).strip()
            self._summary = False

    def handle_data(self, data):
        if self._cell or self._summary:
            self._text.append(data)


def render(path):
    return dump_dom(path, 'check_html', '<table')


def main():
    path, expected = sys.argv[1], json.loads(sys.argv[2])
    page = Page()
    page.feed(render(path))
    shown = sorted((host, check) for (host, check), text in page.cells.items() if text == 'DRIFT')
    wanted = sorted((host, check) for host, checks in expected['drift'].items() for check in checks)
    problems = []
    if not page.cells:
        problems.append('the page shows no grid cells')
    if shown != wanted:
        problems.append('DRIFT cells shown %s, expected %s' % (shown, wanted))
    others = set(text for cell, text in page.cells.items() if text != 'DRIFT')
    if not others <= {'ok', '-'}:
        problems.append('unexpected cell texts: %s' % sorted(others))
    if sorted(page.sections) != sorted(host for host, checks in expected['drift'].items() if checks):
        problems.append('details sections for %s' % sorted(page.sections))
    if page.summary != expected['summary']:
        problems.append('summary %r, expected %r' % (page.summary, expected['summary']))
    if problems:
        sys.exit('check_html: ' + '; '.join(problems))
    print('check_html: %d cells rendered, DRIFT in %s, summary %r' % (len(page.cells), shown, page.summary))


if __name__ == '__main__':
    main()
