// Package oss is the local cloud's OSS-compatible object store: an
// http.Handler that the unmodified aliyun-oss-go-sdk v3.0.2 talks to over
// HTTP, with objects stored durably under a data directory.
//
// Wiring:
//
//	srv, err := oss.New(oss.Config{
//		Region:      "cn-hangzhou",
//		Credentials: map[string]string{"local-dev-key": "local-dev-secret"},
//		DataDir:     dataDir,
//		Store:       store, // optional shared kv store; the index lives under "oss/" buckets
//		Logger:      logger,
//	})
//	...
//	httpServer := &http.Server{Handler: srv} // the Server itself, not under a ServeMux
//	...
//	httpServer.Shutdown(ctx); srv.Close()
//
// Clients: oss.New("http://127.0.0.1:PORT", ak, sk) uses path-style URLs by
// itself (an IP endpoint); for http://localhost:PORT add
// oss.ForcePathStyle(true). Virtual-hosted addressing is read from the Host
// header: <bucket>.<Config.VirtualHostSuffix>, <bucket>.<...>.aliyuncs.com
// (what ali-oss sends to an IP endpoint), <bucket>.<IP literal> and
// <bucket>.localhost; any other host is path style.
//
// What is served: V1, V2 and V4 signatures in the Authorization header and in
// presigned URLs; buckets (create with a region, list, IsBucketExist's
// listing, info, location, stat, ACL get/put, delete refusing non-empty
// buckets); objects (put with user metadata, tags, Content-MD5 check,
// x-oss-forbid-overwrite and If-* conditions, get with a byte range and If-*
// conditions, head, objectMeta, delete, delete multiple, copy including
// metadata replace and x-oss-copy-source-if-* conditions, append, symlinks,
// object ACL get/put, tagging get/put/delete, listing v1 and v2 with prefix,
// delimiter, marker or continuation token, max-keys and encoding-type=url);
// multipart uploads (initiate, upload part, upload part copy with source
// conditions, list parts, complete with part validation, abort, list
// uploads). Every response carries x-oss-request-id and, for objects, a
// correct x-oss-hash-crc64ecma (for multipart objects the CRC of the whole
// object, combined from the part CRCs). Errors use the OSS error XML; HEAD
// errors carry it base64-encoded in x-oss-err.
//
// An unsigned GET /healthz answers 200 "ok" (signed requests to a bucket
// named healthz are served normally).
//
// Regions: buckets are created in Config.Region unless the request names
// another, by <LocationConstraint>oss-REGION</LocationConstraint> in the
// CreateBucketConfiguration body (client.CreateBucketXml) or by the header
// x-oss-bucket-region: REGION (oss.SetHeader on client.CreateBucket), so
// callers can test a same-region rule against GetBucketInfo's Location.
//
// Storage: the handlers work through metaStore (meta.go), the object index
// in the manner of minio's ObjectLayer, and map its answers to OSS errors in
// one place (storeError) with one table of codes (errors.go). Object and part
// bytes are immutable files with random names under
// DataDir/oss/blobs, written to DataDir/oss/tmp first, fsynced and renamed;
// only then does the index (bbolt, fsynced on commit) point at them. So an
// object is visible exactly when complete, a crash never exposes a torn
// object, and start-up removes temporary files and unreferenced blobs. Keys
// never become file names. One Server per data directory.
//
// Not served (answer 501 NotImplemented, never a listing or a plain read):
// any request naming a sub-resource this server does not serve, among them
// live channels, request payment, resource groups, access monitor, QoS,
// regions, lifecycle/CORS/website/logging/referer/policy and other bucket
// configuration, bucket tagging, versioning, WORM, inventory, replication,
// server-side encryption, callbacks, image processing, archive restore.
// Anonymous requests are refused unless the object's ACL or, when it has
// none ("default"), the bucket's is public-read (GET/HEAD) or
// public-read-write (also PUT/DELETE).
//
// # Ledger: real-service behaviour and its evidence
//
//   - V1 date line: Date, or x-oss-date when the request has no Date.
//     ali-oss 6.23.0 lib/common/signUtils.js buildCanonicalString signs
//     `expires || headers['x-oss-date']` and sends no Date.
//   - Virtual-hosted Host for IP endpoints: ali-oss 6.23.0
//     lib/common/utils/createRequest.js sets Host <bucket>.oss-<region>.aliyuncs.com
//     (".oss-<region>..." with an empty label for service requests) and the
//     path /<key>. The Go SDK's TestUseCname sends <bucket>.<ip>.
//   - Object ACL: GetObjectACL answers "default" for an object without its
//     own ACL (Go SDK oss/bucket_test.go TestPutObjectOnly,
//     TestSetAndGetObjectAcl, SignURLTestFunc); PUT accepts default/private/public-read/
//     public-read-write, else 400 InvalidArgument.
//   - AppendObject: position must equal the length, else 409
//     PositionNotEqualToLength with x-oss-next-append-position; a non-appendable
//     object answers 409 ObjectNotAppendable; metadata is fixed by the first
//     append, a later append's x-oss-object-acl applies (Go SDK
//     TestAppendObject, TestAppendObjectNegative; help.aliyun.com AppendObject).
//     The ETag of an appendable object is the MD5 of its bytes (conservative:
//     the docs only say it is not guaranteed to be).
//   - Symlinks: x-oss-symlink-target is URL-encoded (Go SDK oss/bucket.go
//     PutSymlink/GetSymlink); reading a symlink reads its target; listings
//     show Type Symlink (TestSymlink). A missing target answers 404
//     SymlinkTargetNotExist and GetSymlink of a plain object 400 NotSymlink
//     (codes recalled from the OSS error reference, not checked against an
//     SDK; conservative). A symlink's ETag and size
//     (MD5 and length of the target key) are a conservative choice.
//   - Tagging: at most 10 tags, keys 1-128 and values up to 256 characters,
//     else 400 InvalidTag (help.aliyun.com PutObjectTagging); HEAD answers
//     x-oss-tagging-count.
//   - Multipart ETag: MD5 over the part ETags as concatenated upper-case hex
//     text, upper-case hex, suffixed -<parts>. Evidence: the Go SDK's
//     oss/download_test.go:206 (TestDownloadRoutineWithRecovery) and
//     oss/multicopy_test.go:316 (TestCopyRoutineWithRecovery) record the real
//     service's ETag of sample/BingWallpaper-2015-11-07.jpg uploaded in five
//     parts, "2351E662233817A7AE974D8C5B0876DD-5"; this rule reproduces it,
//     the S3 rule (MD5 of the binary part digests) gives 6F52A710...-5.
//   - x-oss-copy-source-if-match / -if-unmodified-since failing: 412
//     PreconditionFailed; -if-none-match / -if-modified-since failing: 304
//     (help.aliyun.com CopyObject; Go SDK TestCopyObject,
//     TestUploadPartCopyWithConstraints). The same on UploadPartCopy.
//   - PutObject with If-Match/If-None-Match/If-Modified-Since/
//     If-Unmodified-Since: Go SDK TestPutObjectType expects If-Modified-Since
//     on a missing key to fail; the status is undocumented, so a condition
//     that cannot hold answers 412 PreconditionFailed (conservative).
//     InitiateMultipartUpload ignores them (TestMultipartNegative).
//   - DeleteObjects keys as XML character references of characters XML 1.0
//     forbids (&#x0C;): accepted (the Go SDK writes them, oss/utils.go
//     EscapeXml; TestDeleteObjectsWithSpecialCharacter).
//   - ListBuckets with a prefix that cannot start a bucket name: an error
//     (Go SDK TestIsBucketExist); InvalidArgument is the conservative code.
//   - GetBucketInfo/ListBuckets ExtranetEndpoint and IntranetEndpoint are the
//     real oss-<region>[-internal].aliyuncs.com names (TestGetBucketInfo).
//   - An upload whose client closes the connection once the declared
//     Content-Length is in (the Go client's answer to a body longer than
//     its length) is not stored: the Go SDK's TestPutObjectWithLimitReaderLen
//     expects NoSuchKey afterwards.
//   - Unserved sub-resources answer 501 NotImplemented rather than a bucket
//     listing (issue 18: ?live, ?requestPayment, ?resourceGroup,
//     ?accessMonitor, service-level ?qos and ?regions returned listings).
package oss
