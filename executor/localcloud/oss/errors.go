package oss

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
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

// errorCode is an OSS error code. statusOf is the one table of the HTTP
// status the real service answers with for each code this server uses;
// every error a handler returns is built by errorFor from it (newError stays
// for the fault injector, whose codes come from its caller).
type errorCode string

const (
	codeAccessDenied                    errorCode = "AccessDenied"
	codeBucketAlreadyExists             errorCode = "BucketAlreadyExists"
	codeBucketNotEmpty                  errorCode = "BucketNotEmpty"
	codeConcurrentUpdate                errorCode = "ConcurrentUpdate"
	codeEntityTooLarge                  errorCode = "EntityTooLarge"
	codeEntityTooSmall                  errorCode = "EntityTooSmall"
	codeFileAlreadyExists               errorCode = "FileAlreadyExists"
	codeIncompleteBody                  errorCode = "IncompleteBody"
	codeInternalError                   errorCode = "InternalError"
	codeInvalidAccessKeyId              errorCode = "InvalidAccessKeyId"
	codeInvalidArgument                 errorCode = "InvalidArgument"
	codeInvalidBucketName               errorCode = "InvalidBucketName"
	codeInvalidDigest                   errorCode = "InvalidDigest"
	codeInvalidEncryptionAlgorithmError errorCode = "InvalidEncryptionAlgorithmError"
	codeInvalidLocationConstraint       errorCode = "InvalidLocationConstraint"
	codeInvalidObjectName               errorCode = "InvalidObjectName"
	codeInvalidPart                     errorCode = "InvalidPart"
	codeInvalidPartOrder                errorCode = "InvalidPartOrder"
	codeInvalidRange                    errorCode = "InvalidRange"
	codeInvalidStorageClass             errorCode = "InvalidStorageClass"
	codeInvalidTag                      errorCode = "InvalidTag"
	codeMalformedXML                    errorCode = "MalformedXML"
	codeMetadataTooLarge                errorCode = "MetadataTooLarge"
	codeMethodNotAllowed                errorCode = "MethodNotAllowed"
	codeNoSuchBucket                    errorCode = "NoSuchBucket"
	codeNoSuchKey                       errorCode = "NoSuchKey"
	codeNoSuchUpload                    errorCode = "NoSuchUpload"
	codeNotImplemented                  errorCode = "NotImplemented"
	codeNotModified                     errorCode = "NotModified"
	codeNotSymlink                      errorCode = "NotSymlink"
	codeObjectNotAppendable             errorCode = "ObjectNotAppendable"
	codePositionNotEqualToLength        errorCode = "PositionNotEqualToLength"
	codePreconditionFailed              errorCode = "PreconditionFailed"
	codeRequestTimeTooSkewed            errorCode = "RequestTimeTooSkewed"
	codeSignatureDoesNotMatch           errorCode = "SignatureDoesNotMatch"
	codeSymlinkTargetNotExist           errorCode = "SymlinkTargetNotExist"
)

