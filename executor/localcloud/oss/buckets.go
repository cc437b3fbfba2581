package oss

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ownerID is the one account that owns everything on this endpoint.
const ownerID = "1000000000000000"

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

var theOwner = xmlOwner{ID: ownerID, DisplayName: ownerID}

// xmlTime renders times the way OSS does (RFC 3339 with milliseconds),
// which the SDK's time.Time fields parse.
func xmlTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// maxXMLBody bounds request bodies that are parsed in memory.
const maxXMLBody = 4 << 20

func readXMLBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil {
		return errorFor(codeIncompleteBody, "Could not read the request body: "+err.Error())
	}
	if len(body) > maxXMLBody {
		return errorFor(codeEntityTooLarge, "The XML body is too large.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return errMalformedXML(err)
	}
	return nil
}

func writeXML(rc *requestContext, status int, v any) *apiError {
	out, err := xml.Marshal(v)
	if err != nil {
		return errInternal(fmt.Errorf("encode response: %w", err))
	}
	body := append([]byte(xml.Header), out...)
	h := rc.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	rc.w.WriteHeader(status)
	if rc.r.Method != http.MethodHead {
		_, _ = rc.w.Write(body)
	}
	return nil
}

func writeEmpty(rc *requestContext, status int) *apiError {
	rc.w.Header().Set("Content-Length", "0")
	rc.w.WriteHeader(status)
	return nil
}

func validACL(acl string) bool {
	switch acl {
	case "private", "public-read", "public-read-write":
		return true
	}
	return false
}

// lookupBucket reads a bucket record or answers NoSuchBucket.
func (s *Server) lookupBucket(name string) (*bucketRecord, *apiError) {
	rec, err := s.meta.Bucket(name)
	if err != nil {
		return nil, storeError(err, name, "", "")
	}
	return rec, nil
}

