package bench

import (
	"strings"
	"testing"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// The object keys come from an OSS listing and the status file from /proc:
// neither may make the benchmark panic.

func FuzzParseObjectKey(f *testing.F) {
	f.Add(task.ObjectKey("full/dt=2026-11-23/hour=07", "full", 3, 12), "full")
	f.Add("p/t_1_p__2", "t")
	f.Add("p/t__", "t")
	f.Add("/", "")
	f.Fuzz(func(t *testing.T, key, taskName string) {
		name, err := parseObjectKey(key, taskName)
		if err != nil {
			return
		}
		if !strings.HasPrefix(key, name.partition+"/") {
			t.Errorf("partition %q is not the folder of %q", name.partition, key)
		}
	})
}

func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmPeak:\t  900 kB\nVmHWM:\t   123456 kB\n"))
	f.Add([]byte("VmHWM: 1 kB"))
	f.Add([]byte("VmHWM:\t99999999999999999999 kB\n"))
	f.Fuzz(func(t *testing.T, status []byte) {
		if n, err := parseVmHWM(status); err == nil && n < 0 {
			t.Errorf("negative peak RSS %d", n)
		}
	})
}

func FuzzParseReadyLine(f *testing.F) {
	f.Add("ready api=http://127.0.0.1:1 tablestore=http://127.0.0.1:2 instance=local")
	f.Add("ready ==")
	f.Fuzz(func(t *testing.T, line string) {
		for k := range parseReadyLine(line) {
			if strings.ContainsAny(k, " \t\n") {
				t.Errorf("key %q holds white space", k)
			}
		}
	})
}
