package oss

import (
	"regexp"
	"strconv"
	"strings"
)

// The Go SDK escapes control characters in object keys as XML character
// references (oss/utils.go EscapeXml writes "\f" as "&#x0C;"), and the real
// service accepts them in DeleteObjects (the SDK's
// TestDeleteObjectsWithSpecialCharacter). XML 1.0 does not allow those code
// points even as references, so encoding/xml refuses the document. Before
// parsing, such references become a sentinel form made of allowed characters
// (U+FDD0 hex U+FDD1); after parsing, restoreCharRefs turns them back.
// A literal U+FDD0 in the body is encoded the same way first, so the
// mapping is exact.

const (
	refOpen  = "\uFDD0"
	refClose = "\uFDD1"
)

var (
	charRefPattern  = regexp.MustCompile(`&#(x[0-9a-fA-F]{1,6}|[0-9]{1,7});`)
	sentinelPattern = regexp.MustCompile(refOpen + `([0-9A-F]{1,6})` + refClose)
)

// xmlChar reports whether r may appear in an XML 1.0 document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func sentinel(r rune) string { return refOpen + strconv.FormatInt(int64(r), 16) + refClose }

// protectCharRefs rewrites references to characters XML forbids.
func protectCharRefs(body []byte) []byte {
	text := strings.ReplaceAll(string(body), refOpen, strings.ToUpper(sentinel(0xFDD0)))
	text = charRefPattern.ReplaceAllStringFunc(text, func(ref string) string {
		digits := ref[2 : len(ref)-1]
		base := 10
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		n, err := strconv.ParseInt(digits, base, 32)
		if err != nil || xmlChar(rune(n)) || n > 0x10FFFF {
			return ref
		}
		return strings.ToUpper(sentinel(rune(n)))
	})
	return []byte(text)
}

// restoreCharRefs undoes protectCharRefs in a parsed value.
func restoreCharRefs(s string) string {
	if !strings.Contains(s, refOpen) {
		return s
	}
	return sentinelPattern.ReplaceAllStringFunc(s, func(m string) string {
		hex := strings.TrimSuffix(strings.TrimPrefix(m, refOpen), refClose)
		n, _ := strconv.ParseInt(hex, 16, 32)
		return string(rune(n))
	})
}
