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
// oss.ForcePathStyle(true). Virtual-host addressing (<bucket>.<suffix>) is
// served when Config.VirtualHostSuffix is set.
//
// What is served: V1, V2 and V4 signatures in the Authorization header and in
// presigned URLs; buckets (create with a region, list, IsBucketExist's
// listing, info, location, ACL get/put, delete refusing non-empty buckets);
// objects (put with user metadata, Content-MD5 check and
// x-oss-forbid-overwrite, get with a byte range and If-* conditions, head,
// objectMeta, delete, delete multiple, copy including metadata replace,
// listing v1 and v2 with prefix, delimiter, marker or continuation token,
// max-keys and encoding-type=url); multipart uploads (initiate, upload part,
// upload part copy, list parts, complete with part validation, abort, list
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
// Storage: object and part bytes are immutable files with random names under
// DataDir/oss/blobs, written to DataDir/oss/tmp first, fsynced and renamed;
// only then does the index (bbolt, fsynced on commit) point at them. So an
// object is visible exactly when complete, a crash never exposes a torn
// object, and start-up removes temporary files and unreferenced blobs. Keys
// never become file names. One Server per data directory.
//
// Not served (answer NotImplemented): append, symlinks, tagging, object
// ACLs, lifecycle/CORS/website/logging/policy and other bucket
// configuration, versioning, server-side encryption, callbacks, image
// processing. Anonymous requests are refused unless a bucket's ACL is
// public-read (GET/HEAD objects) or public-read-write (also PUT/DELETE).
package oss
