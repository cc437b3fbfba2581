package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// Task names, prefixes, error details and object keys reach the page from the
// network (the API, the pipelines' error texts, the bucket listing). Whatever
// they hold, the page must render without failing and never carry markup
// from them unescaped.
func FuzzPageEscapesTaskFields(f *testing.F) {
	f.Add("orders-lake", "orders/year=$yyyy", "The destination OSS bucket does not exist.", "orders/k__1")
	f.Add("<script>alert(1)</script>", "a\"b'c", "</section><img src=x onerror=alert(1)>", "k<b>")
	f.Add("", "", "\x00\xff", "{{.}}")
	f.Fuzz(func(t *testing.T, name, prefix, detail, key string) {
		// Markers make a field's raw appearance unmistakable (a bare "<b"
		// would match the page's own <body>).
		name, prefix, detail, key = "QZ1"+name+"QZ1", "QZ2"+prefix+"QZ2", "QZ3"+detail+"QZ3", "QZ4"+key+"QZ4"
		est := int64(len(detail))
		lag := float64(len(key))
		now := time.Unix(1_700_000_000, 0)
		v := TaskView{ID: "t/" + name, Table: "t", Name: name, Prefix: prefix, Bucket: "lake", Phase: task.PhaseFull,
			ErrorCode: "InternalError", ErrorDetail: detail, EstimatedRows: &est, RowsDelivered: int64(len(name)),
			History: []Sample{{At: now, LagSeconds: &lag}, {At: now.Add(time.Second), LagSeconds: &lag}},
			Objects: []Object{{Key: key, Size: int64(len(key)), LastModified: now}}}
		var b strings.Builder
		if err := pageTemplate.ExecuteTemplate(&b, "page", pageData{Status: Status{GeneratedAt: now, Tasks: []TaskView{v}}, RefreshMillis: 3000, Refresh: "3s"}); err != nil {
			t.Fatalf("render: %v", err)
		}
		out := b.String()
		for _, field := range []string{name, prefix, detail, key} {
			if strings.ContainsAny(field, "<>") && strings.Contains(out, field) {
				t.Fatalf("field %q appears unescaped in the page", field)
			}
		}
	})
}
