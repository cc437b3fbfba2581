//go:build tools

// Package lint pins golangci-lint as a build-time tool, kept out of the main
// module so its dependencies never mix with the provider's or executor's.
package lint

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
