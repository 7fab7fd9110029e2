package statusdir

import (
	"errors"
	"strings"
	"testing"
)

// checkSafe fails t unless enc is a safe file name element.
func checkSafe(t testing.TB, name, enc string) {
	t.Helper()
	switch {
	case enc == "":
		t.Fatalf("EncodeName(%q) is empty", name)
	case len(enc) > MaxEncodedLen:
		t.Fatalf("EncodeName(%q) is %d bytes long, more than %d", name, len(enc), MaxEncodedLen)
	case enc[0] == '.':
		t.Fatalf("EncodeName(%q) = %q starts with a dot", name, enc)
	}
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		ok := 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || strings.IndexByte("_.-^%~", c) >= 0
		if !ok {
			t.Fatalf("EncodeName(%q) = %q has byte %q at %d", name, enc, c, i)
		}
	}
}

func TestEncodeName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"web", "web"},
		{"My_Vol_Ume", "^my_^vol_^ume"},
		{"busybox:1.36", "busybox%3A1.36"},
		{"ghcr.io/x/y:1", "ghcr.io%2Fx%2Fy%3A1"},
		{"../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd"},
		{"a/b", "a%2Fb"},
		{".hidden", "%2Ehidden"},
		{".", "%2E"},
		{"..", "%2E."},
		{"CON", "^c^o^n"},
		{"a.b-c_d", "a.b-c_d"},
		{"café", "caf%C3%A9"},
		{"a b\tc\n", "a%20b%09c%0A"},
		{"nul\x00", "nul%00"},
		{"%^~@", "%25%5E%7E%40"},
		{"sha256:0123abcdef", "sha256%3A0123abcdef"},
		{"\x7f\xff", "%7F%FF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeName(tt.name)
			if got != tt.want {
				t.Fatalf("EncodeName(%q) = %q, want %q", tt.name, got, tt.want)
			}
			checkSafe(t, tt.name, got)
			back, err := DecodeName(got)
			if err != nil || back != tt.name {
				t.Fatalf("DecodeName(%q) = %q, %v; want %q", got, back, err, tt.name)
			}
		})
	}
}

func TestEncodeNameLong(t *testing.T) {
	long := strings.Repeat("a", 1000)
	tests := []struct {
		name      string
		truncated bool
	}{
		{strings.Repeat("a", MaxEncodedLen), false},
		{strings.Repeat("a", MaxEncodedLen+1), true},
		{strings.Repeat("A", MaxEncodedLen/2), false},
		{strings.Repeat("A", MaxEncodedLen/2+1), true},
		{strings.Repeat("é", 100), true},
		{strings.Repeat("/", 67), true},
		{long, true},
		{long + "b", true},
		{strings.Repeat("../", 100), true},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		enc := EncodeName(tt.name)
		checkSafe(t, tt.name, enc)
		if other, ok := seen[enc]; ok {
			t.Fatalf("%q and %q both encode to %q", other, tt.name, enc)
		}
		seen[enc] = tt.name
		if got := strings.Contains(enc, "~"); got != tt.truncated {
			t.Fatalf("EncodeName(%.20q...) truncated = %v, want %v", tt.name, got, tt.truncated)
		}
		if len(ObjectFile(tt.name)) > 255 {
			t.Fatalf("ObjectFile(%.20q...) is longer than a file name may be", tt.name)
		}
		back, err := DecodeName(enc)
		if tt.truncated {
			if !errors.Is(err, ErrTruncatedName) {
				t.Fatalf("DecodeName(%q) = %q, %v; want ErrTruncatedName", enc, back, err)
			}
			continue
		}
		if err != nil || back != tt.name {
			t.Fatalf("DecodeName(%q) = %q, %v; want the name back", enc, back, err)
		}
	}
}

// Names that differ only in letter case must give file names that still
// differ after case folding (macOS and Windows file systems).
func TestEncodeNameCaseCollision(t *testing.T) {
	groups := [][]string{
		{"web", "Web", "WEB", "wEb", "weB"},
		{"busybox:1.36", "BusyBox:1.36", "BUSYBOX:1.36"},
		{"a", "A", "^a", "%41", "%61"},
		{"é", "É"},
		{"ß", "SS", "ss"},
		{strings.Repeat("x", 300), strings.Repeat("X", 300), strings.Repeat("x", 299) + "X"},
	}
	for _, g := range groups {
		folded := map[string]string{}
		for _, name := range g {
			enc := strings.ToLower(EncodeName(name))
			if other, ok := folded[enc]; ok {
				t.Errorf("%q and %q give file names that fold to the same %q", other, name, enc)
			}
			folded[enc] = name
		}
	}
}

func TestDecodeNameRejects(t *testing.T) {
	tests := []struct {
		file      string
		truncated bool
	}{
		{file: ""},
		{file: "A"},          // upper case is written ^a
		{file: "^A"},         // ^ takes a lower-case letter
		{file: "^"},          // dangling
		{file: "^1"},         // ^ takes a letter
		{file: "%"},          // dangling
		{file: "%4"},         // one hex digit
		{file: "%3a"},        // lower-case hex
		{file: "%61"},        // 'a' is written as is
		{file: "%5F"},        // '_' is written as is
		{file: "a%2Eb"},      // '.' is written as is after the first byte
		{file: ".hidden"},    // a leading '.' is written %2E
		{file: "."},          // idem
		{file: ".."},         // idem
		{file: "a/b"},        // never produced
		{file: "a b"},        // never produced
		{file: "a\x00"},      // never produced
		{file: "é"},          // never produced
		{file: "web.yaml\n"}, // never produced
		{file: strings.Repeat("a", MaxEncodedLen+1)},           // too long to be untruncated
		{file: "x~0123456789abcdef", truncated: true},          // well-formed cut name
		{file: "x~0123456789ABCDEF"},                           // hash in upper case
		{file: "x~0123"},                                       // short hash
		{file: "~0123456789abcdef"},                            // no prefix
		{file: "X~0123456789abcdef"},                           // bad prefix
		{file: "x~0123456789abcdef~0123456789abcdef"},          // two marks
		{file: strings.Repeat("a", 190) + "~0123456789abcdef"}, // too long
		{file: strings.Repeat("a", MaxEncodedLen-17) + "~0123456789abcdef", truncated: true},
	}
	for _, tt := range tests {
		name, err := DecodeName(tt.file)
		if err == nil {
			t.Errorf("DecodeName(%q) = %q, want an error", tt.file, name)
			continue
		}
		if got := errors.Is(err, ErrTruncatedName); got != tt.truncated {
			t.Errorf("DecodeName(%q): %v; truncated = %v, want %v", tt.file, err, got, tt.truncated)
		}
	}
}

func TestObjectName(t *testing.T) {
	for _, name := range []string{"web", "x.yaml", "Busybox:1.36", ".yaml"} {
		file := ObjectFile(name)
		if !strings.HasSuffix(file, ObjectExt) {
			t.Fatalf("ObjectFile(%q) = %q has no extension", name, file)
		}
		got, err := objectName(file)
		if err != nil || got != name {
			t.Fatalf("objectName(%q) = %q, %v; want %q", file, got, err, name)
		}
	}
	if _, err := objectName("web"); err == nil {
		t.Fatal(`objectName("web") succeeded without an extension`)
	}
}
