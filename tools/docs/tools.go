//go:build tools

// Package docs pins tfplugindocs, which renders docs/ from the provider's
// schema, templates/ and examples/. It lives in its own module so its
// dependencies never mix with the provider's.
package docs

import _ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
