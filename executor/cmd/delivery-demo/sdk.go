package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"
)

// describeThroughSDK shows the task as the managed service's API shows it:
// the official Tablestore SDK's ListDeliveryTask and DescribeDeliveryTask
// against the local Tablestore endpoint, which `serve --embedded` answers
// from the same control plane as the CLI above.
func (d *demo) describeThroughSDK() error {
	fmt.Fprintf(d.out, "$ go: client.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: %q})\n", tableName)
	list, err := d.tablestore.ListDeliveryTask(&tablestore.ListDeliveryTaskRequest{TableName: tableName})
	if err != nil {
		return fmt.Errorf("ListDeliveryTask: %w", err)
	}
	for _, t := range list.Tasks {
		fmt.Fprintf(d.out, "  %s/%s  %s\n", t.TableName, t.TaskName, taskTypeName(t.TaskType))
	}
	fmt.Fprintf(d.out, "$ go: client.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: %q, TaskName: %q})\n", tableName, taskName)
	resp, err := d.tablestore.DescribeDeliveryTask(&tablestore.DescribeDeliveryTaskRequest{TableName: tableName, TaskName: taskName})
	if err != nil {
		return fmt.Errorf("DescribeDeliveryTask: %w", err)
	}
	printSDKDescribe(d.out, resp)
	return nil
}

func printSDKDescribe(w io.Writer, resp *tablestore.DescribeDeliveryTaskResponse) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k string, v any) { fmt.Fprintf(tw, "  %s:\t%v\n", k, v) }
	c, st := resp.TaskConfig, resp.TaskSyncStat
	line("TaskType", taskTypeName(resp.TaskType))
	line("OssBucket", c.OssBucket)
	line("OssPrefix", c.OssPrefix)
	line("OssEndpoint", c.OssEndpoint)
	line("OssRoleName", c.OssRoleName)
	schema := "(empty: automatic)"
	if len(c.Schema) > 0 {
		cols := make([]string, len(c.Schema))
		for i, s := range c.Schema {
			cols[i] = s.ColumnName
		}
		schema = strings.Join(cols, ", ")
	}
	line("Schema", schema)
	line("TaskSyncPhase", [...]string{"INIT", "FULL", "INCR"}[min(max(int(st.TaskSyncPhase), 0), 2)])
	line("CurrentSyncTimestamp", fmt.Sprintf("%d (%s)", st.CurrentSyncTimestamp, time.Unix(0, st.CurrentSyncTimestamp).UTC().Format(time.RFC3339)))
	line("ErrorCode", errorTypeName(st.ErrorCode))
	if st.Detail != "" {
		line("Detail", st.Detail)
	}
	_ = tw.Flush()
}

func taskTypeName(t tablestore.TaskType) string {
	switch t {
	case tablestore.BaseTask:
		return "BASE (full)"
	case tablestore.IncTask:
		return "INC (incremental)"
	case tablestore.BaseIncTask:
		return "BASE_INC (differential)"
	}
	return fmt.Sprint(int(t))
}

func errorTypeName(e tablestore.ErrorType) string {
	switch e {
	case 0:
		return "- (none)"
	case tablestore.ErrorTypeUnauthorized:
		return "UNAUTHORIZED"
	case tablestore.ErrorTypeInvalidOssBucket:
		return "INVALID_OSS_BUCKET"
	}
	return fmt.Sprint(int(e))
}
