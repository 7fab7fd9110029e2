package examples

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/rddproject/rdd/schema"
)

func exampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("found %d examples, want at least a minimal, a full and a dotfiles one", len(files))
	}
	return files
}

func compileJSONSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := schema.Default().JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("rdd.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("rdd.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlToJSON converts YAML to the JSON value an editor's language server
// would check against the JSON Schema.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		v = map[string]any{}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExamplesValidate(t *testing.T) {
	js := compileJSONSchema(t)
	for _, f := range exampleFiles(t) {
		t.Run(f, func(t *testing.T) {
			d, _, err := schema.Default().Load(f)
			if err != nil {
				t.Fatalf("schema: %v", err)
			}
			if d.VM.CPUs < 1 {
				t.Errorf("cpus = %d after defaults", d.VM.CPUs)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := js.Validate(yamlToJSON(t, data)); err != nil {
				t.Errorf("JSON Schema rejects a valid example: %v", err)
			}
		})
	}
}

// The JSON Schema must reject what the CUE schema rejects, or editors would
// approve files the daemon refuses.
func TestJSONSchemaRejectsInvalid(t *testing.T) {
	js := compileJSONSchema(t)
	for _, in := range []string{
		"running: yes\n",
		"vm: {cpus: 0}\n",
		"vm: {cpus: 300}\n",
		"vm: {memroy: 4GiB}\n",
		"vm: {memory: 4GB}\n",
		"vm: {type: hyperv}\n",
		"containers: {web: {state: runing}}\n",
		"containers: {-bad: {}}\n",
		"volumes: {v: {state: gone}}\n",
		"extra: 1\n",
		"vm: {image: {kernel: /k}}\n",
		"vm: {mountType: nfs}\n",
		"vm: {recreate: always}\n",
		"vm: {portForwards: [{guestPort: 0}]}\n",
		"vm: {portForwards: [{hostPort: 80}]}\n",
		"vm: {provision: [{mode: root, script: x}]}\n",
		"vm: {mounts: [{location: 'C:\\Users\\x'}]}\n",
		"vm: {proxy: {http: 'proxy:3128'}}\n",
		"vm: {env: {1X: y}}\n",
		"containerEngine: {registryMirrors: [ftp://m.corp]}\n",
		"containerEngine: {dockerContext: -x}\n",
		"kubernetes: {port: 70000}\n",
	} {
		t.Run(in, func(t *testing.T) {
			if _, err := schema.Default().Parse("in.yaml", []byte(in)); err == nil {
				t.Fatalf("CUE schema accepts %q", in)
			}
			if err := js.Validate(yamlToJSON(t, []byte(in))); err == nil {
				t.Errorf("JSON Schema accepts %q, which the CUE schema rejects", in)
			}
		})
	}
}
