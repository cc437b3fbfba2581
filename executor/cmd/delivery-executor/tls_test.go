package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a pool that trusts the certificate.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "delivery-executor test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeAPIOverTLS(t *testing.T) {
	t.Parallel() // its own process, data dir and ports
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	args := append([]string{"serve", "--embedded", "--data-dir", filepath.Join(dir, "data"), "--tls-cert", certFile, "--tls-key", keyFile}, freeAddrs()...)
	_, ready := startProcess(t, args...)
	apiURL := ready["api"]
	if !strings.HasPrefix(apiURL, "https://127.0.0.1:") {
		t.Fatalf("ready line api=%q, want an https URL", apiURL)
	}
	// The local cloud stays plain HTTP.
	if !strings.HasPrefix(ready["oss"], "http://") || !strings.HasPrefix(ready["tablestore"], "http://") {
		t.Fatalf("ready line: %v", ready)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	resp, err := trusting.Get(apiURL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("GET /healthz over TLS: %d %+v", resp.StatusCode, resp.TLS)
	}
	// The Go client of the API works over TLS with the token.
	c, err := client.New(apiURL, devAPIToken, client.WithHTTPClient(trusting))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListRoles(context.Background()); err != nil {
		t.Fatalf("ListRoles over TLS: %v", err)
	}
	// A client that does not trust the certificate is refused, and plain
	// HTTP on the TLS port gets no API answer.
	if resp, err := http.Get(apiURL + "/healthz"); err == nil {
		_ = resp.Body.Close()
		t.Fatal("an untrusted certificate was accepted")
	}
	plain := "http://" + strings.TrimPrefix(apiURL, "https://")
	if resp, err := http.Get(plain + "/healthz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("plain HTTP on the TLS port answered 200: %s", body)
		}
	}
}

func TestServeTLSFlagsValidated(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := selfSignedCert(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "set both or neither"},
		{[]string{"--tls-cert", certFile, "--tls-key", filepath.Join(dir, "missing.pem")}, "--tls-cert/--tls-key"},
		{[]string{"--tls-cert", certFile, "--tls-key", certFile}, "--tls-cert/--tls-key"},
	} {
		var stderr strings.Builder
		args := append(append([]string{"serve", "--embedded", "--data-dir", filepath.Join(dir, "data")}, freeAddrs()...), tc.args...)
		if code := run(args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
