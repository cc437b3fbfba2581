//go:build tools

// Package tofu pins the OpenTofu CLI as a build-time tool. The provider's
// acceptance tests and docs generation can run against it on machines that
// have no Terraform CLI installed. It lives in its own module so OpenTofu's
// large dependency graph never mixes with the provider's.
package tofu

import _ "github.com/opentofu/opentofu/cmd/tofu"
