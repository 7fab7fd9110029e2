package statusdir

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var nameSeeds = []string{
	"", "web", "My_Vol_Ume", "busybox:1.36", "ghcr.io/x/y:1", "../../etc/passwd", "a/b",
	".hidden", ".", "..", "CON", "café", "\x00", "\xff\xfe", "~", "%41", "^a",
	strings.Repeat("a", 250), strings.Repeat("Ä", 70),
}

// swapCase swaps the case of ASCII letters.
func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = c - ('a' - 'A')
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// FuzzEncodeRoundTrip: every encoding is safe and decodes back (or says it
// is truncated), and names that differ only in case stay apart after case
// folding.
func FuzzEncodeRoundTrip(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		enc := EncodeName(name)
		if name == "" {
			if enc != "" {
				t.Fatalf("EncodeName(\"\") = %q", enc)
			}
			return
		}
		checkSafe(t, name, enc)
		back, err := DecodeName(enc)
		switch {
		case strings.Contains(enc, "~"):
			if !errors.Is(err, ErrTruncatedName) {
				t.Fatalf("DecodeName(%q) = %q, %v; want ErrTruncatedName", enc, back, err)
			}
		case err != nil || back != name:
			t.Fatalf("DecodeName(EncodeName(%q)) = %q, %v", name, back, err)
		}
		if other := swapCase(name); other != name {
			if strings.EqualFold(enc, EncodeName(other)) {
				t.Fatalf("%q and %q fold to the same file name %q", name, other, enc)
			}
		}
	})
}

// FuzzDecodeName: whatever DecodeName accepts is exactly what EncodeName
// produces, so every file name has one object name and back.
func FuzzDecodeName(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
		f.Add(EncodeName(s))
	}
	f.Add("%2E.")
	f.Add("x~0123456789abcdef")
	f.Fuzz(func(t *testing.T, file string) {
		name, err := DecodeName(file)
		if err != nil {
			return
		}
		if got := EncodeName(name); got != file {
			t.Fatalf("DecodeName(%q) = %q, which encodes to %q", file, name, got)
		}
		checkSafe(t, name, file)
	})
}

// FuzzReadApp: parsing app.yaml and markers never panics, and what parses
// renders and parses again to the same bytes.
func FuzzReadApp(f *testing.F) {
	good, err := Marshal(sampleApp())
	if err != nil {
		f.Fatal(err)
	}
	marker, err := Marshal(Marker{Digest: "sha256:1", Generation: 1, Reason: "Settled", Time: oldTime})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{
		good, marker, nil, []byte("null"), []byte("- 1"), []byte("a: &a [*a]"),
		[]byte("conditions: [{type: x, lastTransitionTime: not-a-time}]"),
		[]byte("daemon: {pid: 99999999999999999999}"), []byte("\xff\xfe"),
		[]byte("observedGeneration: 1\nobservedGeneration: 2\n"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if app, err := parseApp(data); err == nil {
			roundTrip(t, app, func(b []byte) (any, error) { return parseApp(b) })
		}
		if m, err := parseMarker(data); err == nil {
			roundTrip(t, m, func(b []byte) (any, error) { return parseMarker(b) })
		}
	})
}

func roundTrip(t *testing.T, v any, parse func([]byte) (any, error)) {
	t.Helper()
	first, err := Marshal(v)
	if err != nil {
		return // a value the parser accepts but YAML cannot render, such as a far-off time
	}
	again, err := parse(first)
	if err != nil {
		t.Fatalf("rendered value does not parse: %v\n%s", err, first)
	}
	second, err := Marshal(again)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("round trip differs (%v):\n%s\n%s", err, first, second)
	}
}
