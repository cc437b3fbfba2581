package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/parquet-go/parquet-go"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/pipeline"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// deliveredObject is one object in the bucket with its Parquet row count.
type deliveredObject struct {
	Key  string
	Size int64
	Rows int64
	Path string // local copy
}

// downloadObjects lists the task's objects, copies them under dir with the
// same keys (so a hive-partitioned query can read them) and reads each
// Parquet footer for its row count.
func (d *demo) downloadObjects(ctx context.Context, dir string) ([]deliveredObject, error) {
	var objects []deliveredObject
	token := ""
	for {
		opts := []oss.Option{oss.Prefix(tableName + "/"), oss.MaxKeys(1000)}
		if token != "" {
			opts = append(opts, oss.ContinuationToken(token))
		}
		res, err := d.bucket.ListObjectsV2(opts...)
		if err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		for _, o := range res.Objects {
			objects = append(objects, deliveredObject{Key: o.Key, Size: o.Size})
		}
		if !res.IsTruncated {
			break
		}
		token = res.NextContinuationToken
	}
	if len(objects) == 0 {
		return nil, errors.New("no objects delivered")
	}
	for i := range objects {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o := &objects[i]
		body, err := d.bucket.GetObject(o.Key)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", o.Key, err)
		}
		data, err := io.ReadAll(body)
		_ = body.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", o.Key, err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s is not a Parquet file: %w", o.Key, err)
		}
		o.Rows = f.NumRows()
		o.Path = filepath.Join(dir, filepath.FromSlash(o.Key))
		if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(o.Path, data, 0o644); err != nil {
			return nil, err
		}
	}
	return objects, nil
}

// printObjects lists the objects: all of them when few, else the first and
// last ones, and the totals.
func printObjects(w io.Writer, objects []deliveredObject) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SIZE\tROWS\t KEY\t")
	var rows, size int64
	for i, o := range objects {
		rows += o.Rows
		size += o.Size
		if len(objects) > 16 && i == 8 {
			fmt.Fprintf(tw, "\t\t … %d more\t\n", len(objects)-16)
		}
		if len(objects) > 16 && i >= 8 && i < len(objects)-8 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t %s\t\n", formatBytes(o.Size), groupDigits(o.Rows), o.Key)
	}
	fmt.Fprintf(tw, "%s\t%s\t total in %d objects\t\n", formatBytes(size), groupDigits(rows), len(objects))
	_ = tw.Flush()
}

// queryResult is what the query over the delivered data found.
type queryResult struct {
	engine     string
	rows       int64
	distinct   int64
	partitions []string
}

// query counts the delivered rows and distinct order ids: with DuckDB over
// the executor's DuckDB DDL when node is installed (installing the pinned
// DuckDB package into tools/duckdb first, as `make tools` does, when npm is
// there and it is missing), else by reading the Parquet files with
// parquet-go.
func (d *demo) query(ctx context.Context, lakeDir string, objects []deliveredObject) (queryResult, error) {
	runJS := filepath.Join(d.opts.repoRoot, "tools", "duckdb", "run.js")
	if d.opts.engine == "parquet" {
		return queryParquet(objects)
	}
	err := d.ensureDuckDB(ctx)
	switch {
	case err == nil:
		return d.queryDuckDB(ctx, runJS, lakeDir)
	case d.opts.engine == "duckdb":
		return queryResult{}, fmt.Errorf("--query-engine duckdb: %w", err)
	}
	fmt.Fprintf(d.out, "(DuckDB not available: %v; counting with parquet-go instead)\n", err)
	return queryParquet(objects)
}

