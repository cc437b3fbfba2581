package oss

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an error answered to the client in the OSS error XML shape.
// Handlers return it; ServeHTTP renders it.
type apiError struct {
	Status  int
	Code    string
	Message string
	// EC is the OSS "error code" detail some SDK users log; optional.
	EC string
	// Extra holds additional elements real OSS adds for some codes
	// (e.g. StringToSign for SignatureDoesNotMatch), in order.
	Extra []xmlElement
}

type xmlElement struct {
	Name  string
	Value string
}

func newError(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// The codes the SDK and its users look at, with the status real OSS sends.
func errNoSuchBucket(bucket string) *apiError {
	e := newError(http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist.")
	e.EC = "0015-00000101"
	e.Extra = []xmlElement{{"BucketName", bucket}}
	return e
}

func errNoSuchKey(key string) *apiError {
	e := newError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	e.EC = "0026-00000001"
	e.Extra = []xmlElement{{"Key", key}}
	return e
}

func errNoSuchUpload(uploadID string) *apiError {
	e := newError(http.StatusNotFound, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	e.Extra = []xmlElement{{"UploadId", uploadID}}
	return e
}

func errInvalidArgument(format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, "InvalidArgument", fmt.Sprintf(format, args...))
}

func errMalformedXML(err error) *apiError {
	return newError(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema: "+err.Error())
}

func errAccessDenied(message string) *apiError {
	return newError(http.StatusForbidden, "AccessDenied", message)
}

func errInternal(err error) *apiError {
	return newError(http.StatusInternalServerError, "InternalError", "We encountered an internal error, please try again: "+err.Error())
}

func errMethodNotAllowed() *apiError {
	return newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
}

// writeError renders e. HEAD responses carry no body, so the XML travels
// base64-encoded in the x-oss-err header, which the SDK decodes.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *apiError) {
	body := errorXML(r, requestID, e)
	h := w.Header()
	if e.EC != "" {
		h.Set("x-oss-ec", e.EC)
	}
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		h.Set("x-oss-err", base64.StdEncoding.EncodeToString(body))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

func errorXML(r *http.Request, requestID string, e *apiError) []byte {
	type element struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	type errorDoc struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		RequestID string   `xml:"RequestId"`
		HostID    string   `xml:"HostId"`
		Extra     []element
		EC        string `xml:"EC,omitempty"`
	}
	doc := errorDoc{Code: e.Code, Message: e.Message, RequestID: requestID, HostID: r.Host, EC: e.EC}
	for _, x := range e.Extra {
		doc.Extra = append(doc.Extra, element{XMLName: xml.Name{Local: x.Name}, Value: x.Value})
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		// Marshalling plain strings cannot fail; keep a valid document anyway.
		out = []byte("<Error><Code>InternalError</Code></Error>")
	}
	return append([]byte(xml.Header), out...)
}
