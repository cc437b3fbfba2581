package deliveryapi

import (
	"testing"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore/otsprotocol"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

func TestRegionOfEndpoint(t *testing.T) {
	local := map[string]string{"cn-hangzhou": "http://127.0.0.1:8472"}
	for endpoint, want := range map[string]string{
		"oss-cn-hangzhou.aliyuncs.com":                 "cn-hangzhou",
		"oss-cn-hangzhou-internal.aliyuncs.com":        "cn-hangzhou",
		"https://oss-ap-southeast-1.aliyuncs.com/":     "ap-southeast-1",
		"http://oss-cn-shanghai-internal.aliyuncs.com": "cn-shanghai",
		"127.0.0.1:8472":                               "cn-hangzhou",
		"http://127.0.0.1:8472":                        "cn-hangzhou",
		"OSS-CN-BEIJING.ALIYUNCS.COM":                  "cn-beijing",
	} {
		got, fe := regionOf(endpoint, local)
		if fe != nil || got != want {
			t.Errorf("regionOf(%q) = %q, %v; want %q", endpoint, got, fe, want)
		}
	}
	for _, endpoint := range []string{"", "example.com", "oss-.aliyuncs.com", "127.0.0.1:9999", "oss-cn-hangzhou.aliyuncs.com.evil"} {
		if got, fe := regionOf(endpoint, local); fe == nil || fe.wire != "taskConfig.ossEndpoint" {
			t.Errorf("regionOf(%q) = %q, %v; want a refusal naming taskConfig.ossEndpoint", endpoint, got, fe)
		}
	}
}

func TestSyncStatOfStatusesWithoutWireValues(t *testing.T) {
	for _, c := range []struct {
		st     task.Status
		phase  otsprotocol.TaskSyncStat_TaskSyncPhase
		code   otsprotocol.ErrorType // 0: absent
		detail string
	}{
		{task.Status{Phase: task.PhaseInit}, otsprotocol.TaskSyncStat_INIT, 0, ""},
		{task.Status{Phase: task.PhaseFinished}, otsprotocol.TaskSyncStat_FULL, 0, "FINISHED: the full sync delivered the whole table"},
		{task.Status{Phase: task.PhaseIncr, ErrorCode: task.ErrUnauthorized, ErrorDetail: "no role"}, otsprotocol.TaskSyncStat_INCR, otsprotocol.ErrorType_UNAUTHORIZED, "no role"},
		{task.Status{Phase: task.PhaseFull, ErrorCode: task.ErrInvalidOssBucket, ErrorDetail: "no bucket"}, otsprotocol.TaskSyncStat_FULL, otsprotocol.ErrorType_INVALID_OSS_BUCKET, "no bucket"},
		{task.Status{Phase: task.PhaseInit, ErrorCode: task.ErrSourceTableMissing, ErrorDetail: "gone"}, otsprotocol.TaskSyncStat_INIT, 0, "SourceTableMissing: gone"},
		{task.Status{Phase: task.PhaseIncr, ErrorCode: task.ErrInternal, ErrorDetail: "boom"}, otsprotocol.TaskSyncStat_INCR, 0, "InternalError: boom"},
	} {
		got := syncStatOf(c.st)
		var code otsprotocol.ErrorType // 0 when absent
		if got.ErrorCode != nil {
			code = got.GetErrorCode()
		}
		if got.GetTaskSyncPhase() != c.phase || code != c.code || got.GetDetail() != c.detail || got.CurrentSyncTimestamp == nil {
			t.Errorf("syncStatOf(%+v) = %v", c.st, got)
		}
	}
}

func TestBinaryColumnsRoundTripAsUTF8WithTypeExtend(t *testing.T) {
	in := task.Column{Source: "blob", Name: "payload", Type: task.TypeBinary, Encoding: task.EncodingDeltaByteArray}
	wire := schemaOf(in)
	if wire.GetType() != otsprotocol.ParquetSchema_UTF8 || wire.GetTypeExtend() != "BINARY" {
		t.Fatalf("schemaOf(BINARY) = %v", wire)
	}
	cols, fe := columns([]*otsprotocol.ParquetSchema{wire})
	if fe != nil || len(cols) != 1 || cols[0] != in {
		t.Fatalf("columns(%v) = %+v, %v; want %+v", wire, cols, fe, in)
	}
}
