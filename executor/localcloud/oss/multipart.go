package oss

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// minPartSize is OSS's minimum size of every part but the last.
	minPartSize   = 100 << 10
	maxPartNumber = 10000
)

func newUploadID() string { return strings.ToUpper(newBlobID()) }

func (s *Server) initiateMultipartUpload(rc *requestContext) *apiError {
	t := rc.target
	if _, apiErr := s.lookupBucket(t.Bucket); apiErr != nil {
		return apiErr
	}
	if forbidOverwrite(rc.r) {
		if apiErr := s.refuseExisting(t.Bucket, t.Key); apiErr != nil {
			return apiErr
		}
	}
	headers, apiErr := objectHeadersFrom(rc.r)
	if apiErr != nil {
		return apiErr
	}
	uploadID := newUploadID()
	rec := uploadRecord{Key: t.Key, Initiated: time.Now().UTC(), Sequential: rc.query.Has("sequential"), objectHeaders: headers}
	if err := s.meta.CreateUpload(t.Bucket, uploadID, rec); err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	type result struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Bucket   string   `xml:"Bucket"`
		Key      string   `xml:"Key"`
		UploadID string   `xml:"UploadId"`
	}
	// The key goes back raw: the SDK uses it as is for the following calls.
	return writeXML(rc, http.StatusOK, result{Bucket: t.Bucket, Key: t.Key, UploadID: uploadID})
}

func parsePartNumber(rc *requestContext) (int, *apiError) {
	n, err := strconv.Atoi(rc.query.Get("partNumber"))
	if err != nil || n < 1 || n > maxPartNumber {
		return 0, errInvalidArgument("Part number must be an integer between 1 and %d, inclusive.", maxPartNumber)
	}
	return n, nil
}

// checkUpload answers NoSuchBucket / NoSuchUpload before a body is read.
func (s *Server) checkUpload(t target, uploadID string) *apiError {
	if _, err := s.meta.Upload(t.Bucket, t.Key, uploadID); err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	return nil
}

func (s *Server) uploadPart(rc *requestContext) *apiError {
	t := rc.target
	uploadID := rc.query.Get("uploadId")
	partNumber, apiErr := parsePartNumber(rc)
	if apiErr != nil {
		return apiErr
	}
	if apiErr := s.checkUpload(t, uploadID); apiErr != nil {
		return apiErr
	}
	var pending *pendingBlob
	if source := rc.r.Header.Get("x-oss-copy-source"); source != "" {
		pending, apiErr = s.copyPartSource(rc, source)
	} else {
		wantMD5, err := contentMD5(rc.r)
		if err != nil {
			return err
		}
		pending, apiErr = s.readBody(rc.r)
		if apiErr == nil && wantMD5 != nil && !bytes.Equal(wantMD5, pending.digest.MD5[:]) {
			s.blobs.discard(pending)
			apiErr = errorFor(codeInvalidDigest, "The Content-MD5 you specified did not match what we received.")
		}
	}
	if apiErr != nil {
		return apiErr
	}
	blob, err := s.blobs.commit(pending)
	if err != nil {
		s.blobs.discard(pending)
		return errInternal(err)
	}
	part := partRecord{
		Blob: blob, Size: pending.digest.Size, CRC64: pending.digest.CRC64, LastModified: time.Now().UTC(),
		ETag: strings.ToUpper(hex.EncodeToString(pending.digest.MD5[:])),
	}
	oldBlob, err := s.meta.PutPart(t.Bucket, t.Key, uploadID, partNumber, part)
	if err != nil {
		s.blobs.remove(blob)
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	if oldBlob != "" {
		s.blobs.remove(oldBlob)
	}
	h := rc.w.Header()
	h.Set("ETag", quoteETag(part.ETag))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(part.CRC64, 10))
	if rc.r.Header.Get("x-oss-copy-source") != "" {
		type copyPartResult struct {
			XMLName      xml.Name `xml:"CopyPartResult"`
			LastModified string   `xml:"LastModified"`
			ETag         string   `xml:"ETag"`
		}
		return writeXML(rc, http.StatusOK, copyPartResult{LastModified: xmlTime(part.LastModified), ETag: quoteETag(part.ETag)})
	}
	return writeEmpty(rc, http.StatusOK)
}

