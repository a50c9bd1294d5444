import Mustache

/// The Gateway screen's template and its plots (registered by `DashboardTemplates.library()`).
extension DashboardTemplates {
    static func registerGateway(_ library: inout MustacheLibrary) throws {
        try library.register(timeline, named: "timeline")
        try library.register(channelPlot, named: "channelplot")
        try library.register(accuracyPlot, named: "accuracyplot")
    }

    static let timeline = """
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 640 {{height}}" width="100%" style="max-width:640px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        <defs><pattern id="{{id}}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern></defs>
        {{#yTicks}}<line x1="116" x2="610" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="112" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="10">{{label}}</text>{{/yTicks}}
        <text x="4" y="45" font-size="11">probability</text><text x="4" y="58" font-size="11">(replayed)</text>
        {{#lanes}}<text x="4" y="{{y}}" font-size="11" dominant-baseline="middle">{{label}}</text>{{/lanes}}
        <polygon class="band" points="{{band}}" fill="#1f3b57" fill-opacity="0.2" stroke="none"/>
        <polyline class="probability" points="{{line}}" fill="none" stroke="#1f3b57" stroke-width="1.5"/>
        {{#bars}}<rect class="mark {{kind}}" x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="{{fill}}"{{#outlined}} stroke="#000" stroke-dasharray="3 2"{{/outlined}}><title>{{title}}</title></rect>{{/bars}}
        <line x1="120" y1="{{axisY}}" x2="610" y2="{{axisY}}" stroke="#333"/>
        {{#xTicks}}<line x1="{{position}}" x2="{{position}}" y1="{{axisY}}" y2="{{tickY}}" stroke="#333"/><text x="{{position}}" y="{{labelY}}" text-anchor="middle" font-size="10" dy="-4">{{label}}</text>{{/xTicks}}
        <text x="365" y="{{height}}" dy="-2" text-anchor="middle" font-size="11">time (UTC, the gateway's clock)</text>
        </svg><figcaption>{{title}}. Probability (0–100 %): the replayed mean per time bucket, shaded from its lowest to its highest. State and labels: a tall bar = occupied, a low bar = vacant, hatched = not replayed (hover for why); a label bar outlined with dashes = a person's correction from Home Assistant.</figcaption></figure>
        """

    static let channelPlot = """
        <figure><svg id="{{id}}" class="plot channel" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 640 100" width="100%" style="max-width:640px;background:#fff" data-points="{{points}}">
        <title id="{{id}}-title">{{name}}: {{rows}} readings{{^text}}, {{points}} time buckets{{/text}}</title>
        <text x="4" y="40" font-size="11">{{name}}</text>
        {{#yTicks}}<line x1="116" x2="610" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="112" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="10">{{label}}</text>{{/yTicks}}
        {{^text}}<polygon class="band" points="{{band}}" fill="#1f3b57" fill-opacity="0.2" stroke="none"/>
        <polyline class="line" points="{{line}}" fill="none" stroke="#1f3b57" stroke-width="1.5"/>{{/text}}
        {{#bars}}<rect class="mark {{kind}}" x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="{{fill}}"><title>{{title}}</title></rect>{{#caption}}<text x="{{captionX}}" y="45" font-size="10" fill="#fff">{{caption}}</text>{{/caption}}{{/bars}}
        <line x1="120" y1="76" x2="610" y2="76" stroke="#333"/>
        {{#xTicks}}<text x="{{position}}" y="92" text-anchor="middle" font-size="10">{{label}}</text>{{/xTicks}}
        </svg>{{#text}}<figcaption>{{name}} (text): {{#values}}<span class="badge" style="background:{{colour}};color:#fff">{{name}}</span> {{/values}}(hover a bar for its time)</figcaption>{{/text}}{{^text}}<figcaption>{{name}} as reported (the gateway's units): mean per time bucket, shaded from its lowest to its highest reading.</figcaption>{{/text}}</figure>
        """

