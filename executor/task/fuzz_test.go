package task

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzSpec decodes arbitrary JSON as a TaskSpec, validates it, and renders
// every dialect's DDL and an object key for the specs that pass: nothing may
// panic, and a valid spec must always render.
func FuzzSpec(f *testing.F) {
	for _, s := range []string{
		`{"name":"orders-lake","table":"orders","region":"cn-hangzhou","bucket":"lake","prefix":"orders/year=$yyyy/month=$MM","role_arn":"acs:ram::1:role/r","columns":[{"source":"id","type":"INT64"}]}`,
		`{"name":"a-b","table":"t","region":"cn-hangzhou","bucket":"abc","prefix":"p/$HH$mm","role_arn":"acs:ram::1:role/r","columns":[{"source":"s","name":"x` + "`" + `y","type":"UTF8","encoding":"DELTA_BYTE_ARRAY"}],"event_time_column":{"name":"ts","format":"Unix"},"dirty_prefix":"d/$dd"}`,
		`{"name":"x","columns":null}`,
		`{"prefix":"a/../b"}`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if json.Unmarshal(data, &s) != nil {
			return
		}
		s.ApplyDefaults()
		err := s.Validate()
		if err != nil {
			fe, ok := AsFieldError(err)
			if !ok || fe.Field == "" || !strings.HasPrefix(fe.Message, fe.Field+": ") {
				t.Fatalf("validation error %v does not name its field", err)
			}
			return
		}
		tk := Task{Spec: s, Status: Status{ResolvedColumns: s.Columns}}
		if len(tk.Status.ResolvedColumns) == 0 {
			tk.Status.ResolvedColumns = []Column{{Source: "id", Name: "id", Type: TypeInt64}}
		}
		for _, d := range Dialects {
			stmt, err := DDL(tk, d, DDLOptions{})
			if err != nil || stmt == "" {
				t.Fatalf("valid spec %s: %s DDL failed: %v", data, d, err)
			}
		}
		tmpl, err := ParsePrefix(s.Prefix)
		if err != nil {
			t.Fatalf("valid spec with an unparsable prefix: %v", err)
		}
		key := tmpl.ObjectKey(at, s.Name, 0, 1)
		if strings.Contains(key, "//") || strings.HasPrefix(key, "/") || strings.Contains(key, "$") {
			t.Fatalf("object key %q", key)
		}
	})
}