// ensureDuckDB makes sure node can run tools/duckdb/run.js: node on PATH,
// and the pinned @duckdb/node-api in tools/duckdb/node_modules, installed
// here with `npm install --prefix tools/duckdb` (the `make tools` recipe,
// which follows package-lock.json) when it is missing.
func (d *demo) ensureDuckDB(ctx context.Context) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH")
	}
	dir := filepath.Join(d.opts.repoRoot, "tools", "duckdb")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err == nil {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("tools/duckdb/node_modules is missing and npm is not on PATH to install it")
	}
	fmt.Fprintln(d.out, "$ npm install --prefix tools/duckdb --no-audit --no-fund   (the pinned DuckDB package, as `make tools` does)")
	// npm adds the other platforms' optional packages to the lock file;
	// put the committed one back so the demo leaves the clone unchanged.
	lockFile := filepath.Join(dir, "package-lock.json")
	lock, lockErr := os.ReadFile(lockFile)
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	if lockErr == nil {
		if werr := os.WriteFile(lockFile, lock, 0o644); werr != nil {
			return fmt.Errorf("restore %s: %w", lockFile, werr)
		}
	}
	if err != nil {
		return fmt.Errorf("npm install --prefix tools/duckdb: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (d *demo) queryDuckDB(ctx context.Context, runJS, lakeDir string) (queryResult, error) {
	location := filepath.ToSlash(filepath.Join(lakeDir, tableName)) + "/"
	ddl, err := d.api.GetDDL(ctx, tableName, taskName, task.DialectDuckDB, client.DDLLocation(location))
	if err != nil {
		return queryResult{}, fmt.Errorf("duckdb DDL: %w", err)
	}
	fmt.Fprintf(d.out, "DuckDB, over a local copy of the bucket:\n%s\n", indent(strings.TrimSpace(ddl.Statement)))
	totalsSQL := fmt.Sprintf("SELECT count(*) AS row_count, count(DISTINCT order_id) AS distinct_ids FROM %s", tableName)
	partsSQL := fmt.Sprintf("SELECT year, month, day, count(*) AS row_count, round(sum(amount), 2) AS revenue FROM %s GROUP BY ALL ORDER BY ALL", tableName)
	fmt.Fprintf(d.out, "%s;\n%s;\n", indent(totalsSQL), indent(partsSQL))
	totals, err := runDuckDB(ctx, runJS, ddl.Statement, totalsSQL)
	if err != nil {
		return queryResult{}, err
	}
	if len(totals) != 1 {
		return queryResult{}, fmt.Errorf("duckdb: %d result rows, want 1", len(totals))
	}
	res := queryResult{engine: "DuckDB"}
	if err := jsonInt(totals[0]["row_count"], &res.rows); err != nil {
		return res, err
	}
	if err := jsonInt(totals[0]["distinct_ids"], &res.distinct); err != nil {
		return res, err
	}
	parts, err := runDuckDB(ctx, runJS, ddl.Statement, partsSQL)
	if err != nil {
		return res, err
	}
	for _, p := range parts {
		res.partitions = append(res.partitions, fmt.Sprintf("year=%s month=%s day=%s: %s rows, revenue %s",
			jsonText(p["year"]), jsonText(p["month"]), jsonText(p["day"]), jsonText(p["row_count"]), jsonText(p["revenue"])))
	}
	return res, nil
}

// runDuckDB runs statements through tools/duckdb/run.js and returns the rows
// of the last one.
func runDuckDB(ctx context.Context, runJS string, statements ...string) ([]map[string]json.RawMessage, error) {
	in, err := json.Marshal(map[string][]string{"statements": statements})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", runJS)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb: %w: %s", err, stderr.String())
	}
	var out struct {
		Rows []map[string]json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("duckdb output: %w", err)
	}
	return out.Rows, nil
}

// jsonInt reads a count that DuckDB prints as a number or, for BIGINT, a string.
func jsonInt(raw json.RawMessage, dst *int64) error {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		_, err := fmt.Sscan(s, dst)
		return err
	}
	return json.Unmarshal(raw, dst)
}

func jsonText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// queryParquet counts rows and distinct order ids by reading every file, and
// rows per partition from the keys' key=value folders.
func queryParquet(objects []deliveredObject) (queryResult, error) {
	res := queryResult{engine: "parquet-go"}
	ids := map[string]struct{}{}
	perPartition := map[string]int64{}
	for _, o := range objects {
		data, err := os.ReadFile(o.Path)
		if err != nil {
			return res, err
		}
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return res, fmt.Errorf("%s: %w", o.Key, err)
		}
		if err := pipeline.ColumnValues(f, "order_id", func(v parquet.Value) { ids[v.String()] = struct{}{} }); err != nil {
			return res, fmt.Errorf("%s: %w", o.Key, err)
		}
		res.rows += f.NumRows()
		perPartition[partitionOf(o.Key)] += f.NumRows()
	}
	res.distinct = int64(len(ids))
	keys := make([]string, 0, len(perPartition))
	for k := range perPartition {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.partitions = append(res.partitions, fmt.Sprintf("%s: %s rows", k, groupDigits(perPartition[k])))
	}
	return res, nil
}

// partitionOf returns the key=value folders of an object key (not its name,
// which repeats the evaluated prefix).
func partitionOf(key string) string {
	var parts []string
	folders := strings.Split(key, "/")
	for _, folder := range folders[:len(folders)-1] {
		if strings.Contains(folder, "=") {
			parts = append(parts, folder)
		}
	}
	return strings.Join(parts, " ")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
