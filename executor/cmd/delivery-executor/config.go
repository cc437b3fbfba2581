package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud"
)

// Development credentials of the embedded setup. They are printed at start and
// refused on any address that is not loopback.
const (
	devAccessKeyID     = localcloud.DevAccessKeyID
	devAccessKeySecret = localcloud.DevAccessKeySecret
	devAPIToken        = "local-dev-token"
)

// Environment variables that override the development credentials.
const (
	envAccessKeyID     = localcloud.EnvAccessKeyID
	envAccessKeySecret = localcloud.EnvAccessKeySecret
	envAPIToken        = "DELIVERY_API_TOKEN"
	envSecretKey       = "DELIVERY_SECRET_KEY"
)

// localCloudConfig holds the flags shared by `serve --embedded` and `local`.
type localCloudConfig = localcloud.Flags

// checkListenAddr refuses development credentials on a non-loopback address.
var checkListenAddr = localcloud.CheckListenAddr

func envOr(name, fallback string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return fallback
}

// parseFlags parses args and reports -h and errors the way the flag package does.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (ok bool, code int) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, 0
		}
		return false, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return false, 2
	}
	return true, 0
}
