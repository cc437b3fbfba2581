package oss

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
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
	out, err := s.meta.ListObjects(rc.target.Bucket, prefix, delimiter, after, max)
	if err != nil {
		return out, storeError(err, rc.target.Bucket, "", "")
	}
	return out, nil
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