// allowAnonymous lets unsigned requests through only where a bucket ACL
// makes objects public; everything else needs a signature.
func (s *Server) allowAnonymous(rc *requestContext) *apiError {
	denied := errAccessDenied("You have no right to access this object because of bucket acl.")
	if rc.target.Bucket == "" || rc.target.Key == "" {
		return denied
	}
	rec, apiErr := s.lookupBucket(rc.target.Bucket)
	if apiErr != nil {
		return apiErr
	}
	// An object's own ACL, when it has one, takes precedence over the
	// bucket's (OSS "Object ACL": default means inherit the bucket ACL).
	acl := rec.ACL
	if obj, apiErr := s.lookupObject(rc.target.Bucket, rc.target.Key); apiErr == nil && obj.ACL != "" {
		acl = obj.ACL
	}
	switch rc.r.Method {
	case http.MethodGet, http.MethodHead:
		if acl == "public-read" || acl == "public-read-write" {
			return nil
		}
	case http.MethodPut, http.MethodDelete:
		if acl == "public-read-write" && len(rc.query) == 0 {
			return nil
		}
	}
	return denied
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	StorageClass       string   `xml:"StorageClass"`
	DataRedundancyType string   `xml:"DataRedundancyType"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s *Server) createBucket(rc *requestContext) *apiError {
	var conf createBucketConfiguration
	if apiErr := readXMLBody(rc.r, &conf); apiErr != nil {
		return apiErr
	}
	region := s.region
	if loc := conf.LocationConstraint; loc != "" {
		region = regionOfLocation(loc)
	}
	if h := rc.r.Header.Get("x-oss-bucket-region"); h != "" {
		region = regionOfLocation(h)
	}
	if !validRegion(region) {
		return errorFor(codeInvalidLocationConstraint, "The specified location-constraint is not valid.")
	}
	acl := rc.r.Header.Get("x-oss-acl")
	if acl == "" {
		acl = "private"
	}
	if !validACL(acl) {
		return errInvalidArgument("no such bucket access control exists: %q", acl)
	}
	storageClass := conf.StorageClass
	if storageClass == "" {
		storageClass = "Standard"
	}
	switch storageClass {
	case "Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive":
	default:
		return errorFor(codeInvalidStorageClass, "The storage class you specified is not valid.")
	}
	redundancy := conf.DataRedundancyType
	if redundancy == "" {
		redundancy = "LRS"
	}
	if redundancy != "LRS" && redundancy != "ZRS" {
		return errInvalidArgument("invalid DataRedundancyType %q", redundancy)
	}
	name := rc.target.Bucket
	rec := bucketRecord{Name: name, Region: region, CreationDate: time.Now().UTC(), StorageClass: storageClass, Redundancy: redundancy, ACL: acl}
	existing, _, err := s.meta.CreateBucket(rec)
	if err != nil {
		return errInternal(err)
	}
	// Re-creating your own bucket succeeds, as on OSS, unless the request
	// asks for a different region.
	conflict := existing != nil && existing.Region != region
	if conflict {
		return errorFor(codeBucketAlreadyExists, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	}
	rc.w.Header().Set("Location", "/"+name)
	return writeEmpty(rc, http.StatusOK)
}

func (s *Server) deleteBucket(rc *requestContext) *apiError {
	name := rc.target.Bucket
	if err := s.meta.DeleteBucket(name); err != nil {
		return storeError(err, name, "", "")
	}
	return writeEmpty(rc, http.StatusNoContent)
}

func (s *Server) headBucket(rc *requestContext) *apiError {
	if _, apiErr := s.lookupBucket(rc.target.Bucket); apiErr != nil {
		return apiErr
	}
	return writeEmpty(rc, http.StatusOK)
}

func (s *Server) getBucketInfo(rc *requestContext) *apiError {
	rec, apiErr := s.lookupBucket(rc.target.Bucket)
	if apiErr != nil {
		return apiErr
	}
	type sseRule struct {
		SSEAlgorithm string `xml:"SSEAlgorithm"`
	}
	type bucketInfo struct {
		XMLName                xml.Name `xml:"BucketInfo"`
		Name                   string   `xml:"Bucket>Name"`
		AccessMonitor          string   `xml:"Bucket>AccessMonitor"`
		Location               string   `xml:"Bucket>Location"`
		Region                 string   `xml:"Bucket>Region"`
		CreationDate           string   `xml:"Bucket>CreationDate"`
		ExtranetEndpoint       string   `xml:"Bucket>ExtranetEndpoint"`
		IntranetEndpoint       string   `xml:"Bucket>IntranetEndpoint"`
		ACL                    string   `xml:"Bucket>AccessControlList>Grant"`
		DataRedundancyType     string   `xml:"Bucket>DataRedundancyType"`
		Owner                  xmlOwner `xml:"Bucket>Owner"`
		StorageClass           string   `xml:"Bucket>StorageClass"`
		SSE                    sseRule  `xml:"Bucket>ServerSideEncryptionRule"`
		Versioning             string   `xml:"Bucket>Versioning"`
		TransferAcceleration   string   `xml:"Bucket>TransferAcceleration"`
		CrossRegionReplication string   `xml:"Bucket>CrossRegionReplication"`
	}
	return writeXML(rc, http.StatusOK, bucketInfo{
		Name:                   rec.Name,
		AccessMonitor:          "Disabled",
		Location:               locationOf(rec.Region),
		Region:                 rec.Region,
		CreationDate:           xmlTime(rec.CreationDate),
		ExtranetEndpoint:       extranetEndpoint(rec.Region),
		IntranetEndpoint:       intranetEndpoint(rec.Region),
		ACL:                    rec.ACL,
		DataRedundancyType:     rec.Redundancy,
		Owner:                  theOwner,
		StorageClass:           rec.StorageClass,
		SSE:                    sseRule{SSEAlgorithm: "None"},
		Versioning:             "",
		TransferAcceleration:   "Disabled",
		CrossRegionReplication: "Disabled",
	})
}

func (s *Server) getBucketLocation(rc *requestContext) *apiError {
	rec, apiErr := s.lookupBucket(rc.target.Bucket)
	if apiErr != nil {
		return apiErr
	}
	type location struct {
		XMLName  xml.Name `xml:"LocationConstraint"`
		Location string   `xml:",chardata"`
	}
	return writeXML(rc, http.StatusOK, location{Location: locationOf(rec.Region)})
}

func (s *Server) getBucketACL(rc *requestContext) *apiError {
	rec, apiErr := s.lookupBucket(rc.target.Bucket)
	if apiErr != nil {
		return apiErr
	}
	type policy struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
		Owner   xmlOwner `xml:"Owner"`
		Grant   string   `xml:"AccessControlList>Grant"`
	}
	return writeXML(rc, http.StatusOK, policy{Owner: theOwner, Grant: rec.ACL})
}

func (s *Server) putBucketACL(rc *requestContext) *apiError {
	acl := rc.r.Header.Get("x-oss-acl")
	if !validACL(acl) {
		return errInvalidArgument("no such bucket access control exists: %q", acl)
	}
	name := rc.target.Bucket
	if err := s.meta.UpdateBucket(name, func(rec *bucketRecord) { rec.ACL = acl }); err != nil {
		return storeError(err, name, "", "")
	}
	return writeEmpty(rc, http.StatusOK)
}

// parseMaxKeys reads a max-keys style parameter: default def, at most limit.
func parseMaxKeys(rc *requestContext, name string, def, limit int) (int, *apiError) {
	text := rc.query.Get(name)
	if text == "" {
		return def, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 0 || n > limit {
		return 0, errInvalidArgument("%s must be an integer between 0 and %d, got %q", name, limit, text)
	}
	return n, nil
}

// extranetEndpoint and intranetEndpoint are the endpoint names the real
// service reports for a bucket's region in GetBucketInfo and ListBuckets (the
// Go SDK's TestGetBucketInfo checks they end in ".com"). They name Alibaba's
// domains, not this server: a client must keep using the endpoint it was
// configured with.
func extranetEndpoint(region string) string { return locationOf(region) + ".aliyuncs.com" }
func intranetEndpoint(region string) string { return locationOf(region) + "-internal.aliyuncs.com" }

// validBucketPrefix reports whether a ListBuckets prefix could start a
// bucket name (lower-case letters, digits and '-').
func validBucketPrefix(prefix string) bool {
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func (s *Server) listBuckets(rc *requestContext) *apiError {
	prefix := rc.query.Get("prefix")
	if !validBucketPrefix(prefix) {
		// The Go SDK's TestIsBucketExist expects IsBucketExist("BucketNameInvalid")
		// (a ListBuckets with that prefix) to fail; the code is undocumented,
		// InvalidArgument is the conservative reading.
		return errInvalidArgument("prefix %q cannot start a bucket name (lower-case letters, digits and '-').", prefix)
	}
	marker := rc.query.Get("marker")
	maxKeys, apiErr := parseMaxKeys(rc, "max-keys", 100, 1000)
	if apiErr != nil {
		return apiErr
	}
	type bucketEntry struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		Location     string `xml:"Location"`
		ExtranetEP   string `xml:"ExtranetEndpoint"`
		IntranetEP   string `xml:"IntranetEndpoint"`
		Region       string `xml:"Region"`
		StorageClass string `xml:"StorageClass"`
	}
	type result struct {
		XMLName     xml.Name      `xml:"ListAllMyBucketsResult"`
		Prefix      string        `xml:"Prefix"`
		Marker      string        `xml:"Marker"`
		MaxKeys     int           `xml:"MaxKeys"`
		IsTruncated bool          `xml:"IsTruncated"`
		NextMarker  string        `xml:"NextMarker,omitempty"`
		Owner       xmlOwner      `xml:"Owner"`
		Buckets     []bucketEntry `xml:"Buckets>Bucket"`
	}
	out := result{Prefix: prefix, Marker: marker, MaxKeys: maxKeys, Owner: theOwner}
	buckets, truncated, err := s.meta.ListBuckets(prefix, marker, maxKeys)
	if err != nil {
		return errInternal(err)
	}
	for _, rec := range buckets {
		out.Buckets = append(out.Buckets, bucketEntry{
			Name: rec.Name, CreationDate: xmlTime(rec.CreationDate), Location: locationOf(rec.Region),
			ExtranetEP: extranetEndpoint(rec.Region), IntranetEP: intranetEndpoint(rec.Region), Region: rec.Region, StorageClass: rec.StorageClass,
		})
	}
	if truncated && len(buckets) > 0 {
		out.IsTruncated = true
		out.NextMarker = buckets[len(buckets)-1].Name
	}
	return writeXML(rc, http.StatusOK, out)
}

func (s *Server) getBucketStat(rc *requestContext) *apiError {
	bucket := rc.target.Bucket
	type stat struct {
		XMLName              xml.Name `xml:"BucketStat"`
		Storage              int64    `xml:"Storage"`
		ObjectCount          int64    `xml:"ObjectCount"`
		MultipartUploadCount int64    `xml:"MultipartUploadCount"`
		LiveChannelCount     int64    `xml:"LiveChannelCount"`
		LastModifiedTime     int64    `xml:"LastModifiedTime"`
		StandardStorage      int64    `xml:"StandardStorage"`
		StandardObjectCount  int64    `xml:"StandardObjectCount"`
	}
	st, err := s.meta.BucketStat(bucket)
	if err != nil {
		return storeError(err, bucket, "", "")
	}
	out := stat{Storage: st.Storage, ObjectCount: st.ObjectCount, MultipartUploadCount: st.MultipartUploadCount, LastModifiedTime: st.LastModifiedUnix}
	out.StandardStorage, out.StandardObjectCount = out.Storage, out.ObjectCount
	return writeXML(rc, http.StatusOK, out)
}