var statusOf = map[errorCode]int{
	codeAccessDenied:                    http.StatusForbidden,
	codeBucketAlreadyExists:             http.StatusConflict,
	codeBucketNotEmpty:                  http.StatusConflict,
	codeConcurrentUpdate:                http.StatusConflict,
	codeEntityTooLarge:                  http.StatusBadRequest,
	codeEntityTooSmall:                  http.StatusBadRequest,
	codeFileAlreadyExists:               http.StatusConflict,
	codeIncompleteBody:                  http.StatusBadRequest,
	codeInternalError:                   http.StatusInternalServerError,
	codeInvalidAccessKeyId:              http.StatusForbidden,
	codeInvalidArgument:                 http.StatusBadRequest,
	codeInvalidBucketName:               http.StatusBadRequest,
	codeInvalidDigest:                   http.StatusBadRequest,
	codeInvalidEncryptionAlgorithmError: http.StatusBadRequest,
	codeInvalidLocationConstraint:       http.StatusBadRequest,
	codeInvalidObjectName:               http.StatusBadRequest,
	codeInvalidPart:                     http.StatusBadRequest,
	codeInvalidPartOrder:                http.StatusBadRequest,
	codeInvalidRange:                    http.StatusRequestedRangeNotSatisfiable,
	codeInvalidStorageClass:             http.StatusBadRequest,
	codeInvalidTag:                      http.StatusBadRequest,
	codeMalformedXML:                    http.StatusBadRequest,
	codeMetadataTooLarge:                http.StatusBadRequest,
	codeMethodNotAllowed:                http.StatusMethodNotAllowed,
	codeNoSuchBucket:                    http.StatusNotFound,
	codeNoSuchKey:                       http.StatusNotFound,
	codeNoSuchUpload:                    http.StatusNotFound,
	codeNotImplemented:                  http.StatusNotImplemented,
	codeNotModified:                     http.StatusNotModified,
	codeNotSymlink:                      http.StatusBadRequest,
	codeObjectNotAppendable:             http.StatusConflict,
	codePositionNotEqualToLength:        http.StatusConflict,
	codePreconditionFailed:              http.StatusPreconditionFailed,
	codeRequestTimeTooSkewed:            http.StatusForbidden,
	codeSignatureDoesNotMatch:           http.StatusForbidden,
	codeSymlinkTargetNotExist:           http.StatusNotFound,
}

// errorFor builds the error for code with its status from statusOf.
func errorFor(code errorCode, message string) *apiError {
	status, ok := statusOf[code]
	if !ok {
		// A code missing from the table is a programming error; answer it
		// as a server fault rather than with a made-up status.
		return newError(http.StatusInternalServerError, "InternalError", "unregistered error code "+string(code))
	}
	return newError(status, string(code), message)
}

// The codes the SDK and its users look at, with the status real OSS sends.
func errNoSuchBucket(bucket string) *apiError {
	e := errorFor(codeNoSuchBucket, "The specified bucket does not exist.")
	e.EC = "0015-00000101"
	e.Extra = []xmlElement{{"BucketName", bucket}}
	return e
}

func errNoSuchKey(key string) *apiError {
	e := errorFor(codeNoSuchKey, "The specified key does not exist.")
	e.EC = "0026-00000001"
	e.Extra = []xmlElement{{"Key", key}}
	return e
}

func errNoSuchUpload(uploadID string) *apiError {
	e := errorFor(codeNoSuchUpload, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	e.Extra = []xmlElement{{"UploadId", uploadID}}
	return e
}

func errInvalidArgument(format string, args ...any) *apiError {
	return errorFor(codeInvalidArgument, fmt.Sprintf(format, args...))
}

func errMalformedXML(err error) *apiError {
	return errorFor(codeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: "+err.Error())
}

func errAccessDenied(message string) *apiError {
	return errorFor(codeAccessDenied, message)
}

func errInternal(err error) *apiError {
	return errorFor(codeInternalError, "We encountered an internal error, please try again: "+err.Error())
}

func errMethodNotAllowed() *apiError {
	return errorFor(codeMethodNotAllowed, "The specified method is not allowed against this resource.")
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

// storeError is the one place where a metaStore answer becomes the OSS
// error a client sees; anything it does not know is an internal fault.
func storeError(err error, bucket, key, uploadID string) *apiError {
	switch {
	case errors.Is(err, errNoBucket):
		return errNoSuchBucket(bucket)
	case errors.Is(err, errNoKey):
		return errNoSuchKey(key)
	case errors.Is(err, errNoUpload):
		return errNoSuchUpload(uploadID)
	case errors.Is(err, errKeyExists):
		return errObjectExists()
	case errors.Is(err, errBucketHasObjects):
		return errorFor(codeBucketNotEmpty, "The bucket you tried to delete is not empty.")
	case errors.Is(err, errBucketHasUploads):
		return errorFor(codeBucketNotEmpty, "The bucket you tried to delete has unfinished multipart uploads; abort them first.")
	case errors.Is(err, errPartsChanged):
		return errorFor(codeConcurrentUpdate, "A part was uploaded again while the upload was being completed; retry.")
	default:
		return errInternal(err)
	}
}
