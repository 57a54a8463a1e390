"""The HTML report (`shipway scan --format html`): one self-contained page, its CSS
written here and inlined, no scripts, no external assets. Rendered by Jinja2 with
autoescaping on, from the same data as the JSON report, so what a finding carries (a
secret's redacted form, never its value) is all the page can show."""

from __future__ import annotations

import jinja2

from shipway import __version__
from shipway.scanner.compliance.coverage import coverage_document
from shipway.scanner.engine import ScanReport
from shipway.scanner.findings import Severity
from shipway.scanner.formats.document import finding_data

_CSS = """
:root { --critical:#8b0000; --high:#c0392b; --medium:#b7791f; --low:#2b6cb0; --ok:#2f855a;
        --muted:#555; --line:#ddd; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 72rem; padding: 1.5rem; color: #1a1a1a; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--line); }
.meta, .muted { color: var(--muted); font-size: .9rem; }
.verdict { display: inline-block; padding: .15rem .6rem; border-radius: .3rem; color: #fff;
           font-weight: 600; }
.verdict.passed { background: var(--ok); } .verdict.failed { background: var(--high); }
.counts { display: flex; gap: .75rem; margin: 1rem 0; flex-wrap: wrap; }
.count { border: 1px solid var(--line); border-radius: .4rem; padding: .4rem .8rem; }
.count b { font-size: 1.2rem; margin-right: .3rem; }
.finding { border: 1px solid var(--line); border-left: 6px solid var(--muted);
           border-radius: .4rem; padding: .6rem .9rem; margin: .6rem 0; }
.finding.critical { border-left-color: var(--critical); }
.finding.high { border-left-color: var(--high); }
.finding.medium { border-left-color: var(--medium); }
.finding.low { border-left-color: var(--low); }
.finding h3 { font-size: 1rem; margin: 0 0 .3rem; }
dl { display: grid; grid-template-columns: 8rem 1fr; gap: .2rem .8rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
code { background: #f4f4f4; padding: 0 .25rem; border-radius: .2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .3rem .5rem;
         vertical-align: top; }
.status-passing { color: var(--ok); } .status-failing { color: var(--high); font-weight: 600; }
.status-not-covered { color: var(--muted); }
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shipway scan: {{ root }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>Security scan of <code>{{ root }}</code></h1>
<p class="meta">shipway {{ version }} &middot; gate: fail on {{ fail_on }} and above
&middot; <span class="verdict {{ 'passed' if passed else 'failed' }}" id="verdict">
{{ 'passed' if passed else 'FAILED' }}</span>
{% if baseline %} &middot; baseline {{ baseline }}: {{ baselined|length }} known finding(s)
set aside{% endif %}</p>
<div class="counts">
{% for label, n in counts.items() %}
<div class="count" data-severity="{{ label }}"><b>{{ n }}</b>{{ label }}</div>
{% endfor %}</div>
<p class="muted">Scanners:
{% for run in scanners %}{{ run.name }}
({% if run.status == 'ran' %}{{ run.findings }} findings, {{ '%.1f'|format(run.seconds) }} s
{%- else %}not run: {{ run.note }}{% endif %}){% if not loop.last %}; {% endif %}
{% endfor %}</p>
</header>
<main>
{% for label, group in groups %}
<section class="severity" id="{{ label }}" data-count="{{ group|length }}">
<h2>{{ label|upper }} ({{ group|length }})</h2>
{% for f in group %}
<article class="finding {{ f.severity }}" data-rule="{{ f.rule }}">
<h3>{{ f.title }}</h3>
<dl>
<dt>location</dt><dd><code>{{ f.where }}</code></dd>
<dt>rule</dt><dd><code>{{ f.rule }}</code> &middot; id <code>{{ f.id }}</code></dd>
<dt>why</dt><dd>{{ f.why }}</dd>
<dt>fix</dt><dd>{{ f.fix }}</dd>
{% if f.controls %}<dt>controls</dt><dd>{{ f.controls|join(', ') }}</dd>{% endif %}
<dt>risk</dt><dd>{{ '%.1f'|format(f.risk) }}: {{ f.risk_reasons|join('; ') }}</dd>
{% for key, value in f.properties.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>
{% endfor %}</dl>
</article>
{% endfor %}
</section>
{% endfor %}
{% if suppressed %}
<section id="accepted"><h2>Accepted ({{ suppressed|length }})</h2>
<table><tr><th>finding</th><th>location</th><th>reason</th><th>until</th></tr>
{% for s in suppressed %}
<tr class="accepted"><td><code>{{ s.finding.id }}</code></td>
<td><code>{{ s.finding.where }}</code></td><td>{{ s.ignore.reason }}</td>
<td>{{ s.ignore.expires or '' }}</td></tr>
{% endfor %}</table></section>
{% endif %}
{% if baselined %}
<section id="baselined"><h2>In the baseline ({{ baselined|length }})</h2>
<table><tr><th>severity</th><th>finding</th><th>location</th></tr>
{% for f in baselined %}
<tr class="baselined"><td>{{ f.severity }}</td><td>{{ f.title }}</td>
<td><code>{{ f.where }}</code></td></tr>
{% endfor %}</table></section>
{% endif %}
{% for doc in compliance %}
<section class="compliance" id="compliance-{{ doc.framework }}">
<h2>Compliance: {{ doc.framework|upper }} ({{ doc.counts['passing'] }} passing,
{{ doc.counts['failing'] }} failing, {{ doc.counts['not covered'] }} not covered)</h2>
<table><tr><th>control</th><th>status</th><th>checked by</th><th>failing findings</th></tr>
{% for c in doc.controls %}
<tr class="control"><td><b>{{ c.id }}</b> {{ c.title }}</td>
<td class="status-{{ c.status|replace(' ', '-') }}">{{ c.status }}</td>
<td>{{ c.checked_by|join(', ') }}</td>
<td>{% for f in c.findings %}<code>{{ f.id }}</code> {{ f.where }}<br>{% endfor %}</td></tr>
{% endfor %}</table></section>
{% endfor %}
</main>
</body>
</html>
"""

_ENVIRONMENT = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def html_report(report: ScanReport, compliance: tuple[str, ...] = ()) -> str:
    """The whole report as one HTML page."""
    findings = [finding_data(f, report.fail_on) for f in report.findings]
    groups = []
    for severity in sorted(Severity, reverse=True):
        group = [f for f in findings if f["severity"] == severity.label]
        if group:
            groups.append((severity.label, group))
    return _ENVIRONMENT.from_string(_TEMPLATE).render(
        css=_CSS,
        version=__version__,
        root=str(report.root),
        fail_on=report.fail_on.label,
        passed=report.passed,
        counts=report.counts(),
        scanners=report.runs,
        groups=groups,
        suppressed=[
            {
                "finding": finding_data(s.finding),
                "ignore": {
                    "reason": s.reason,
                    "expires": s.expires.isoformat() if s.expires else None,
                },
            }
            for s in report.suppressed
        ],
        baseline=report.baseline,
        baselined=[finding_data(f) for f in report.baselined],
        compliance=[coverage_document(report, name) for name in compliance],
    )
