package ui

// pageHTML is the status page. "page" is the whole document; "tasks" is the
// part the inline script fetches again (?part=tasks) to refresh it in place,
// so the page stays readable without script and nothing needs building.
const pageHTML = `{{define "page"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tablestore-delivery status</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; background: #f4f6f8; color: #1d2530; }
  header { background: #1d2530; color: #fff; padding: 12px 24px; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header small { color: #b8c2cc; }
  main { padding: 16px 24px; max-width: 1100px; }
  .task { background: #fff; border: 1px solid #d8dee4; border-radius: 6px; padding: 14px 18px; margin-bottom: 16px; }
  .task h2 { font-size: 16px; margin: 0 0 4px; }
  .phase { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e1e8f0; }
  .phase-FULL { background: #fff1c2; } .phase-INCR { background: #cdeccf; } .phase-INIT { background: #dde6ff; } .phase-FINISHED { background: #e5e5e5; }
  .error { color: #a4161a; font-weight: 600; }
  .muted { color: #66727f; }
  dl.counters { display: grid; grid-template-columns: repeat(6, max-content); gap: 2px 28px; margin: 10px 0; }
  dl.counters dt { color: #66727f; font-size: 12px; grid-row: 1; } dl.counters dd { margin: 0; font-weight: 600; grid-row: 2; }
  .progress { background: #e8ecf0; border-radius: 4px; height: 14px; width: 560px; overflow: hidden; display: inline-block; vertical-align: middle; }
  .progress div { background: #2f7ed8; height: 100%; }
  h3 { font-size: 13px; margin: 12px 0 4px; color: #3b4652; }
  svg.lag-chart { background: #fafbfc; border: 1px solid #e1e4e8; }
  svg.lag-chart polyline { fill: none; stroke: #2f7ed8; stroke-width: 2; }
  svg.lag-chart text { font-size: 11px; fill: #66727f; }
  table.objects { border-collapse: collapse; font-size: 12px; }
  table.objects td, table.objects th { padding: 2px 14px 2px 0; text-align: left; }
  table.objects td.size { text-align: right; }
  code { font-size: 12px; }
</style>
</head>
<body>
<header><h1>tablestore-delivery</h1><small>read-only status · refreshes every {{.Refresh}} · <span id="generated">{{stamp .GeneratedAt}} UTC</span></small></header>
<main id="tasks">{{template "tasks" .}}</main>
<script>
// Refresh the task list in place; the page works without this script.
(function () {
  var main = document.getElementById('tasks');
  setInterval(function () {
    fetch(location.pathname + '?part=tasks', {cache: 'no-store'})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        main.innerHTML = html;
        document.getElementById('generated').textContent = new Date().toISOString().slice(11, 19) + ' UTC';
      })
      .catch(function () {});
  }, {{.RefreshMillis}});
})();
</script>
</body>
</html>{{end}}

{{define "tasks"}}{{if not .Tasks}}<p class="muted" id="no-tasks">No delivery tasks yet. Create one with Terraform (examples/quickstart) or POST /v1/tasks.</p>{{end}}
{{range .Tasks}}<section class="task" data-task="{{.ID}}">
  <h2><span class="task-name">{{.Name}}</span> <span class="muted">on table {{.Table}} → oss://{{.Bucket}}/{{.Prefix}}</span></h2>
  <div>Phase <span class="phase phase-{{.Phase}}" data-phase="{{.Phase}}">{{.Phase}}</span>
    <span class="muted">· {{.SyncMode}} · last synced {{when .LastSyncedAt}} · lag {{if .LagSeconds}}{{seconds (derefF .LagSeconds)}}{{else}}–{{end}}</span></div>
  {{if .ErrorCode}}<div class="error" data-error="{{.ErrorCode}}">{{.ErrorCode}}: {{.ErrorDetail}}</div>{{end}}
  <dl class="counters">
    <dt>rows delivered</dt><dd data-counter="rows_delivered">{{count .RowsDelivered}}</dd>
    <dt>rows dirty</dt><dd data-counter="rows_dirty">{{count .RowsDirty}}</dd>
    <dt>objects written</dt><dd data-counter="objects_written">{{count .ObjectsWritten}}</dd>
    <dt>bytes written</dt><dd data-counter="bytes_written">{{bytes .BytesWritten}}</dd>
    <dt>table rows (estimate)</dt><dd data-counter="estimated_rows">{{if .EstimatedRows}}{{count (deref .EstimatedRows)}}{{else if .Counting}}counting…{{else}}–{{end}}</dd>
    <dt>history</dt><dd>{{len .History}} samples</dd>
  </dl>
  {{if and .InFullSync .EstimatedRows}}<div class="full-sync">Full sync <span class="progress"><div style="width: {{percent .ProgressPercent}}%"></div></span> {{percent .ProgressPercent}}% ({{count .RowsDelivered}} of ~{{count (deref .EstimatedRows)}} rows)</div>{{end}}
  <h3>Lag over time</h3>
  {{with chart .History}}<svg class="lag-chart" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="lag over time">
    {{if .Points}}<polyline points="{{.Points}}"/><text x="4" y="12">{{.MaxLabel}}</text><text x="4" y="{{.Height}}" dy="-3">0 s · last {{.SpanLabel}}</text>{{else}}<text x="8" y="20">no lag yet: lag is measured once the task follows changes (phase INCR)</text>{{end}}
  </svg>{{end}}
  <h3>Latest objects</h3>
  {{if .ObjectsError}}<div class="error">cannot list objects: {{.ObjectsError}}</div>{{end}}
  {{if .ObjectsPartial}}<p class="muted" data-objects="partial">Too many objects to list them all: showing the newest partition's.</p>{{end}}
  {{if .Objects}}<table class="objects"><tr><th>key</th><th>size</th><th>written</th></tr>
  {{range .Objects}}<tr class="object"><td><code>{{.Key}}</code></td><td class="size">{{bytes .Size}}</td><td>{{stamp .LastModified}}</td></tr>
  {{end}}</table>{{else}}<p class="muted">none yet</p>{{end}}
</section>
{{end}}{{end}}`
