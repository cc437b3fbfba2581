module github.com/tablestore-delivery/terraform-provider-tablestore

go 1.26.0

require go.etcd.io/bbolt v1.5.0

require (
	github.com/aliyun/aliyun-tablestore-go-sdk v1.8.0 // indirect
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc // indirect
	github.com/golang/protobuf v1.3.2 // indirect
	github.com/google/flatbuffers v23.5.26+incompatible // indirect
	github.com/hashicorp/golang-lru v0.5.4 // indirect
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
