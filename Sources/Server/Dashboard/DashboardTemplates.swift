import Mustache

/// The dashboard's pages as Mustache templates (`{{value}}` is HTML-escaped: ids and labels from gateways render as
/// text; nothing here uses the unescaped `{{{…}}}`). Plots are SVG written by the same templates.
enum DashboardTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        try library.register(head, named: "head")
        try library.register(foot, named: "foot")
        try library.register(login, named: "login")
        try library.register(fleet, named: "fleet")
        try library.register(alerts, named: "alerts")
        try library.register(rollouts, named: "rollouts")
        try library.register(rollout, named: "rollout")
        try library.register(problem, named: "problem")
        try library.register(linePlot, named: "lineplot")
        try library.register(heatMap, named: "heatmap")
        try library.register(gateway, named: "gateway")
        try registerGateway(&library)
        try library.register(reliability, named: "reliability")
        try library.register(models, named: "models")
        try library.register(history, named: "history")
        return library
    }

    static let css = """
        body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
        header{background:#1f3b57;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:center}
        header a{color:#fff}header nav a{margin-right:1em}header nav a[aria-current=page]{font-weight:700;text-decoration:none;border-bottom:2px solid #fff}
        header form{margin-left:auto}main{padding:1em;max-width:72em}
        h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.1em;margin:1.2em 0 .4em}
        .scroll{overflow-x:auto}table{border-collapse:collapse;background:#fff;margin-bottom:1em}
        caption{text-align:left;font-weight:600;padding:.3em 0}th,td{border:1px solid #d0d5db;padding:.3em .6em;text-align:left;vertical-align:top}
        th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .badge{display:inline-block;padding:0 .4em;border-radius:.3em;border:1px solid #888}
        .online{background:#d9f2dd}.drift{background:#ffe0b2}.offline{background:#fde2e1}.never{background:#eee}
        .cards{display:flex;flex-wrap:wrap;gap:1em}.cards table{min-width:14em}
        form.inline{display:inline}button{font:inherit;padding:.2em .8em;cursor:pointer}
        .error{background:#fde2e1;border:1px solid #c33;padding:.5em}.note{color:#555}
        label{margin-right:.5em}select,input{font:inherit}
        @media (max-width:40em){main{padding:.5em}th,td{padding:.2em .3em}header form{margin-left:0}}
        """

    static let head = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}<title>{{title}} · occupant</title><style>\(css)</style></head>
        <body><header><strong>occupant</strong>
        {{#signedIn}}<nav aria-label="Screens">{{#nav}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/nav}}</nav>
        <form class="inline" method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="{{csrf}}">
        <span>{{role}}</span> <button type="submit">Log out</button></form>{{/signedIn}}
        </header><main>
        """

    static let foot = """
        </main></body></html>
        """

    static let login = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Log in</h1>
        {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
        <form method="post" action="/dashboard/login">
        <input type="hidden" name="next" value="{{next}}">
        <p><label for="token">Admin or viewer token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required></p>
        <p><button type="submit">Log in</button></p>
        </form>
        <p class="note">A gateway's token cannot open the dashboard.</p>
        {{> foot}}
        """

    static let problem = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>{{heading}}</h1>
        <p class="error" role="alert">{{message}}</p>
        {{#back}}<p><a href="{{back}}">Back</a></p>{{/back}}
        {{> foot}}
        """

    static let fleet = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Fleet</h1>
        <div class="cards">
        <table id="by-state"><caption>Gateways by state</caption>
        <thead><tr><th scope="col">State</th><th scope="col">Gateways</th></tr></thead><tbody>
        {{#states}}<tr><th scope="row"><a href="{{href}}">{{name}}</a></th><td class="n">{{count}}</td></tr>{{/states}}
        </tbody></table>
        <table id="by-condition"><caption>Gateways by condition</caption>
        <thead><tr><th scope="col">Condition</th><th scope="col">Gateways</th></tr></thead><tbody>
        {{#conditions}}<tr><th scope="row">{{name}}</th><td class="n">{{count}}</td></tr>{{/conditions}}
        </tbody></table>
        <table id="by-model"><caption>Gateways by active model</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Gateways</th></tr></thead><tbody>
        {{#models}}<tr><th scope="row">{{name}}</th><td class="n">{{count}}</td></tr>{{/models}}
        </tbody></table>
        </div>
        <form method="get" action="/dashboard/fleet" aria-label="Filter gateways">
        <label for="scope">Scope</label><select id="scope" name="scope"><option value="">all</option>
        {{#scopes}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/scopes}}</select>
        <label for="state">State</label><select id="state" name="state"><option value="">all</option>
        {{#stateOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/stateOptions}}</select>
        <input type="hidden" name="sort" value="{{sort}}"><input type="hidden" name="order" value="{{order}}">
        <button type="submit">Filter</button></form>
        <div class="scroll"><table id="gateways">
        <caption>Gateways {{first}}–{{last}} of {{matching}}</caption>
        <thead><tr>{{#columns}}<th scope="col"{{#ariaSort}} aria-sort="{{ariaSort}}"{{/ariaSort}}>{{#href}}<a href="{{href}}">{{label}}</a>{{/href}}{{^href}}{{label}}{{/href}}</th>{{/columns}}</tr></thead>
        <tbody>
        {{#gateways}}<tr><th scope="row"><a href="/dashboard/gateways/{{path}}">{{id}}</a></th><td><a href="/dashboard/rollout/{{scopePath}}">{{scope}}</a></td><td><span class="badge {{state}}">{{state}}</span></td>
        <td>{{#lastSeen}}<time datetime="{{lastSeen}}">{{lastSeen}}</time>{{/lastSeen}}{{^lastSeen}}never{{/lastSeen}}</td>
        <td>{{#active}}{{active}}{{/active}}{{^active}}none{{/active}}</td><td>{{shadow}}</td><td class="n">{{#wave}}{{wave}}{{/wave}}</td><td class="n">{{estimated}}</td>
        <td>{{#drifting}}<span class="badge drift">{{drifting}}</span>{{/drifting}}</td>
        <td class="n">{{#alerts}}<a href="/dashboard/alerts">{{alerts}}</a>{{/alerts}}{{^alerts}}0{{/alerts}}</td></tr>
        {{/gateways}}
        {{^gateways}}<tr><td colspan="10">No gateway matches.</td></tr>{{/gateways}}
        </tbody></table></div>
        <nav aria-label="Pages">{{#previous}}<a rel="prev" href="{{previous}}">← previous</a> {{/previous}}page {{page}} of {{pages}}{{#next}} <a rel="next" href="{{next}}">next →</a>{{/next}}</nav>
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin token)</p>
        {{> foot}}
        """

    static let alerts = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Alerts</h1>
        {{#groups}}
        <div class="scroll"><table id="{{id}}"><caption>{{caption}} ({{count}})</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">Scope</th><th scope="col">Gateway</th>
        <th scope="col">Message</th><th scope="col">Numbers</th><th scope="col">Raised</th><th scope="col">Cleared</th>
        <th scope="col">Acknowledged</th></tr></thead><tbody>
        {{#alerts}}<tr><td class="n">{{id}}</td><td>{{kind}}</td><td><a href="/dashboard/rollout/{{scopePath}}">{{scope}}</a></td>
        <td>{{#gatewayPath}}<a href="/dashboard/gateways/{{gatewayPath}}">{{gateway}}</a>{{/gatewayPath}}</td><td>{{message}}</td>
        <td>{{#numbers}}<span>{{name}} = {{value}}</span><br>{{/numbers}}</td><td>{{raisedAt}}</td><td>{{clearedAt}}</td>
        <td>{{#acknowledgedAt}}{{acknowledgedAt}} by {{acknowledgedBy}}{{/acknowledgedAt}}{{^acknowledgedAt}}{{#canAct}}<form class="inline" method="post" action="/dashboard/alerts/{{id}}/ack"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Acknowledge</button></form>{{/canAct}}{{^canAct}}not yet{{/canAct}}{{/acknowledgedAt}}</td></tr>
        {{/alerts}}
        {{^alerts}}<tr><td colspan="9">None.</td></tr>{{/alerts}}
        </tbody></table></div>
        {{/groups}}
        <p class="note">Cleared: the newest {{clearedLimit}}. JSON: <a href="/v1/alerts">/v1/alerts</a> (admin token)</p>
        {{> foot}}
        """

    static let rollouts = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Rollouts</h1>
        <div class="scroll"><table id="rollouts"><caption>Rollout per scope</caption>
        <thead><tr><th scope="col">Scope</th><th scope="col">Version</th><th scope="col">State</th><th scope="col">Wave</th></tr></thead><tbody>
        {{#scopes}}<tr><th scope="row"><a href="{{href}}">{{name}}</a></th><td>{{version}}</td><td>{{state}}</td><td>{{wave}}</td></tr>{{/scopes}}
        </tbody></table></div>
        {{> foot}}
        """

    static let rollout = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Rollout of {{scope}}</h1>
        {{^present}}<p>Scope {{scope}} has no rollout yet.</p>{{/present}}
        {{#present}}
        <p>Version <strong><a href="/dashboard/models/{{scopePath}}?version={{version}}#version">{{version}}</a></strong> replacing {{previous}}: <strong id="rollout-state">{{state}}</strong>, started {{started}}.
        {{#reason}}<br>Reason: {{reason}}{{/reason}}</p>
        <p class="note">A wave passes after {{probation}} of probation; the rollout stops when more than {{abortShare}} of a wave rolled back or raised alerts.</p>
        {{#canAct}}<p>{{#actions}}<form class="inline" method="post" action="{{href}}"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" name="action" value="{{name}}">{{label}}</button></form> {{/actions}}</p>{{/canAct}}
        {{^canAct}}<p class="note">Read-only login: abort, resume and rollback need the admin token.</p>{{/canAct}}
        <p class="note">Legend: {{#legend}}<span class="badge" style="background:{{colour}};color:{{text}}">{{name}}</span> {{/legend}}</p>
        {{#waves}}
        <h2 id="wave-{{number}}">Wave {{number}}: {{state}}</h2>
        <svg class="progress" role="img" aria-labelledby="wave-{{number}}-title" width="100%" height="24" viewBox="0 0 400 24" preserveAspectRatio="none">
        <title id="wave-{{number}}-title">Wave {{number}}: {{summary}}</title>
        {{#segments}}<rect class="mark" x="{{x}}" y="0" width="{{width}}" height="24" fill="{{colour}}"><title>{{name}}: {{count}}</title></rect>{{/segments}}
        </svg>
        <p>{{summary}}</p>
        <details><summary>The {{total}} gateways of wave {{number}}</summary>
        <div class="scroll"><table><caption>Wave {{number}} gateways</caption>
        <thead><tr><th scope="col">Gateway</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Reason</th></tr></thead><tbody>
        {{#gateways}}<tr><th scope="row"><a href="/dashboard/gateways/{{path}}">{{gateway}}</a></th><td>{{state}}</td><td>{{since}}</td><td>{{reason}}</td></tr>{{/gateways}}
        </tbody></table></div></details>
        {{/waves}}
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin token)</p>
        {{/present}}
        {{> foot}}
        """

    static let linePlot = """
        {{#empty}}<p>No data in this span.</p>{{/empty}}{{^empty}}
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 640 240" width="100%" style="max-width:640px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        {{#yTicks}}<line x1="52" x2="606" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="48" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="11">{{label}}</text>{{/yTicks}}
        <line x1="56" y1="200" x2="606" y2="200" stroke="#333"/><line x1="56" y1="10" x2="56" y2="200" stroke="#333"/>
        {{#xTicks}}<line x1="{{position}}" x2="{{position}}" y1="200" y2="205" stroke="#333"/><text x="{{position}}" y="217" text-anchor="middle" font-size="11">{{label}}</text>{{/xTicks}}
        <text x="343" y="236" text-anchor="middle" font-size="12">{{xLabel}}</text>
        <text transform="translate(14,105) rotate(-90)" text-anchor="middle" font-size="12">{{yLabel}}</text>
        {{#reference}}<line x1="56" x2="606" y1="{{.}}" y2="{{.}}" stroke="#c62828" stroke-dasharray="6 4"><title>{{referenceLabel}}</title></line>{{/reference}}
        <polyline points="{{line}}" fill="none" stroke="#1f3b57" stroke-width="2"/>
        {{#points}}<circle class="mark" cx="{{x}}" cy="{{y}}" r="3.5" fill="#1f3b57"><title>{{title}}</title></circle>{{/points}}
        </svg><figcaption>{{title}}{{#referenceLabel}}; dashed red line: {{referenceLabel}}{{/referenceLabel}}</figcaption></figure>{{/empty}}
        """

    static let heatMap = """
        {{#empty}}<p>No drift figures in this span (the running bundle may ship no drift baselines).</p>{{/empty}}{{^empty}}
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 {{width}} {{height}}" width="100%" style="max-width:640px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        {{#rows}}<text x="146" y="{{y}}" text-anchor="end" font-size="11">{{label}}</text>{{/rows}}
        {{#cells}}<rect class="mark" x="{{x}}" y="{{y}}" width="{{width}}" height="18" fill="{{fill}}"{{#drifted}} stroke="#000" stroke-width="2"{{/drifted}}><title>{{title}}</title></rect>{{/cells}}
        {{#xTicks}}<text x="{{position}}" y="{{axisY}}" text-anchor="middle" font-size="11">{{label}}</text>{{/xTicks}}
        </svg><figcaption>{{title}}: drift score over its threshold per feature (rows) and monitor window (columns, window end UTC); white = no drift, red = at the threshold, outlined = drifted.</figcaption></figure>{{/empty}}
        """

    static let reliability = """
        {{#empty}}<p>This version's report has no calibration bins.</p>{{/empty}}{{^empty}}
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 350 340" width="100%" style="max-width:350px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        {{#yTicks}}<line x1="52" x2="336" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="48" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="11">{{label}}</text>{{/yTicks}}
        {{#ticks}}<line x1="{{position}}" x2="{{position}}" y1="290" y2="295" stroke="#333"/><text x="{{position}}" y="307" text-anchor="middle" font-size="11">{{label}}</text>{{/ticks}}
        <line x1="56" y1="290" x2="336" y2="290" stroke="#333"/><line x1="56" y1="10" x2="56" y2="290" stroke="#333"/>
        <line x1="56" y1="290" x2="336" y2="10" stroke="#888" stroke-dasharray="6 4"><title>perfect calibration</title></line>
        <text x="196" y="330" text-anchor="middle" font-size="12">predicted probability (%)</text>
        <text transform="translate(14,150) rotate(-90)" text-anchor="middle" font-size="12">observed occupied rate (%)</text>
        <polyline points="{{line}}" fill="none" stroke="#1f3b57" stroke-width="2"/>
        {{#points}}<circle class="mark" cx="{{x}}" cy="{{y}}" r="4" fill="#1f3b57"><title>{{title}}</title></circle>{{/points}}
        </svg><figcaption>{{title}}: one point per probability bin with rows; dashed: perfect calibration.</figcaption></figure>{{/empty}}
        """
}
