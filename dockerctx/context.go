package dockerctx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Description is the description of every context rdd writes, shown by
// `docker context ls`.
const Description = "rdd"

// metaFile is the name of a context's metadata file in the docker CLI's
// store (cli/context/store/metadatastore.go in docker/cli).
const metaFile = "meta.json"

// validName is the docker CLI's rule for context names (`docker context
// create` refuses anything else), so a context rdd writes can always be
// used and removed with the docker CLI.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`)

// CheckName refuses a name the docker CLI would not accept, and "default",
// which the docker CLI reserves for its DOCKER_HOST-based context.
func CheckName(name string) error {
	switch {
	case name == "default":
		return errors.New(`docker context name "default" is reserved by the docker CLI; choose another name`)
	case !validName.MatchString(name):
		return fmt.Errorf("docker context name %q: want letters, digits and _.+- (at least 2 characters, starting with a letter or digit)", name)
	}
	return nil
}

// ConfigDir is the docker CLI's configuration directory: $DOCKER_CONFIG, or
// ~/.docker. getenv nil means os.Getenv.
func ConfigDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Abs(d)
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("find the docker CLI configuration directory (set DOCKER_CONFIG): %w", errors.Join(err, errors.New("no home directory")))
	}
	return filepath.Join(home, ".docker"), nil
}

// MetaPath is the metadata file of context name in configDir: the docker
// CLI names a context's directory by the SHA-256 of its name.
func MetaPath(configDir, name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(configDir, "contexts", "meta", hex.EncodeToString(sum[:]), metaFile)
}

// Host is the docker endpoint for a unix socket path (an endpoint already
// written as unix://... is kept).
func Host(socket string) string {
	if strings.HasPrefix(socket, "unix://") {
		return socket
	}
	return "unix://" + socket
}

// meta mirrors the docker CLI's metadata file. Field order and names are
// the docker CLI's, so the bytes are the ones `docker context create`
// writes for the same context.
type meta struct {
	Name      string
	Metadata  metadata
	Endpoints map[string]endpoint
}

type metadata struct {
	Description string
}

type endpoint struct {
	Host          string
	SkipTLSVerify bool
}

// Render is the metadata file of context name pointing at socket.
func Render(name, socket string) ([]byte, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	return json.Marshal(meta{
		Name:      name,
		Metadata:  metadata{Description: Description},
		Endpoints: map[string]endpoint{"docker": {Host: Host(socket)}},
	})
}

// Write makes context name in configDir point at socket. It writes only when
// the bytes differ (a pass that changes nothing touches nothing), and
// atomically, so the docker CLI never reads half a file. It reports whether
// it wrote.
func Write(configDir, name, socket string) (changed bool, err error) {
	data, err := Render(name, socket)
	if err != nil {
		return false, err
	}
	path := MetaPath(configDir, name)
	changed, err = writeIfChanged(path, data)
	if err != nil {
		return false, fmt.Errorf("write docker context %q: %w", name, err)
	}
	return changed, nil
}

// Read returns the endpoint of context name in configDir ("" and no error
// when the context does not exist).
func Read(configDir, name string) (host string, err error) {
	data, err := os.ReadFile(MetaPath(configDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read docker context %q: %w", name, err)
	}
	var m meta
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("read docker context %q: %w", name, err)
	}
	return m.Endpoints["docker"].Host, nil
}