    static let accuracyPlot = """
        {{#empty}}<p>No accuracy figures in this span.</p>{{/empty}}{{^empty}}
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 640 262" width="100%" style="max-width:640px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        {{#yTicks}}<line x1="52" x2="606" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="48" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="11">{{label}}</text>{{/yTicks}}
        <line x1="56" y1="200" x2="606" y2="200" stroke="#333"/><line x1="56" y1="10" x2="56" y2="200" stroke="#333"/>
        {{#xTicks}}<line x1="{{position}}" x2="{{position}}" y1="200" y2="205" stroke="#333"/><text x="{{position}}" y="217" text-anchor="middle" font-size="11">{{label}}</text>{{/xTicks}}
        <text x="343" y="236" text-anchor="middle" font-size="12">window end (UTC)</text>
        <text transform="translate(14,105) rotate(-90)" text-anchor="middle" font-size="12">accuracy (%)</text>
        {{#reference}}<line x1="56" x2="606" y1="{{.}}" y2="{{.}}" stroke="#c62828" stroke-dasharray="6 4"><title>{{referenceLabel}}</title></line>{{/reference}}
        <polyline points="{{estimatedLine}}" fill="none" stroke="#1f3b57" stroke-width="2"/>
        {{#estimated}}<circle class="mark" cx="{{x}}" cy="{{y}}" r="3.5" fill="#1f3b57"><title>{{title}}</title></circle>{{/estimated}}
        <polyline points="{{realisedLine}}" fill="none" stroke="#ef6c00" stroke-width="2" stroke-dasharray="2 3"/>
        {{#realised}}<rect class="mark realised" x="{{x}}" y="{{y}}" width="7" height="7" transform="translate(-3.5,-3.5)" fill="#ef6c00"><title>{{title}}</title></rect>{{/realised}}
        <circle cx="60" cy="252" r="3.5" fill="#1f3b57"/><text x="68" y="256" font-size="11">estimated (label-free)</text>
        <rect x="216.5" y="248.5" width="7" height="7" fill="#ef6c00"/><text x="228" y="256" font-size="11">realised (labels)</text>
        </svg><figcaption>{{title}}: circles and solid line = the gateway's label-free estimate; squares and dotted line = realised on labelled rows{{#referenceLabel}}; dashed red line: {{referenceLabel}}{{/referenceLabel}}.</figcaption></figure>{{/empty}}
        """

    static let gateway = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Gateway {{id}}</h1>
        <p>Scope <a href="/dashboard/rollout/{{scopePath}}">{{scope}}</a> · <a href="/dashboard/models/{{scopePath}}">models</a> · <a href="/dashboard/alerts">alerts</a> · {{count}} monitor windows in the {{hours}} h up to its newest{{#decidedBy}} · deciding with {{decidedBy}}{{/decidedBy}}</p>
        <h2>Occupancy, last {{hours}} h</h2>
        {{#timeline}}{{> timeline}}{{/timeline}}
        <p class="note" id="replay-note">{{replayNote}} Where the override lane shows a person's Home Assistant override, the room showed the override, not this state.</p>
        {{#gaps}}<p class="note">Not replayed {{span}}: {{reason}}</p>{{/gaps}}
        <h2>Input channels</h2>
        {{#channels}}{{> channelplot}}{{/channels}}
        {{^channels}}<p>No telemetry in this span.</p>{{/channels}}
        <h2>Accuracy: estimated and realised</h2>
        {{#accuracy}}{{> accuracyplot}}{{/accuracy}}
        <h2>Feature drift</h2>
        {{#drift}}{{> heatmap}}{{/drift}}
        <h2>Model history</h2>
        <div class="scroll"><table id="history"><caption>Models on {{id}}, oldest first</caption>
        <thead><tr><th scope="col">At (UTC)</th><th scope="col">Event</th><th scope="col">Model</th><th scope="col">Detail</th></tr></thead><tbody>
        {{#history}}<tr><th scope="row">{{at}}</th><td>{{kind}}</td><td>{{#href}}<a href="{{href}}">{{model}}</a>{{/href}}{{^href}}{{model}}{{/href}}</td><td>{{detail}}</td></tr>{{/history}}
        {{^history}}<tr><td colspan="4">No model history yet.</td></tr>{{/history}}
        </tbody></table></div>
        <h2>Process</h2>
        <table id="process"><caption>As last reported{{#processAt}} (window ending {{processAt}}){{/processAt}}</caption><tbody>
        <tr><th scope="row">CPU time (s)</th><td class="n">{{cpu}}</td></tr>
        <tr><th scope="row">RSS (MiB)</th><td class="n">{{rss}}</td></tr>
        <tr><th scope="row">Uptime (h)</th><td class="n">{{uptime}}</td></tr>
        <tr><th scope="row">Spool backlog (rows not yet uploaded)</th><td class="n">{{spool}}</td></tr>
        </tbody></table>
        <h2>Monitor windows</h2>
        <div class="scroll"><table id="windows"><caption>Monitor windows, newest first</caption>
        <thead><tr><th scope="col">Window end (UTC)</th><th scope="col">Samples</th><th scope="col">Decided by</th>
        <th scope="col">Estimated accuracy</th><th scope="col">Realised accuracy</th><th scope="col">Drifted features</th><th scope="col">CPU (s)</th><th scope="col">RSS (MiB)</th></tr></thead><tbody>
        {{#windows}}<tr><th scope="row">{{to}}</th><td class="n">{{samples}}</td><td>{{decidedBy}}</td><td class="n">{{accuracy}}</td><td class="n">{{realised}}</td><td>{{drifted}}</td><td class="n">{{cpu}}</td><td class="n">{{rss}}</td></tr>{{/windows}}
        {{^windows}}<tr><td colspan="8">No monitor window in this span.</td></tr>{{/windows}}
        </tbody></table></div>
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin or viewer token; the monitor windows: <a href="{{monitorJSON}}">{{monitorJSON}}</a>, admin token)</p>
        {{> foot}}
        """
}
