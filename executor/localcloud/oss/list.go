package oss

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// listEntry is one object in a listing.
type listEntry struct {
	Key string
	Rec objectRecord
}

// listing is one page of a bucket listing.
type listing struct {
	Objects   []listEntry
	Prefixes  []string
	Truncated bool
	Next      string // last key or common prefix returned, when truncated
}

// successor returns the smallest string greater than every string that
// starts with p ("" if there is none), to skip a whole common prefix.
func successor(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// walkObjects lists keys of a bucket that start with prefix and sort after
// `after`, rolling keys up to the first delimiter after the prefix into
// common prefixes, at most max entries (objects plus prefixes).
func walkObjects(tx *bolt.Tx, bucket, prefix, delimiter, after string, max int) (listing, error) {
	var out listing
	objects, err := objectsOf(tx, bucket)
	if err != nil || objects == nil {
		return out, err
	}
	c := objects.Cursor()
	start := prefix
	if after >= start {
		start = after + "\x00"
	}
	count := 0
	k, v := c.Seek([]byte(start))
	for k != nil && hasPrefix(k, prefix) {
		key := string(k)
		if delimiter != "" {
			if i := strings.Index(key[len(prefix):], delimiter); i >= 0 {
				common := key[:len(prefix)+i+len(delimiter)]
				next := successor(common)
				if common > after {
					if count == max {
						out.Truncated = true
						return out, nil
					}
					out.Prefixes = append(out.Prefixes, common)
					out.Next = common
					count++
				}
				if next == "" {
					break
				}
				k, v = c.Seek([]byte(next))
				continue
			}
		}
		if count == max {
			out.Truncated = true
			return out, nil
		}
		var rec objectRecord
		if err := jsonUnmarshal(v, &rec); err != nil {
			return out, err
		}
		out.Objects = append(out.Objects, listEntry{Key: key, Rec: rec})
		out.Next = key
		count++
		k, v = c.Next()
	}
	return out, nil
}

type xmlContents struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Type         string    `xml:"Type"`
	Size         int64     `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *xmlOwner `xml:"Owner,omitempty"`
}

type xmlCommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

func contentsOf(l listing, encode, withOwner bool) ([]xmlContents, []xmlCommonPrefix) {
	var contents []xmlContents
	for _, e := range l.Objects {
		storageClass := e.Rec.StorageClass
		if storageClass == "" {
			storageClass = "Standard"
		}
		c := xmlContents{
			Key: urlEncodeIf(encode, e.Key), LastModified: xmlTime(e.Rec.LastModified), ETag: quoteETag(e.Rec.ETag),
			Type: e.Rec.Type, Size: e.Rec.Size, StorageClass: storageClass,
		}
		if withOwner {
			owner := theOwner
			c.Owner = &owner
		}
		contents = append(contents, c)
	}
	var prefixes []xmlCommonPrefix
	for _, p := range l.Prefixes {
		prefixes = append(prefixes, xmlCommonPrefix{Prefix: urlEncodeIf(encode, p)})
	}
	return contents, prefixes
}

func (s *Server) listPage(rc *requestContext, prefix, delimiter, after string, max int) (listing, *apiError) {
	var out listing
	var apiErr *apiError
	err := s.index.store.View(func(tx *bolt.Tx) error {
		b, err := bucketOf(tx, rc.target.Bucket)
		if err != nil {
			return err
		}
		if b == nil {
			apiErr = errNoSuchBucket(rc.target.Bucket)
			return nil
		}
		out, err = walkObjects(tx, rc.target.Bucket, prefix, delimiter, after, max)
		return err
	})
	if err != nil {
		return out, errInternal(err)
	}
	return out, apiErr
}

func encodingType(rc *requestContext) (bool, *apiError) {
	switch et := rc.query.Get("encoding-type"); et {
	case "":
		return false, nil
	case "url":
		return true, nil
	default:
		return false, errInvalidArgument("unsupported encoding-type %q", et)
	}
}

func (s *Server) listObjectsV1(rc *requestContext) *apiError {
	encode, apiErr := encodingType(rc)
	if apiErr != nil {
		return apiErr
	}
	maxKeys, apiErr := parseMaxKeys(rc, "max-keys", 100, 1000)
	if apiErr != nil {
		return apiErr
	}
	prefix, delimiter, marker := rc.query.Get("prefix"), rc.query.Get("delimiter"), rc.query.Get("marker")
	page, apiErr := s.listPage(rc, prefix, delimiter, marker, maxKeys)
	if apiErr != nil {
		return apiErr
	}
	type result struct {
		XMLName        xml.Name          `xml:"ListBucketResult"`
		Name           string            `xml:"Name"`
		Prefix         string            `xml:"Prefix"`
		Marker         string            `xml:"Marker"`
		MaxKeys        int               `xml:"MaxKeys"`
		Delimiter      string            `xml:"Delimiter"`
		EncodingType   string            `xml:"EncodingType,omitempty"`
		IsTruncated    bool              `xml:"IsTruncated"`
		NextMarker     string            `xml:"NextMarker,omitempty"`
		Contents       []xmlContents     `xml:"Contents"`
		CommonPrefixes []xmlCommonPrefix `xml:"CommonPrefixes"`
	}
	out := result{
		Name: rc.target.Bucket, Prefix: urlEncodeIf(encode, prefix), Marker: urlEncodeIf(encode, marker),
		MaxKeys: maxKeys, Delimiter: urlEncodeIf(encode, delimiter), IsTruncated: page.Truncated,
	}
	if encode {
		out.EncodingType = "url"
	}
	if page.Truncated {
		out.NextMarker = urlEncodeIf(encode, page.Next)
	}
	out.Contents, out.CommonPrefixes = contentsOf(page, encode, true)
	return writeXML(rc, http.StatusOK, out)
}

func (s *Server) listObjectsV2(rc *requestContext) *apiError {
	encode, apiErr := encodingType(rc)
	if apiErr != nil {
		return apiErr
	}
	maxKeys, apiErr := parseMaxKeys(rc, "max-keys", 100, 1000)
	if apiErr != nil {
		return apiErr
	}
	prefix, delimiter := rc.query.Get("prefix"), rc.query.Get("delimiter")
	startAfter, token := rc.query.Get("start-after"), rc.query.Get("continuation-token")
	after := startAfter
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return errInvalidArgument("The continuation token is not valid.")
		}
		after = string(raw)
	}
	page, apiErr := s.listPage(rc, prefix, delimiter, after, maxKeys)
	if apiErr != nil {
		return apiErr
	}
	type result struct {
		XMLName               xml.Name          `xml:"ListBucketResult"`
		Name                  string            `xml:"Name"`
		Prefix                string            `xml:"Prefix"`
		StartAfter            string            `xml:"StartAfter,omitempty"`
		ContinuationToken     string            `xml:"ContinuationToken,omitempty"`
		MaxKeys               int               `xml:"MaxKeys"`
		Delimiter             string            `xml:"Delimiter"`
		EncodingType          string            `xml:"EncodingType,omitempty"`
		IsTruncated           bool              `xml:"IsTruncated"`
		NextContinuationToken string            `xml:"NextContinuationToken,omitempty"`
		KeyCount              int               `xml:"KeyCount"`
		Contents              []xmlContents     `xml:"Contents"`
		CommonPrefixes        []xmlCommonPrefix `xml:"CommonPrefixes"`
	}
	out := result{
		Name: rc.target.Bucket, Prefix: urlEncodeIf(encode, prefix), StartAfter: urlEncodeIf(encode, startAfter),
		ContinuationToken: token, MaxKeys: maxKeys, Delimiter: urlEncodeIf(encode, delimiter), IsTruncated: page.Truncated,
		KeyCount: len(page.Objects) + len(page.Prefixes),
	}
	if encode {
		out.EncodingType = "url"
	}
	if page.Truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(page.Next))
	}
	out.Contents, out.CommonPrefixes = contentsOf(page, encode, rc.query.Get("fetch-owner") == "true")
	return writeXML(rc, http.StatusOK, out)
}

// listObjectVersions answers GET /bucket/?versions for an unversioned
// bucket: every object is its own single "null" version. The SDK's test
// helpers (ForceDeleteBucket) use it.
func (s *Server) listObjectVersions(rc *requestContext) *apiError {
	encode, apiErr := encodingType(rc)
	if apiErr != nil {
		return apiErr
	}
	maxKeys, apiErr := parseMaxKeys(rc, "max-keys", 100, 1000)
	if apiErr != nil {
		return apiErr
	}
	prefix, delimiter, marker := rc.query.Get("prefix"), rc.query.Get("delimiter"), rc.query.Get("key-marker")
	page, apiErr := s.listPage(rc, prefix, delimiter, marker, maxKeys)
	if apiErr != nil {
		return apiErr
	}
	type version struct {
		Key          string   `xml:"Key"`
		VersionID    string   `xml:"VersionId"`
		IsLatest     bool     `xml:"IsLatest"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
		Type         string   `xml:"Type"`
		Size         int64    `xml:"Size"`
		StorageClass string   `xml:"StorageClass"`
		Owner        xmlOwner `xml:"Owner"`
	}
	type result struct {
		XMLName        xml.Name          `xml:"ListVersionsResult"`
		Name           string            `xml:"Name"`
		Prefix         string            `xml:"Prefix"`
		KeyMarker      string            `xml:"KeyMarker"`
		MaxKeys        int               `xml:"MaxKeys"`
		Delimiter      string            `xml:"Delimiter"`
		IsTruncated    bool              `xml:"IsTruncated"`
		NextKeyMarker  string            `xml:"NextKeyMarker,omitempty"`
		Versions       []version         `xml:"Version"`
		CommonPrefixes []xmlCommonPrefix `xml:"CommonPrefixes"`
	}
	out := result{Name: rc.target.Bucket, Prefix: urlEncodeIf(encode, prefix), KeyMarker: urlEncodeIf(encode, marker),
		MaxKeys: maxKeys, Delimiter: urlEncodeIf(encode, delimiter), IsTruncated: page.Truncated}
	if page.Truncated {
		out.NextKeyMarker = urlEncodeIf(encode, page.Next)
	}
	for _, e := range page.Objects {
		out.Versions = append(out.Versions, version{Key: urlEncodeIf(encode, e.Key), VersionID: "null", IsLatest: true,
			LastModified: xmlTime(e.Rec.LastModified), ETag: quoteETag(e.Rec.ETag), Type: e.Rec.Type, Size: e.Rec.Size,
			StorageClass: "Standard", Owner: theOwner})
	}
	_, out.CommonPrefixes = contentsOf(listing{Prefixes: page.Prefixes}, encode, false)
	return writeXML(rc, http.StatusOK, out)
}
