# -*- coding: utf-8 -*-
# Copyright: contributors to netops.docker_firewall
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet compliance report's files, rendered on the controller from the report the compliance_report
filter builds: JSON, Markdown, a self-contained HTML page and JUnit XML. Private to this collection; the
compliance_report_files action plugin writes them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import jinja2

# Format: the file written.
FILES = dict(json='compliance.json', markdown='compliance.md', html='compliance.html', junit='compliance.junit.xml')

# Jinja templates of the text formats, the report in `report`, rendered as Ansible's template module would
# (blocks trimmed, the last newline kept).
TEMPLATES = dict(
    markdown=r'''# Docker firewall compliance

{{ report.totals.compliant }} of {{ report.totals.hosts }} hosts compliant{{ '' if report.compliant else ' - the fleet drifted' }}.

| host | profile | result | failed checks |
|---|---|---|---|
{% for host in report.hosts %}
| {{ host.name }} | {{ host.profile | default('-', true) }} | {{ 'compliant' if host.compliant else '**drifted**' }} | {{
  host.failed | join(', ') if host.failed else (host.error | default('', true)) }} |
{% endfor %}
{% for host in report.hosts | rejectattr('compliant') %}

## {{ host.name }}
{% if host.error %}

{{ host.error }}
{% endif %}
{% for check in host.checks | selectattr('status', 'eq', 'fail') %}

- **{{ check.id }}** ({{ check.title }})
{% for detail in check.details %}
  - `{{ detail }}`
{% endfor %}
{% endfor %}
{% endfor %}
''',
    html=r'''<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Docker firewall compliance</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
  table { border-collapse: collapse; }
  th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: center; }
  th.host, td.host { text-align: left; }
  th.check { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; }
  td.pass { background: #d8f0d8; }
  td.fail { background: #f6c6c6; font-weight: bold; }
  td.skip { color: #999; }
  td.error { background: #f6c6c6; }
  .summary.ok { color: #1a6b1a; } .summary.drift { color: #a31515; }
  section.host { margin-top: 1.5em; }
  code { white-space: pre-wrap; }
</style>
</head>
<body>
<h1>Docker firewall compliance</h1>
<p class="summary {{ 'ok' if report.compliant else 'drift' }}" id="summary">{{ report.totals.compliant }} of {{ report.totals.hosts }} hosts compliant</p>
<table id="grid">
<thead>
<tr><th class="host">host</th><th>profile</th>{% for check in report.checks
  %}<th class="check" title="{{ check.title | e }}">{{ check.id }}</th>{% endfor %}</tr>
</thead>
<tbody>
{% for host in report.hosts %}
<tr data-host="{{ host.name | e }}">
<td class="host"><a href="#host-{{ host.name | e }}">{{ host.name | e }}</a></td><td>{{ host.profile | default('', true) | e }}</td>
{% if host.error %}
<td class="error" colspan="{{ report.checks | length }}">{{ host.error | e }}</td>
{% else %}
{% for check in host.checks %}<td class="{{ check.status }}" data-check="{{ check.id }}" title="{{
  check.details | join('\n') | e }}">{{ {'pass': 'ok', 'fail': 'DRIFT', 'skip': '-'}[check.status] }}</td>{% endfor %}
{% endif %}
</tr>
{% endfor %}
</tbody>
</table>
{% for host in report.hosts | rejectattr('compliant') %}
<section class="host" id="host-{{ host.name | e }}">
<h2>{{ host.name | e }}</h2>
{% if host.error %}<p>{{ host.error | e }}</p>{% endif %}
{% for check in host.checks | selectattr('status', 'eq', 'fail') %}
<h3>{{ check.id }}: {{ check.title | e }}</h3>
<ul>{% for detail in check.details %}<li><code>{{ detail | e }}</code></li>{% endfor %}</ul>
{% endfor %}
</section>
{% endfor %}
</body>
</html>
''',
    junit=r'''<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="docker firewall compliance" tests="{{ report.hosts | map(attribute='checks') | map('length') | sum
  }}" failures="{{ report.totals.failed_checks }}">
{% for host in report.hosts %}
  <testsuite name="{{ host.name | e }}" tests="{{ host.checks | length }}" failures="{{ host.failed | length
  }}" errors="{{ 1 if host.error else 0 }}" skipped="{{ host.checks | selectattr('status', 'eq', 'skip') | list | length }}">
{% if host.error %}
    <testcase classname="{{ host.name | e }}" name="reachable"><error message="{{ host.error | e }}"/></testcase>
{% endif %}
{% for check in host.checks %}
    <testcase classname="{{ host.name | e }}.{{ host.profile | e }}" name="{{ check.id }}">
{% if check.status == 'fail' %}
      <failure message="{{ check.title | e }}">{{ check.details | join('\n') | e }}</failure>
{% elif check.status == 'skip' %}
      <skipped message="{{ check.details | join('; ') | e }}"/>
{% endif %}
    </testcase>
{% endfor %}
  </testsuite>
{% endfor %}
</testsuites>
''',
)


_ENVIRONMENT = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                  autoescape=False)


def render(report, file_format):
    """The text of one format of the report."""
    if file_format == 'json':
        return json.dumps(report, indent=2, sort_keys=True, separators=(',', ': '), ensure_ascii=False) + '\n'
    return _ENVIRONMENT.from_string(TEMPLATES[file_format]).render(report=report)