// copyPartSource reads the (ranged) source of UploadPartCopy into a pending blob.
func (s *Server) copyPartSource(rc *requestContext, header string) (*pendingBlob, *apiError) {
	src, apiErr := parseCopySource(header)
	if apiErr != nil {
		return nil, apiErr
	}
	rec, f, apiErr := s.openObject(src.Bucket, src.Key)
	if apiErr != nil {
		return nil, apiErr
	}
	defer f.Close()
	if apiErr := copySourceConditions(rc.r, rec); apiErr != nil {
		return nil, apiErr
	}
	start, length := int64(0), rec.Size
	if rangeHeader := rc.r.Header.Get("x-oss-copy-source-range"); rangeHeader != "" {
		br, ok := parseRange(rangeHeader, rec.Size)
		if !ok {
			return nil, errorFor(codeInvalidRange, "The copy source range is not valid.")
		}
		start, length = br.start, br.end-br.start+1
	}
	p, err := s.blobs.write(io.NewSectionReader(f, start, length), length)
	if err != nil {
		return nil, errInternal(err)
	}
	return p, nil
}

func (s *Server) listParts(rc *requestContext) *apiError {
	t := rc.target
	uploadID := rc.query.Get("uploadId")
	encode, apiErr := encodingType(rc)
	if apiErr != nil {
		return apiErr
	}
	maxParts, apiErr := parseMaxKeys(rc, "max-parts", 1000, 1000)
	if apiErr != nil {
		return apiErr
	}
	marker := 0
	if text := rc.query.Get("part-number-marker"); text != "" {
		n, err := strconv.Atoi(text)
		if err != nil || n < 0 {
			return errInvalidArgument("part-number-marker must be a non-negative integer")
		}
		marker = min(n, maxPartNumber)
	}
	if apiErr := s.checkUpload(t, uploadID); apiErr != nil {
		return apiErr
	}
	type part struct {
		PartNumber    int    `xml:"PartNumber"`
		LastModified  string `xml:"LastModified"`
		ETag          string `xml:"ETag"`
		HashCrc64ecma uint64 `xml:"HashCrc64ecma"`
		Size          int64  `xml:"Size"`
	}
	type result struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		EncodingType         string   `xml:"EncodingType,omitempty"`
		Bucket               string   `xml:"Bucket"`
		Key                  string   `xml:"Key"`
		UploadID             string   `xml:"UploadId"`
		PartNumberMarker     int      `xml:"PartNumberMarker"`
		NextPartNumberMarker int      `xml:"NextPartNumberMarker"`
		MaxParts             int      `xml:"MaxParts"`
		IsTruncated          bool     `xml:"IsTruncated"`
		Parts                []part   `xml:"Part"`
	}
	out := result{Bucket: t.Bucket, Key: urlEncodeIf(encode, t.Key), UploadID: uploadID, PartNumberMarker: marker, MaxParts: maxParts}
	if encode {
		out.EncodingType = "url"
	}
	parts, err := s.meta.Parts(t.Bucket, t.Key, uploadID)
	if err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	for _, n := range sortedPartNumbers(parts) {
		if n <= marker {
			continue
		}
		if len(out.Parts) == maxParts {
			out.IsTruncated = true
			break
		}
		p := parts[n]
		out.Parts = append(out.Parts, part{PartNumber: n, LastModified: xmlTime(p.LastModified), ETag: quoteETag(p.ETag), HashCrc64ecma: p.CRC64, Size: p.Size})
		out.NextPartNumberMarker = n
	}
	return writeXML(rc, http.StatusOK, out)
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

// multipartETag is the ETag of an object completed from parts: the MD5 of
// the part ETags as upper-case hex text, concatenated in part order, in
// upper-case hex, suffixed "-<number of parts>". It reproduces the real
// service's ETag that the Go SDK's download_test.go:206 and
// multicopy_test.go:316 record for a five-part upload; the S3 way (hashing
// the binary part digests) does not.
func multipartETag(partETags []string) string {
	h := newMD5()
	for _, etag := range partETags {
		h.Write([]byte(strings.ToUpper(etag)))
	}
	return fmt.Sprintf("%s-%d", strings.ToUpper(hex.EncodeToString(h.Sum(nil))), len(partETags))
}

