package schema

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate as PEM.
func writeCA(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rdd test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFilesCACerts(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	dir := t.TempDir()
	good := filepath.Join(dir, "corp-root.pem")
	writeCA(t, good)
	if err := os.MkdirAll(filepath.Join(home, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeCA(t, filepath.Join(home, "certs", "home.pem"))
	key := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), 0o600); err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, "garbled.pem")
	if err := os.WriteFile(garbled, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("no")}), 0o600); err != nil {
		t.Fatal(err)
	}
	in := "vm:\n  caCerts:\n    - " + good + "\n    - ~/certs/home.pem\n    - ~/certs/missing.pem\n    - " + key +
		"\n    - " + garbled + "\n    - " + dir + "\n"
	s := Default()
	d, err := s.Parse("d.yaml", []byte(in))
	if err != nil {
		t.Fatalf("the schema alone accepts these paths: %v", err)
	}
	es := AsErrors(CheckFiles("d.yaml", []byte(in), d))
	want := []string{
		`d.yaml:5:7: vm.caCerts[2]: "~/certs/missing.pem" (` + filepath.Join(home, "certs", "missing.pem") + `) does not exist; give the path of a PEM file of CA certificates`,
		`d.yaml:6:7: vm.caCerts[3]: "` + key + `" holds no PEM CERTIFICATE block; give a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)`,
		`d.yaml:7:7: vm.caCerts[4]: "` + garbled + `": PEM block 1 is not a valid certificate (`,
		`d.yaml:8:7: vm.caCerts[5]: "` + dir + `" is not a regular file; give the path of a PEM file of CA certificates`,
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, e := range es {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("got  %s\nwant %s", e, want[i])
		}
	}
	// Load runs the check too; good files alone pass.
	p := filepath.Join(dir, "desired.yaml")
	if err := os.WriteFile(p, []byte("vm: {caCerts: ["+good+", ~/certs/home.pem]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("vm: {caCerts: [~/nope.pem]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(p); err == nil || !strings.Contains(err.Error(), `:1:16: vm.caCerts[0]: "~/nope.pem"`) {
		t.Fatalf("Load: %v", err)
	}
}
