package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/ui"
)

// Task ids come from the command line; /ui/status.json from the network.
// Neither may make the command panic, and an accepted id must round-trip.
func FuzzSplitTaskIDAndPageStatus(f *testing.F) {
	f.Add("orders/orders-lake", `{"tasks":[{"id":"orders/orders-lake","estimated_rows":10}]}`)
	f.Add("/x", `{"tasks":[{"estimated_rows":"ten"}]}`)
	f.Add("a/b/c", `{"tasks":null}`)
	f.Add("t/n", `{"tasks":[{"id":"t/n","phase":"FULL","rows_delivered":-5,"estimated_rows":-1},{"id":"u/v","phase":"INIT","rows_delivered":9223372036854775807,"estimated_rows":3}]}`)
	f.Fuzz(func(t *testing.T, id, page string) {
		table, name, err := splitTaskID([]string{id})
		if err == nil && table+"/"+name != id {
			t.Fatalf("%q split into %q and %q", id, table, name)
		}
		var s ui.Status
		if json.Unmarshal([]byte(page), &s) == nil {
			est := map[string]*int64{}
			var tasks []task.Task
			for _, v := range s.Tasks {
				est[v.ID] = v.EstimatedRows
				table, name, _ := strings.Cut(v.ID, "/")
				tasks = append(tasks, task.Task{Spec: task.Spec{Table: table, Name: name},
					Status: task.Status{Phase: v.Phase, RowsDelivered: v.RowsDelivered, ErrorCode: task.ErrorCode(v.ErrorCode)}})
			}
			var b strings.Builder
			printStatus(&b, tasks, est, s.GeneratedAt)
			if len(tasks) > 0 && !strings.Contains(b.String(), "phase") {
				t.Fatalf("status output lacks a phase:\n%s", b.String())
			}
		}
	})
}