func (s *Server) completeMultipartUpload(rc *requestContext) *apiError {
	t := rc.target
	uploadID := rc.query.Get("uploadId")
	if apiErr := s.checkUpload(t, uploadID); apiErr != nil {
		return apiErr
	}
	var req completeRequest
	completeAll := strings.EqualFold(rc.r.Header.Get("x-oss-complete-all"), "yes")
	if apiErr := readXMLBody(rc.r, &req); apiErr != nil {
		return apiErr
	}
	if !completeAll && len(req.Parts) == 0 {
		return errorFor(codeMalformedXML, "The request names no parts to complete.")
	}
	refuse := forbidOverwrite(rc.r)

	// Read the upload's parts and validate the list against them.
	upload, err := s.meta.Upload(t.Bucket, t.Key, uploadID)
	if err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	uploaded, err := s.meta.Parts(t.Bucket, t.Key, uploadID)
	if err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	var chosen []int
	if completeAll {
		for n := range uploaded {
			chosen = append(chosen, n)
		}
		sort.Ints(chosen)
		if len(chosen) == 0 {
			return errorFor(codeInvalidPart, "The upload has no parts.")
		}
	} else {
		last := 0
		for _, p := range req.Parts {
			if p.PartNumber <= last {
				return errorFor(codeInvalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.")
			}
			last = p.PartNumber
			got, ok := uploaded[p.PartNumber]
			if !ok || unquoteETag(p.ETag) != got.ETag {
				e := errorFor(codeInvalidPart, "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.")
				e.Extra = []xmlElement{{"PartNumber", strconv.Itoa(p.PartNumber)}, {"ETag", p.ETag}}
				return e
			}
			chosen = append(chosen, p.PartNumber)
		}
	}
	for i, n := range chosen[:len(chosen)-1] {
		if uploaded[n].Size < minPartSize {
			e := errorFor(codeEntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.")
			e.Extra = []xmlElement{{"PartNumber", strconv.Itoa(chosen[i])}, {"MinSizeAllowed", strconv.Itoa(minPartSize)}}
			return e
		}
	}
	if refuse {
		if apiErr := s.refuseExisting(t.Bucket, t.Key); apiErr != nil {
			return apiErr
		}
	}

	// Whole-object digest from the parts: CRCs combine; the ETag is
	// multipartETag's.
	partETags := make([]string, 0, len(chosen))
	var crc uint64
	var size int64
	blobIDs := make([]string, 0, len(chosen))
	for _, n := range chosen {
		p := uploaded[n]
		partETags = append(partETags, p.ETag)
		crc = crc64Combine(crc, p.CRC64, p.Size)
		size += p.Size
		blobIDs = append(blobIDs, p.Blob)
	}
	pending, err := s.concatParts(blobIDs)
	if err != nil {
		return errInternal(err)
	}
	if pending.digest.Size != size {
		s.blobs.discard(pending)
		return errInternal(fmt.Errorf("assembled %d bytes, parts say %d", pending.digest.Size, size))
	}
	var contentMD5 string
	if upload.Sequential {
		// The real service answers Content-MD5 for objects of sequential
		// uploads (the Go SDK's TestUploadFileWithSequential).
		sum, err := fileMD5(pending.tmpPath)
		if err != nil {
			s.blobs.discard(pending)
			return errInternal(err)
		}
		contentMD5 = base64.StdEncoding.EncodeToString(sum)
	}
	blob, err := s.blobs.commit(pending)
	if err != nil {
		s.blobs.discard(pending)
		return errInternal(err)
	}
	rec := &objectRecord{
		Blob: blob, Size: size, CRC64: crc, LastModified: time.Now().UTC(), Type: "Multipart",
		ETag:          multipartETag(partETags),
		ContentMD5:    contentMD5,
		objectHeaders: upload.objectHeaders,
	}

	garbage, err := s.meta.CompleteUpload(t.Bucket, t.Key, uploadID, uploaded, rec, refuse)
	if err != nil {
		s.blobs.remove(blob)
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	s.blobs.remove(garbage...)

	encode := rc.query.Get("encoding-type") == "url"
	type result struct {
		XMLName      xml.Name `xml:"CompleteMultipartUploadResult"`
		EncodingType string   `xml:"EncodingType,omitempty"`
		Location     string   `xml:"Location"`
		Bucket       string   `xml:"Bucket"`
		Key          string   `xml:"Key"`
		ETag         string   `xml:"ETag"`
	}
	out := result{Location: "http://" + rc.r.Host + "/" + t.Bucket + "/" + t.Key, Bucket: t.Bucket, Key: urlEncodeIf(encode, t.Key), ETag: quoteETag(rec.ETag)}
	if encode {
		out.EncodingType = "url"
	}
	rc.w.Header().Set("ETag", quoteETag(rec.ETag))
	rc.w.Header().Set("x-oss-hash-crc64ecma", strconv.FormatUint(crc, 10))
	return writeXML(rc, http.StatusOK, out)
}

// concatParts opens every part under the removal lock (so none can vanish
// between validation and open), then copies them without holding it.
func (s *Server) concatParts(ids []string) (*pendingBlob, error) {
	files := make([]*os.File, 0, len(ids))
	defer func() {
		for _, f := range files {
			_ = f.Close()
		}
	}()
	s.blobs.removal.RLock()
	for _, id := range ids {
		f, err := s.blobs.open(id)
		if err != nil {
			s.blobs.removal.RUnlock()
			return nil, err
		}
		files = append(files, f)
	}
	s.blobs.removal.RUnlock()
	return s.blobs.concatFiles(files)
}

func (s *Server) abortMultipartUpload(rc *requestContext) *apiError {
	t := rc.target
	uploadID := rc.query.Get("uploadId")
	garbage, err := s.meta.AbortUpload(t.Bucket, t.Key, uploadID)
	if err != nil {
		return storeError(err, t.Bucket, t.Key, uploadID)
	}
	s.blobs.remove(garbage...)
	return writeEmpty(rc, http.StatusNoContent)
}

// sortedPartNumbers lists an upload's part numbers in ascending order.
func sortedPartNumbers(parts map[int]partRecord) []int {
	numbers := make([]int, 0, len(parts))
	for n := range parts {
		numbers = append(numbers, n)
	}
	sort.Ints(numbers)
	return numbers
}

func (s *Server) listMultipartUploads(rc *requestContext) *apiError {
	t := rc.target
	encode, apiErr := encodingType(rc)
	if apiErr != nil {
		return apiErr
	}
	maxUploads, apiErr := parseMaxKeys(rc, "max-uploads", 1000, 1000)
	if apiErr != nil {
		return apiErr
	}
	prefix, delimiter := rc.query.Get("prefix"), rc.query.Get("delimiter")
	keyMarker, uploadIDMarker := rc.query.Get("key-marker"), rc.query.Get("upload-id-marker")
	uploads, err := s.meta.Uploads(t.Bucket, prefix)
	if err != nil {
		return storeError(err, t.Bucket, "", "")
	}
	type entry struct {
		key, id string
		rec     uploadRecord
	}
	all := make([]entry, 0, len(uploads))
	for _, u := range uploads {
		all = append(all, entry{u.Rec.Key, u.ID, u.Rec})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].key != all[j].key {
			return all[i].key < all[j].key
		}
		return all[i].id < all[j].id
	})
	type upload struct {
		Key       string `xml:"Key"`
		UploadID  string `xml:"UploadId"`
		Initiated string `xml:"Initiated"`
	}
	type result struct {
		XMLName            xml.Name          `xml:"ListMultipartUploadsResult"`
		EncodingType       string            `xml:"EncodingType,omitempty"`
		Bucket             string            `xml:"Bucket"`
		KeyMarker          string            `xml:"KeyMarker"`
		UploadIDMarker     string            `xml:"UploadIdMarker"`
		NextKeyMarker      string            `xml:"NextKeyMarker"`
		NextUploadIDMarker string            `xml:"NextUploadIdMarker"`
		Delimiter          string            `xml:"Delimiter"`
		Prefix             string            `xml:"Prefix"`
		MaxUploads         int               `xml:"MaxUploads"`
		IsTruncated        bool              `xml:"IsTruncated"`
		Uploads            []upload          `xml:"Upload"`
		CommonPrefixes     []xmlCommonPrefix `xml:"CommonPrefixes"`
	}
	out := result{Bucket: t.Bucket, KeyMarker: urlEncodeIf(encode, keyMarker), UploadIDMarker: uploadIDMarker,
		Delimiter: urlEncodeIf(encode, delimiter), Prefix: urlEncodeIf(encode, prefix), MaxUploads: maxUploads}
	if encode {
		out.EncodingType = "url"
	}
	count := 0
	lastPrefix := ""
	for _, e := range all {
		if keyMarker != "" && (e.key < keyMarker || e.key == keyMarker && (uploadIDMarker == "" || e.id <= uploadIDMarker)) {
			continue
		}
		if delimiter != "" {
			if i := strings.Index(e.key[len(prefix):], delimiter); i >= 0 {
				common := e.key[:len(prefix)+i+len(delimiter)]
				if common == lastPrefix {
					continue
				}
				if count == maxUploads {
					out.IsTruncated = true
					break
				}
				out.CommonPrefixes = append(out.CommonPrefixes, xmlCommonPrefix{Prefix: urlEncodeIf(encode, common)})
				lastPrefix = common
				out.NextKeyMarker, out.NextUploadIDMarker = urlEncodeIf(encode, common), ""
				count++
				continue
			}
		}
		if count == maxUploads {
			out.IsTruncated = true
			break
		}
		out.Uploads = append(out.Uploads, upload{Key: urlEncodeIf(encode, e.key), UploadID: e.id, Initiated: xmlTime(e.rec.Initiated)})
		out.NextKeyMarker, out.NextUploadIDMarker = urlEncodeIf(encode, e.key), e.id
		count++
	}
	return writeXML(rc, http.StatusOK, out)
}

// fileMD5 hashes a file's bytes.
func fileMD5(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("oss: open assembled object: %w", err)
	}
	defer f.Close()
	h := newMD5()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("oss: hash assembled object: %w", err)
	}
	return h.Sum(nil), nil
}
