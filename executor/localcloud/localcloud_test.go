package localcloud_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/plainbuffer"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

const (
	keyID  = "start-key"
	secret = "start-secret"
)

func start(t *testing.T, dir string) *localcloud.Cloud {
	t.Helper()
	c, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: dir, Credentials: map[string]string{keyID: secret}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStartServesBothEndpointsAndKeepsDataAcrossRestart drives the
// unmodified SDKs against a started local cloud, closes it, starts another
// over the same data dir and reads everything back.
func TestStartServesBothEndpointsAndKeepsDataAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	c := start(t, dir)
	for _, u := range []string{c.TablestoreURL, c.OSSURL} {
		resp, err := http.Get(u + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/healthz: %d", u, resp.StatusCode)
		}
	}
	ots := tablestore.NewClient(c.TablestoreURL, c.Instance, keyID, secret)
	meta := &tablestore.TableMeta{TableName: "t"}
	meta.AddPrimaryKeyColumn("id", tablestore.PrimaryKeyType_INTEGER)
	if _, err := ots.CreateTable(&tablestore.CreateTableRequest{TableMeta: meta,
		TableOption: &tablestore.TableOption{TimeToAlive: -1, MaxVersion: 1}, ReservedThroughput: &tablestore.ReservedThroughput{}}); err != nil {
		t.Fatal(err)
	}
	put := &tablestore.PutRowChange{TableName: "t", PrimaryKey: &tablestore.PrimaryKey{}}
	put.PrimaryKey.AddPrimaryKeyColumn("id", int64(7))
	put.AddColumn("v", "seven")
	put.SetCondition(tablestore.RowExistenceExpectation_IGNORE)
	if _, err := ots.PutRow(&tablestore.PutRowRequest{PutRowChange: put}); err != nil {
		t.Fatal(err)
	}
	ossc, err := oss.New(c.OSSURL, keyID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := ossc.CreateBucket("lake"); err != nil {
		t.Fatal(err)
	}
	bucket, _ := ossc.Bucket("lake")
	if err := bucket.PutObject("k", bytes.NewReader([]byte("body"))); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(c.TablestoreURL + "/healthz"); err == nil {
		t.Fatal("the closed local cloud still answers")
	}

	c2 := start(t, dir)
	defer func() { _ = c2.Close() }()
	ots = tablestore.NewClient(c2.TablestoreURL, c2.Instance, keyID, secret)
	get := &tablestore.SingleRowQueryCriteria{TableName: "t", PrimaryKey: &tablestore.PrimaryKey{}, MaxVersion: 1}
	get.PrimaryKey.AddPrimaryKeyColumn("id", int64(7))
	row, err := ots.GetRow(&tablestore.GetRowRequest{SingleRowQueryCriteria: get})
	if err != nil {
		t.Fatal(err)
	}
	if len(row.Columns) != 1 || row.Columns[0].Value != "seven" {
		t.Fatalf("row after restart: %+v", row.Columns)
	}
	ossc, _ = oss.New(c2.OSSURL, keyID, secret)
	bucket, _ = ossc.Bucket("lake")
	body, err := bucket.GetObject("k")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	_ = body.Close()
	if string(data) != "body" {
		t.Fatalf("object after restart: %q", data)
	}
}

// TestStartRefusesAConfigWithoutCredentialsOrDataDir names the field.
func TestStartRefusesAConfigWithoutCredentialsOrDataDir(t *testing.T) {
	for _, tc := range []struct {
		cfg  localcloud.Config
		want string
	}{
		{localcloud.Config{DataDir: t.TempDir()}, "Credentials"},
		{localcloud.Config{Credentials: map[string]string{keyID: secret}}, "DataDir"},
	} {
		_, err := localcloud.Start(context.Background(), tc.cfg)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Fatalf("Start(%+v) = %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

// TestStartWiresSplitsAndRetention checks the Tunnel-related settings reach
// the Tablestore endpoint: the retention, automatic splits, and the split
// admin route, which injected faults never touch.
func TestStartWiresSplitsAndRetention(t *testing.T) {
	faults := fault.New(fault.Options{})
	if err := faults.Set(fault.Tablestore, fault.Rule{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	c, err := localcloud.Start(context.Background(), localcloud.Config{DataDir: t.TempDir(), Credentials: map[string]string{keyID: secret},
		StreamRetention: 90 * time.Second, SplitRows: 100, Shards: 1, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got := c.Tablestore.Storage().ChangeRetention(); got != 90*time.Second {
		t.Fatalf("change retention %v, want the configured 90s", got)
	}
	st := c.Tablestore.Storage()
	if _, err := st.CreateTable(c.Instance, storage.TableMeta{Name: "t", PrimaryKey: []storage.PKColumn{{Name: "id", Type: storage.PKInteger}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := st.Write(c.Instance, []storage.Mutation{{Table: "t", Type: storage.ChangePut,
			PrimaryKey: []plainbuffer.Cell{{Name: "id", Value: plainbuffer.Int(int64(i))}},
			Cells:      []plainbuffer.Cell{{Name: "v", Value: plainbuffer.Int(1)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if parts, err := st.Partitions(c.Instance, "t"); err != nil || len(parts) < 3 {
		t.Fatalf("SplitRows 100 left %d partitions after 300 rows: %v", len(parts), err)
	}
	resp, err := http.Post(c.TablestoreURL+"/_admin/tables/t/split", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"children"`)) {
		t.Fatalf("split under an error rate of 1: %d %s", resp.StatusCode, body)
	}
}
