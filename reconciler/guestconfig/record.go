package guestconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rddproject/rdd/atomicfile"
)

// RecordFile, in the Lima instance's directory, holds what was last
// applied to the guest and verified. It goes away with the instance, as
// the guest's files do.
const RecordFile = "rdd-guestconfig.json"

// Record is the engine configuration in force on the guest.
type Record struct {
	State
	Digest         string `json:"digest"`
	BootID         string `json:"bootID"`         // the guest boot it was applied or checked in
	DockerdVersion string `json:"dockerdVersion"` // `dockerd --version` of that boot
}

// ReadRecord reads dir's record; nil when there is none.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, RecordFile), err)
	}
	return &r, nil
}

func writeRecord(dir string, r Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, RecordFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the guest configuration record: %w", err)
	}
	return nil
}
