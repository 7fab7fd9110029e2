package lima

// The record: the Spec an instance was last created or edited with.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rddproject/rdd/atomicfile"
)

// RecordFile, in the instance's directory, holds the Spec (JSON) the
// instance was last created or edited with. It goes away with the instance.
const RecordFile = "rdd-spec.json"

func readRecord(dir string) (*Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, RecordFile), err)
	}
	return &s, nil
}

// writeRecord replaces the record atomically.
func writeRecord(dir string, s Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := atomicfile.Write(filepath.Join(dir, RecordFile), b, 0o600); err != nil {
		return fmt.Errorf("write the instance's record: %w", err)
	}
	return nil
}
