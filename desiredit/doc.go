// Package desiredit edits desired.yaml the way a careful person would with a
// text editor: it changes the bytes of the values it sets, adds or removes
// the lines of the keys it adds or removes, and leaves every other byte of
// the file as it was.
//
// A round trip through go.yaml.in/yaml/v3 nodes keeps comments but not the
// layout. Measured on rdd's own commented template: the default encoder
// re-indents every nested line (2 to 4 spaces); with SetIndent(2) it still
// drops all 3 blank lines. On a hand-written file it also collapses the
// spaces before every trailing comment (`true   # c` becomes `true # c`),
// folds multi-line plain scalars onto one line and writes `{web: }` with
// an empty quoted string. So the nodes are used only to find things: their
// line and column locate each key and value in the original text, a small
// scanner finds where the value ends (quoted, plain, block, flow), and the
// edit is a splice of new text at that place.
//
// What is kept, byte for byte, outside the edited value or the inserted
// lines: comments (head, trailing, and those between entries), key order,
// each scalar's quoting, blank lines, indentation, flow mappings such as
// `web: {state: running}`, line endings (CRLF stays CRLF) and a byte order
// mark. A replaced string keeps its quoting style when it can; new keys and
// values are written plain when YAML reads them back as the same string,
// double-quoted otherwise. New nested entries use the indentation step the
// file already uses, and the flow style when their siblings use it.
//
// A new key goes on a new line after the last entry of its mapping and
// the comment lines right below that entry, or into a flow mapping after
// its last entry. Removing a key removes the lines of its entry (nested
// lines and comments on those lines included); comment lines above or
// below it stay, since they may speak of more than that key.
//
// A list or a mapping (rdd set vm.mounts='[{location: ~/src}]') is written
// in flow style on its key's line, whatever it replaces: a scalar or null,
// a flow collection (replaced in place), or a block collection, whose lines
// go (comment lines among them too) while a comment on the key's line
// stays. The text is the value as given, normalised: one line, `, ` between
// entries, the given order, strings plain when they read back as the same
// string and double-quoted otherwise, other scalars in YAML's canonical
// form. Flow keeps the diff to the lines of the old value and one new
// line, and reads as the command line that made it; rewriting it as block
// lines would guess at an indentation and a style the file may not use.
// Setting a list or mapping equal to the one already there changes
// nothing, even when the file writes it in block style.
//
// Every edit is checked: the spliced text is parsed again and its decoded
// value must equal the old decoded value with exactly this change applied.
// A file whose layout the scanner misreads (unusual YAML) therefore gets an
// error naming the key, never a wrong edit.
package desiredit
