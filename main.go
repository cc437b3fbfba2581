// Command terraform-provider-tablestore serves the Terraform provider for
// Tablestore-to-OSS delivery tasks. Terraform or OpenTofu starts it as a plugin;
// run with -debug to attach a debugger (TF_REATTACH_PROVIDERS is printed).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/tablestore-delivery/terraform-provider-tablestore/provider"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Address is the registry address Terraform uses to find this provider.
const address = "registry.terraform.io/tablestore-delivery/tablestore"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider in debug mode for debuggers such as delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: address,
		Debug:   debug,
	})
	if err != nil {
		slog.Error("serving the provider failed", "error", err)
		os.Exit(1)
	}
}
