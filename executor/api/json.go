package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

// maxBodyBytes bounds request bodies; a task with a thousand columns is far
// smaller.
const maxBodyBytes = 1 << 20

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message, field string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message, Field: field}})
}

// writeFieldError answers 400 for a validation failure.
func writeFieldError(w http.ResponseWriter, fe *task.FieldError) {
	code := task.CodeInvalidArgument
	if fe.Rule == task.RuleImmutable || fe.Rule == task.RuleColumnsAppendOnly {
		code = task.CodeImmutableField
	}
	writeError(w, http.StatusBadRequest, code, fe.Message, fe.Field)
}

// decodeBody decodes a JSON object strictly: unknown fields, wrong types,
// trailing data and oversized bodies are 400s naming the field when known.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *task.FieldError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return task.NewFieldError("body", task.RuleSyntax, "must hold exactly one JSON object")
	}
	return nil
}

func bodyError(err error) *task.FieldError {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return task.NewFieldError(field, task.RuleSyntax, "must be a JSON %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return task.NewFieldError("body", task.RuleSyntax, "is not valid JSON at offset %d: %v", syntaxErr.Offset, err)
	case errors.As(err, &maxErr):
		return task.NewFieldError("body", task.RuleRange, "must be at most %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return task.NewFieldError("body", task.RuleRequired, "a JSON object is required")
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		field := strings.Trim(rest, `"`)
		return task.NewFieldError(field, task.RuleUnknownField, "is not a known field")
	}
	return task.NewFieldError("body", task.RuleSyntax, "cannot be decoded: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return fmt.Sprint(goKind)
}
