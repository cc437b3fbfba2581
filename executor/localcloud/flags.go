package localcloud

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/fault"
	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/localcloud/tablestore/storage"
)

// Development credentials: printed at start, and refused on any address that
// is not loopback.
const (
	DevAccessKeyID     = "local-dev-key"
	DevAccessKeySecret = "local-dev-secret"
)

// Environment variables that override the development credentials.
const (
	EnvAccessKeyID     = "DELIVERY_ACCESS_KEY_ID"
	EnvAccessKeySecret = "DELIVERY_ACCESS_KEY_SECRET"
)

// Flags are the command-line flags of a local cloud, shared by its own
// binary, `delivery-executor local` and `delivery-executor serve --embedded`.
type Flags struct {
	DataDir          string
	TablestoreListen string
	OSSListen        string
	Instance         string
	Region           string
	Shards           int
	StreamRetention  time.Duration // --tablestore-stream-retention: how long the change log is kept
	SplitRows        int           // --tablestore-split-rows: automatic partition splits (0: none)
	AccessKeyID      string
	AccessKeySecret  string
	Faults           fault.Flags // --fault-*: failures injected into the local cloud (testing)
}

// Register adds the flags to fs, with the documented defaults.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.DataDir, "data-dir", "./.delivery-data", "directory holding all state; everything survives a restart with the same data dir")
	fs.StringVar(&f.TablestoreListen, "tablestore-listen", "127.0.0.1:8471", "address of the Tablestore-compatible endpoint (port 0 picks a free port)")
	fs.StringVar(&f.OSSListen, "oss-listen", "127.0.0.1:8472", "address of the OSS-compatible endpoint (port 0 picks a free port)")
	fs.StringVar(&f.Instance, "instance", "local", "Tablestore instance name served by the local endpoint")
	fs.StringVar(&f.Region, "region", "cn-hangzhou", "region of the local Tablestore instance and of new OSS buckets")
	fs.IntVar(&f.Shards, "tablestore-shards", 4, "number of initial partitions of every new table (each a hash shard; partitions split later by key range)")
	fs.DurationVar(&f.StreamRetention, "tablestore-stream-retention", storage.DefaultChangeRetention, "how long the change log (Stream and tunnel incremental data) is kept, a Go duration; reading older changes fails as Tablestore's OTSTrimmedDataAccess")
	fs.IntVar(&f.SplitRows, "tablestore-split-rows", 0, "split a table partition automatically once it holds more than this many rows (0: only on POST /_admin/tables/{table}/split)")
	fs.StringVar(&f.AccessKeyID, "access-key-id", envOr(EnvAccessKeyID, DevAccessKeyID), "access key id accepted by the local Tablestore and OSS (env "+EnvAccessKeyID+")")
	fs.StringVar(&f.AccessKeySecret, "access-key-secret", envOr(EnvAccessKeySecret, DevAccessKeySecret), "access key secret (env "+EnvAccessKeySecret+")")
	f.Faults.Register(fs)
}

// Validate checks the flags; development credentials are refused on a
// non-loopback address.
func (f *Flags) Validate() error {
	if f.Shards < 1 || f.Shards > 64 {
		return fmt.Errorf("--tablestore-shards: must be between 1 and 64, got %d", f.Shards)
	}
	if f.StreamRetention <= 0 {
		return fmt.Errorf("--tablestore-stream-retention: must be a positive duration, got %v", f.StreamRetention)
	}
	if f.SplitRows < 0 {
		return fmt.Errorf("--tablestore-split-rows: must be 0 (off) or positive, got %d", f.SplitRows)
	}
	if f.Instance == "" {
		return errors.New("--instance: must not be empty")
	}
	if _, err := f.Faults.Rules(); err != nil {
		return err
	}
	usesDevKeys := f.AccessKeyID == DevAccessKeyID || f.AccessKeySecret == DevAccessKeySecret
	for _, l := range []struct{ flag, addr string }{{"--tablestore-listen", f.TablestoreListen}, {"--oss-listen", f.OSSListen}} {
		if err := CheckListenAddr(l.flag, l.addr, usesDevKeys, "the development access keys; set "+EnvAccessKeyID+" and "+EnvAccessKeySecret); err != nil {
			return err
		}
	}
	return nil
}

// Config turns the flags into a Config (logging to log).
func (f *Flags) Config(log *slog.Logger) (Config, error) {
	faults, err := f.Faults.Injector(fault.Options{Logger: log.With("component", "fault")})
	if err != nil {
		return Config{}, err
	}
	return Config{
		DataDir:          f.DataDir,
		TablestoreListen: f.TablestoreListen,
		OSSListen:        f.OSSListen,
		Instance:         f.Instance,
		Region:           f.Region,
		Credentials:      map[string]string{f.AccessKeyID: f.AccessKeySecret},
		Shards:           f.Shards,
		StreamRetention:  f.StreamRetention,
		SplitRows:        f.SplitRows,
		Faults:           faults,
		Logger:           log,
	}, nil
}

// LogCredentials prints the development credentials, and only those: a
// configured secret is never logged.
func (f *Flags) LogCredentials(log *slog.Logger) {
	if f.AccessKeyID == DevAccessKeyID && f.AccessKeySecret == DevAccessKeySecret {
		log.Info("development credentials (loopback only)", "access_key_id", DevAccessKeyID, "access_key_secret", DevAccessKeySecret)
	} else {
		log.Info("local cloud credentials from configuration", "access_key_id", f.AccessKeyID)
	}
}

// ReadyLine is the line printed once both endpoints serve.
func (c *Cloud) ReadyLine() string {
	return strings.Join([]string{"ready", "tablestore=" + c.TablestoreURL, "oss=" + c.OSSURL,
		"instance=" + c.Instance, "region=" + c.Region}, " ")
}

// Run starts a local cloud from cfg, prints its ready line to stdout and
// serves until ctx ends or an endpoint fails; then it closes everything.
func Run(ctx context.Context, cfg Config, stdout io.Writer) (err error) {
	c, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	fmt.Fprintln(stdout, c.ReadyLine())
	select {
	case <-ctx.Done():
		if cfg.Logger != nil {
			cfg.Logger.Info("shutting down")
		}
		return nil
	case err := <-c.Err():
		return err
	}
}

// CheckListenAddr refuses development credentials on a non-loopback address.
func CheckListenAddr(flagName, addr string, usesDevCredentials bool, what string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %w", flagName, addr, err)
	}
	if usesDevCredentials && !IsLoopback(host) {
		return fmt.Errorf("%s: refusing to listen on non-loopback address %q with %s", flagName, addr, what)
	}
	return nil
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
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
