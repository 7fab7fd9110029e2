package statusdir

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrTruncatedName is returned (wrapped) by DecodeName for a file name that
// EncodeName cut because the name was too long. The object's name is then
// read from the name field inside the file.
var ErrTruncatedName = errors.New("name is truncated; read the name field inside the file")

const (
	upperHex = "0123456789ABCDEF"
	// truncMark separates the encoded prefix of a long name from its hash.
	// EncodeName never emits it otherwise ("~" is encoded as "%7E").
	truncMark = '~'
	hashLen   = 16 // hex digits of SHA-256 after truncMark
)

// literal reports whether EncodeName keeps byte b as it is (a "." only when
// it is not the first byte).
func literal(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '-'
}

// encodeByte appends the encoding of b, the byte at position i of a name.
func encodeByte(dst []byte, b byte, i int) []byte {
	switch {
	case literal(b) && !(i == 0 && b == '.'):
		return append(dst, b)
	case 'A' <= b && b <= 'Z':
		return append(dst, '^', b+('a'-'A'))
	default:
		return append(dst, '%', upperHex[b>>4], upperHex[b&0xF])
	}
}

// EncodeName maps an object name to a file name (without extension): bytes
// in [a-z0-9_.-] stay as they are except a leading "."; an upper-case ASCII
// letter X becomes "^x"; every other byte becomes "%XX" in upper-case hex.
// The result contains only [a-z0-9_.-^%A-F], never starts with ".", and no
// two names give results that differ only in letter case.
//
// When the encoding would be longer than MaxEncodedLen bytes, the result is
// the encoding of the longest prefix that fits, then "~" and the first 16
// hex digits of the SHA-256 of the whole name; DecodeName cannot reverse it.
// The empty name encodes to "", which is not a valid file name; callers
// reject empty names.
func EncodeName(name string) string {
	out := make([]byte, 0, len(name)+8)
	for i := 0; i < len(name); i++ {
		out = encodeByte(out, name[i], i)
	}
	if len(out) <= MaxEncodedLen {
		return string(out)
	}
	sum := sha256.Sum256([]byte(name))
	limit := MaxEncodedLen - 1 - hashLen
	out = out[:0]
	for i := 0; i < len(name); i++ {
		next := encodeByte(out, name[i], i)
		if len(next) > limit {
			break
		}
		out = next
	}
	out = append(out, truncMark)
	out = append(out, hex.EncodeToString(sum[:])[:hashLen]...)
	return string(out)
}

// DecodeName reverses EncodeName. It rejects every string that EncodeName
// would not produce, and returns an error wrapping ErrTruncatedName for the
// cut form of a long name.
func DecodeName(file string) (string, error) {
	if file == "" {
		return "", errors.New("decode object file name: empty name")
	}
	if i := strings.IndexByte(file, truncMark); i >= 0 {
		if err := checkTruncated(file, i); err != nil {
			return "", err
		}
		return "", fmt.Errorf("decode object file name %q: %w", file, ErrTruncatedName)
	}
	name, err := decode(file)
	if err != nil {
		return "", fmt.Errorf("decode object file name %q: %w", file, err)
	}
	if EncodeName(name) != file {
		return "", fmt.Errorf("decode object file name %q: not in canonical form", file)
	}
	return name, nil
}

// checkTruncated validates the cut form: a valid encoding, "~", 16
// lower-case hex digits, and no more than MaxEncodedLen bytes.
func checkTruncated(file string, i int) error {
	prefix, sum := file[:i], file[i+1:]
	if len(file) > MaxEncodedLen || len(sum) != hashLen || strings.Trim(sum, "0123456789abcdef") != "" {
		return fmt.Errorf("decode object file name %q: malformed truncated name", file)
	}
	if prefix == "" {
		return fmt.Errorf("decode object file name %q: malformed truncated name", file)
	}
	name, err := decode(prefix)
	if err != nil {
		return fmt.Errorf("decode object file name %q: %w", file, err)
	}
	if EncodeName(name) != prefix {
		return fmt.Errorf("decode object file name %q: not in canonical form", file)
	}
	return nil
}

// decode parses an encoded name without checking that it is canonical.
func decode(s string) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '^':
			if i+1 >= len(s) || s[i+1] < 'a' || s[i+1] > 'z' {
				return "", fmt.Errorf("%q at byte %d is not followed by a lower-case letter", "^", i)
			}
			out = append(out, s[i+1]-('a'-'A'))
			i++
		case b == '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("%q at byte %d is not followed by two hex digits", "%", i)
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("%q at byte %d is not followed by two upper-case hex digits", "%", i)
			}
			out = append(out, byte(hi<<4|lo))
			i += 2
		case literal(b):
			out = append(out, b)
		default:
			return "", fmt.Errorf("byte %q at %d is never produced by the encoding", b, i)
		}
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ObjectFile returns the file name of the object called name: EncodeName(name)
// + ObjectExt.
func ObjectFile(name string) string { return EncodeName(name) + ObjectExt }

// objectName reverses ObjectFile. Like DecodeName, it returns an error
// wrapping ErrTruncatedName for the file of a name that was too long.
func objectName(file string) (string, error) {
	enc, ok := strings.CutSuffix(file, ObjectExt)
	if !ok {
		return "", fmt.Errorf("decode object file name %q: no %q extension", file, ObjectExt)
	}
	return DecodeName(enc)
}
