package oss

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// maxKeyLength is OSS's limit on object key length in bytes.
const maxKeyLength = 1023

// validBucketName applies the SDK's CheckBucketName rule: 3-63 characters
// of [a-z0-9-], not starting or ending with '-'.
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// validRegion accepts region ids such as cn-hangzhou or ap-southeast-1.
func validRegion(region string) bool {
	return validBucketName(region)
}

// validateObjectKey rejects keys OSS rejects and keys that look like paths
// escaping a directory. Keys never become file names here (blobs have
// generated names), so this is about honest semantics, not safety alone.
func validateObjectKey(key string) error {
	switch {
	case key == "":
		return errors.New("the key is empty")
	case len(key) > maxKeyLength:
		return errors.New("the key is longer than 1023 bytes")
	case !utf8.ValidString(key):
		return errors.New("the key is not valid UTF-8")
	case strings.ContainsRune(key, 0):
		return errors.New("the key contains a NUL character")
	case key[0] == '/' || key[0] == '\\':
		return errors.New("the key must not start with / or \\")
	}
	for _, segment := range strings.FieldsFunc(key, func(r rune) bool { return r == '/' || r == '\\' }) {
		if segment == ".." {
			return errors.New(`the key must not contain a ".." path segment`)
		}
	}
	return nil
}

// locationOf is the OSS location name of a region: cn-hangzhou -> oss-cn-hangzhou.
func locationOf(region string) string { return "oss-" + region }

// regionOfLocation undoes locationOf, accepting a bare region as well.
func regionOfLocation(location string) string {
	return strings.TrimPrefix(strings.TrimSpace(location), "oss-")
}
