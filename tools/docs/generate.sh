#!/usr/bin/env bash
# Regenerates docs/ from the provider schema, templates/ and examples/ with
# tfplugindocs, offline, with whichever CLI the machine has:
#   * $TF_DOCS_CLI if set (path to terraform or tofu),
#   * else `terraform` on PATH,
#   * else bin/tofu (built by tools/tofu when missing).
# tfplugindocs would otherwise download Terraform; here the CLI only writes
# `providers schema -json` for a dev_overrides build of the provider, and
# tfplugindocs reads it with --providers-schema.
#
#   tools/docs/generate.sh          regenerate docs/
#   tools/docs/generate.sh --check  regenerate, then fail if docs/ differs from git
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/bin"
mkdir -p "$bin"

cli=${TF_DOCS_CLI:-}
if [[ -z $cli ]]; then
	if cli=$(command -v terraform); then
		:
	else
		cli="$bin/tofu"
		if [[ ! -x $cli ]]; then
			echo "generate: no terraform on PATH; building OpenTofu into bin/tofu (a few minutes the first time)" >&2
			(cd "$root/tools/tofu" && go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
				-o "$cli" github.com/opentofu/opentofu/cmd/tofu)
		fi
	fi
fi

# tfplugindocs, pinned by tools/docs/go.mod (the Go build cache makes this cheap).
(cd "$root/tools/docs" && go build -o "$bin/tfplugindocs" github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/config"
(cd "$root" && go build -o "$work/plugins/terraform-provider-tablestore" .)

# tfplugindocs looks the schema up as registry.terraform.io/hashicorp/<name>;
# an explicit source makes both CLIs use that key.
cat >"$work/cli.tfrc" <<EOT
provider_installation {
  dev_overrides {
    "registry.terraform.io/hashicorp/tablestore" = "$work/plugins"
  }
  direct {}
}
EOT
cat >"$work/config/main.tf" <<'EOT'
terraform {
  required_providers {
    tablestore = {
      source = "registry.terraform.io/hashicorp/tablestore"
    }
  }
}
EOT
(cd "$work/config" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" "$cli" providers schema -json >"$work/schema.json")

"$bin/tfplugindocs" generate \
	--provider-dir "$root" \
	--provider-name tablestore \
	--rendered-provider-name "Tablestore delivery" \
	--providers-schema "$work/schema.json"

if [[ ${1:-} == --check ]]; then
	if [[ -n $(cd "$root" && git status --porcelain -- docs) ]]; then
		echo "generate: docs/ is out of date; run make generate and commit the result:" >&2
		(cd "$root" && git status --porcelain -- docs && git --no-pager diff --stat -- docs) >&2
		exit 1
	fi
	echo "generate: docs/ is up to date"
fi
