package schema

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// CheckFiles checks what the desired state names on this machine's
// filesystem, which the schema cannot: each vm.caCerts entry must be a
// readable file holding at least one PEM CERTIFICATE block that parses.
// data is the file's content, for positions. Parse stays a function of the
// bytes alone; Load and the daemon call CheckFiles after it, so that a
// missing certificate is reported at its line before anything is applied.
//
// The error, if any, is an Errors in file order.
func CheckFiles(file string, data []byte, d *Desired) error {
	if len(d.VM.CACerts) == 0 {
		return nil
	}
	data, err := checkEncoding(file, data)
	if err != nil {
		return Errors{err.(*Error)}
	}
	doc, err := parseYAML(file, data)
	if err != nil {
		return Errors{err.(*Error)}
	}
	var errs Errors
	for i, p := range d.VM.CACerts {
		if msg := checkCACert(p); msg != "" {
			errs = append(errs, errorAt(file, doc, []string{"vm", "caCerts", "[" + strconv.Itoa(i) + "]"}, msg))
		}
	}
	if len(errs) > 0 {
		errs.sort()
		return errs
	}
	return nil
}

// ExpandHome turns a leading ~/ (or a lone ~) into the user's home
// directory, as the schema's host paths allow.
func ExpandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// checkCACert returns what is wrong with the CA certificate file p, or "".
func checkCACert(p string) string {
	path, err := ExpandHome(p)
	if err != nil {
		return fmt.Sprintf("%s: cannot find the home directory (%v)", quote(p), err)
	}
	shown := quote(p)
	if path != p {
		shown += " (" + path + ")"
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return shown + " does not exist; give the path of a PEM file of CA certificates"
		}
		return fmt.Sprintf("%s cannot be read: %v", shown, unwrapPathError(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return shown + " is not a regular file; give the path of a PEM file of CA certificates"
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return fmt.Sprintf("%s cannot be read: %v", shown, unwrapPathError(err))
	}
	if len(data) > MaxFileSize {
		return fmt.Sprintf("%s is over %d bytes (1 MiB); is this a PEM file of CA certificates?", shown, MaxFileSize)
	}
	certs := 0
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Sprintf("%s: PEM block %d is not a valid certificate (%v)", shown, n, err)
		}
		certs++
	}
	if certs == 0 {
		return shown + " holds no PEM CERTIFICATE block; give a PEM file of CA certificates (-----BEGIN CERTIFICATE-----)"
	}
	return ""
}
