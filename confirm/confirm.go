// Package confirm is the record of a user's consent to a change that
// destroys data (DESIGN section 10): `rdd confirm recreate` writes the
// digest of the desired state it confirms to run/confirm.yaml, and the
// daemon recreates the VM for that digest only. Any other content of the
// desired file needs a new confirmation, so a consent never carries over
// to an edit the user has not seen planned.
package confirm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/atomicfile"
)

// Record is the content of run/confirm.yaml.
type Record struct {
	Digest string    `yaml:"digest"` // the desired state confirmed
	What   string    `yaml:"what"`   // what was confirmed: recreate
	Time   time.Time `yaml:"time"`
}

// Recreate is the one thing that can be confirmed today.
const Recreate = "recreate"

// maxSize bounds what Read accepts: the record is a few lines.
const maxSize = 4 << 10

// Write records consent to what for digest, atomically. The directory
// must exist (the daemon creates run/ 0700).
func Write(path, what, digest string, now time.Time) error {
	b, err := yaml.Marshal(Record{Digest: digest, What: what, Time: now.UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("render confirmation: %w", err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("write confirmation %q: %w", path, err)
	}
	return nil
}

// Confirmed reports whether path records consent to what for digest. A
// missing file is no consent; an unreadable or malformed one is an error
// (and no consent).
func Confirmed(path, what, digest string) (bool, error) {
	if digest == "" {
		return false, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read confirmation %q: %w", path, err)
	}
	defer f.Close()
	b := make([]byte, maxSize+1)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return false, fmt.Errorf("read confirmation %q: %w", path, err)
	}
	if n > maxSize {
		return false, fmt.Errorf("confirmation %q is larger than %d bytes", path, maxSize)
	}
	var r Record
	if err := yaml.Unmarshal(b[:n], &r); err != nil {
		return false, fmt.Errorf("confirmation %q: %w", path, err)
	}
	return r.What == what && r.Digest == digest, nil
}
