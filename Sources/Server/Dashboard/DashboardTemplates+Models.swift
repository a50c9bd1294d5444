extension DashboardTemplates {
    static let history = """
        {{#empty}}<p>No metric recorded for this scope yet.</p>{{/empty}}{{^empty}}
        <figure><svg id="{{id}}" class="plot" role="img" aria-labelledby="{{id}}-title" viewBox="0 0 640 240" width="100%" style="max-width:640px;background:#fff">
        <title id="{{id}}-title">{{title}}</title>
        {{#yTicks}}<line x1="52" x2="606" y1="{{position}}" y2="{{position}}" stroke="#e0e0e0"/><text x="48" y="{{position}}" text-anchor="end" dominant-baseline="middle" font-size="11">{{label}}</text>{{/yTicks}}
        <line x1="56" y1="200" x2="606" y2="200" stroke="#333"/><line x1="56" y1="40" x2="56" y2="200" stroke="#333"/>
        {{#xTicks}}<line x1="{{position}}" x2="{{position}}" y1="200" y2="205" stroke="#333"/><text x="{{position}}" y="217" text-anchor="middle" font-size="11">{{label}}</text>{{/xTicks}}
        <text x="331" y="236" text-anchor="middle" font-size="12">{{xLabel}}</text>
        <text transform="translate(14,120) rotate(-90)" text-anchor="middle" font-size="12">{{yLabel}}</text>
        {{#series}}<g class="series"><polyline points="{{line}}" fill="none" stroke="{{colour}}" stroke-width="1.5"/>
        {{#marks}}<path class="mark" d="{{d}}" fill="{{colour}}"><title>{{title}}</title></path>{{/marks}}
        <path class="key" d="{{keyD}}" fill="{{colour}}"/><text x="{{keyX}}" y="{{keyY}}" font-size="11">{{name}} ({{shape}})</text></g>
        {{/series}}
        </svg><figcaption>{{title}}: one mark per recorded metric ({{count}}); {{#series}}{{name}}: {{shape}}s; {{/series}}</figcaption></figure>{{/empty}}
        """

    static let models = """
        {{#frame}}{{> head}}{{/frame}}
        <h1>Models of {{scope}}</h1>
        <p>Scopes: {{#scopes}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{name}}</a> {{/scopes}}</p>
        <div class="scroll"><table id="versions"><caption>Versions, newest first</caption>
        <thead><tr><th scope="col">Version</th><th scope="col">Aliases</th><th scope="col">Created (UTC)</th><th scope="col">Data</th>
        <th scope="col">Holdout accuracy</th><th scope="col">F1</th><th scope="col">AUC</th><th scope="col">Rows</th><th scope="col">ECE</th>
        <th scope="col">False transitions / day</th></tr></thead><tbody>
        {{#versions}}<tr><th scope="row"><a href="{{href}}">{{version}}</a></th><td>{{aliases}}</td><td>{{created}}</td><td>{{data}}</td>
        <td class="n">{{accuracy}}</td><td class="n">{{f1}}</td><td class="n">{{auc}}</td><td class="n">{{rows}}</td><td class="n">{{ece}}</td>
        <td class="n">{{falseTransitions}}</td></tr>{{/versions}}
        {{^versions}}<tr><td colspan="10">No model trained for this scope yet.</td></tr>{{/versions}}
        </tbody></table></div>
        <h2 id="history-heading">Metric history</h2>
        {{#history}}{{> history}}{{/history}}
        {{#comparison}}<h2 id="compare">Champion and challenger</h2>
        <div class="scroll"><table id="comparison"><caption>Side by side (holdout figures from training; realised figures measured on the scope's gateways)</caption>
        <thead><tr><td></td>{{#columns}}<th scope="col"><a href="{{href}}">{{label}}</a></th>{{/columns}}</tr></thead><tbody>
        {{#rows}}<tr><th scope="row">{{name}}</th>{{#values}}<td class="n">{{.}}</td>{{/values}}</tr>{{/rows}}
        </tbody></table></div>{{/comparison}}
        {{#shadow}}<h2 id="shadow">Shadow evidence</h2>
        <p>{{summary}}</p>
        <div class="scroll"><table id="shadow-evidence"><caption>Per gateway of the first wave, monitor windows of the last {{hours}} h up to its newest</caption>
        <thead><tr><th scope="col">Gateway</th><th scope="col">Deciding</th><th scope="col">Shadow</th><th scope="col">Windows</th><th scope="col">Agreement</th>
        <th scope="col">Labelled samples</th><th scope="col">Realised accuracy, deciding</th><th scope="col">Realised accuracy, shadow</th></tr></thead><tbody>
        {{#gateways}}<tr><th scope="row"><a href="/dashboard/gateways/{{path}}">{{gateway}}</a></th><td>{{active}}</td><td>{{model}}</td><td class="n">{{windows}}</td>
        <td class="n">{{agreement}}</td><td class="n">{{labelled}}</td><td class="n">{{activeAccuracy}}</td><td class="n">{{shadowAccuracy}}</td></tr>{{/gateways}}
        {{^gateways}}<tr><td colspan="8">No shadow windows yet.</td></tr>{{/gateways}}
        </tbody></table></div>
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin token)</p>{{/shadow}}
        {{#selected}}<h2 id="version">Version {{version}}</h2>
        <p>{{modelID}} · SHA-256 <code>{{sha}}</code> · created {{created}}{{#aliases}} · {{aliases}}{{/aliases}}{{#trigger}} · trigger {{trigger}}{{/trigger}}</p>
        {{#reason}}<p>Training decision: {{reason}}</p>{{/reason}}
        <div class="cards">
        <table id="data-window"><caption>Data</caption><tbody>
        {{#data}}<tr><th scope="row">{{name}}</th><td>{{value}}</td></tr>{{/data}}
        </tbody></table>
        <table id="events"><caption>Published-state events (out-of-fold)</caption><tbody>
        {{#events}}<tr><th scope="row">{{name}}</th><td class="n">{{value}}</td></tr>{{/events}}
        {{^events}}<tr><td>This version's report has no event figures.</td></tr>{{/events}}
        </tbody></table>
        <table id="hyperparameters"><caption>Chosen configuration</caption><tbody>
        {{#hyper}}<tr><th scope="row">{{name}}</th><td>{{value}}</td></tr>{{/hyper}}
        </tbody></table>
        </div>
        <h3>Reliability</h3>
        {{#plot}}{{> reliability}}{{/plot}}
        {{#confusion}}<table id="confusion"><caption>Version {{version}} on the holdout: confusion matrix (rows)</caption>
        <thead><tr><td></td><th scope="col">predicted occupied</th><th scope="col">predicted empty</th></tr></thead><tbody>
        <tr><th scope="row">occupied</th><td class="n">{{truePositive}}</td><td class="n">{{falseNegative}}</td></tr>
        <tr><th scope="row">empty</th><td class="n">{{falsePositive}}</td><td class="n">{{trueNegative}}</td></tr>
        </tbody></table>{{/confusion}}
        <div class="scroll"><table id="ablation"><caption>Ablation: the chosen configuration with one feature group removed or added (out-of-fold)</caption>
        <thead><tr><th scope="col">Group</th><th scope="col">Change</th><th scope="col">Accuracy</th><th scope="col">Δ accuracy (pt)</th><th scope="col">Δ log-loss</th></tr></thead><tbody>
        {{#ablation}}<tr><th scope="row">{{group}}</th><td>{{change}}</td><td class="n">{{accuracy}}</td><td class="n">{{accuracyDelta}}</td><td class="n">{{logLossDelta}}</td></tr>{{/ablation}}
        {{^ablation}}<tr><td colspan="5">This version's report has no ablation.</td></tr>{{/ablation}}
        </tbody></table></div>
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin token)</p>{{/selected}}
        <h2>Promotion decisions</h2>
        <div class="scroll"><table id="promotions"><caption>Every promotion decision, newest first</caption>
        <thead><tr><th scope="col">At (UTC)</th><th scope="col">Challenger</th><th scope="col">Champion</th><th scope="col">Promoted</th><th scope="col">Reason</th><th scope="col">Outcome</th></tr></thead><tbody>
        {{#promotions}}<tr><td>{{at}}</td><td class="n"><a href="{{href}}">{{challenger}}</a></td><td class="n">{{champion}}</td><td>{{promoted}}</td><td>{{reason}}</td><td>{{outcome}}</td></tr>{{/promotions}}
        {{^promotions}}<tr><td colspan="6">None yet.</td></tr>{{/promotions}}
        </tbody></table></div>
        <p class="note">JSON: <a href="{{json}}">{{json}}</a> (admin token)</p>
        {{> foot}}
        """
}
