package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
)

// Development credentials of the embedded setup. They are printed at start and
// refused on any address that is not loopback.
const (
	devAccessKeyID     = "local-dev-key"
	devAccessKeySecret = "local-dev-secret"
	devAPIToken        = "local-dev-token"
)

// Environment variables that override the development credentials.
const (
	envAccessKeyID     = "DELIVERY_ACCESS_KEY_ID"
	envAccessKeySecret = "DELIVERY_ACCESS_KEY_SECRET"
	envAPIToken        = "DELIVERY_API_TOKEN"
	envSecretKey       = "DELIVERY_SECRET_KEY"
)

// localCloudConfig holds the flags shared by `serve --embedded` and `local`.
type localCloudConfig struct {
	dataDir          string
	tablestoreListen string
	ossListen        string
	instance         string
	region           string
	shards           int
	accessKeyID      string
	accessKeySecret  string
	faults           fault.Flags // --fault-*: failures injected into the local cloud (testing)
}

func (c *localCloudConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", "./.delivery-data", "directory holding all state; everything survives a restart with the same data dir")
	fs.StringVar(&c.tablestoreListen, "tablestore-listen", "127.0.0.1:8471", "address of the Tablestore-compatible endpoint (port 0 picks a free port)")
	fs.StringVar(&c.ossListen, "oss-listen", "127.0.0.1:8472", "address of the OSS-compatible endpoint (port 0 picks a free port)")
	fs.StringVar(&c.instance, "instance", "local", "Tablestore instance name served by the local endpoint")
	fs.StringVar(&c.region, "region", "cn-hangzhou", "region of the local Tablestore instance and of new OSS buckets")
	fs.IntVar(&c.shards, "tablestore-shards", 4, "number of shards (partitions) of every new table")
	fs.StringVar(&c.accessKeyID, "access-key-id", envOr(envAccessKeyID, devAccessKeyID), "access key id accepted by the local Tablestore and OSS (env "+envAccessKeyID+")")
	fs.StringVar(&c.accessKeySecret, "access-key-secret", envOr(envAccessKeySecret, devAccessKeySecret), "access key secret (env "+envAccessKeySecret+")")
	c.faults.Register(fs)
}

func (c *localCloudConfig) validate() error {
	if c.shards < 1 || c.shards > 64 {
		return fmt.Errorf("--tablestore-shards: must be between 1 and 64, got %d", c.shards)
	}
	if c.instance == "" {
		return errors.New("--instance: must not be empty")
	}
	if _, err := c.faults.Rules(); err != nil {
		return err
	}
	usesDevKeys := c.accessKeyID == devAccessKeyID || c.accessKeySecret == devAccessKeySecret
	for _, l := range []struct{ flag, addr string }{{"--tablestore-listen", c.tablestoreListen}, {"--oss-listen", c.ossListen}} {
		if err := checkListenAddr(l.flag, l.addr, usesDevKeys, "the development access keys; set "+envAccessKeyID+" and "+envAccessKeySecret); err != nil {
			return err
		}
	}
	return nil
}

// checkListenAddr refuses development credentials on a non-loopback address.
func checkListenAddr(flagName, addr string, usesDevCredentials bool, what string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %w", flagName, addr, err)
	}
	if usesDevCredentials && !isLoopback(host) {
		return fmt.Errorf("%s: refusing to listen on non-loopback address %q with %s", flagName, addr, what)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

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
