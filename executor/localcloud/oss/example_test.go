package oss_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"os"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/oss"
)

// The official SDK, unmodified, against the local endpoint.
func ExampleNew() {
	dataDir, _ := os.MkdirTemp("", "oss-example-")
	defer os.RemoveAll(dataDir)

	srv, err := oss.New(oss.Config{
		Credentials: map[string]string{"local-dev-key": "local-dev-secret"},
		DataDir:     dataDir,
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	endpoint := httptest.NewServer(srv) // the Server is the whole handler
	defer endpoint.Close()

	client, _ := sdk.New(endpoint.URL, "local-dev-key", "local-dev-secret") // 127.0.0.1: path style
	_ = client.CreateBucket("lake")
	info, _ := client.GetBucketInfo("lake")
	bucket, _ := client.Bucket("lake")
	_ = bucket.PutObject("orders/2024/part-0.parquet", bytes.NewReader([]byte("PAR1...")))
	body, _ := bucket.GetObject("orders/2024/part-0.parquet")
	data, _ := io.ReadAll(body)
	body.Close()

	fmt.Println(info.BucketInfo.Location, string(data))
	// Output: oss-cn-hangzhou PAR1...
}
