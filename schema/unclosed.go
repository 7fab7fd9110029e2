package schema

// opener is a quote or flow bracket that the rest of the file never closes.
type opener struct {
	line, col int
	char      byte // '"', '\'', '[' or '{'
}

// unclosed finds the first quoted scalar or flow collection of data that is
// never closed, by a scan that knows just enough YAML for that: comments,
// block scalars (whose text may hold stray quotes), plain scalars (a quote
// inside one opens nothing) and the two quoting styles. The YAML parser
// reports such an error where the file ends, which on a one-line file is a
// line past its end; the opener is where the fix goes.
func unclosed(data []byte) (opener, bool) {
	var flows []opener
	line, col := 1, 1
	i := 0
	advance := func() {
		if data[i] == '\n' || data[i] == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			line, col = line+1, 1
		} else if data[i]&0xC0 != 0x80 { // count runes, not UTF-8 bytes
			col++
		}
		i++
	}
	lineIndent := 0    // indentation of the current line
	tokenStart := true // a new scalar may start here
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\n' || c == '\r':
			advance()
			lineIndent = 0
			for i < len(data) && data[i] == ' ' {
				advance()
				lineIndent++
			}
			tokenStart = true
		case c == ' ' || c == '\t':
			advance()
		case c == '#' && (tokenStart || i > 0 && (data[i-1] == ' ' || data[i-1] == '\t')):
			for i < len(data) && data[i] != '\n' && data[i] != '\r' {
				advance()
			}
		case tokenStart && (c == '"' || c == '\''):
			start := opener{line, col, c}
			advance()
			closed := false
			for i < len(data) {
				switch {
				case c == '"' && data[i] == '\\' && i+1 < len(data):
					advance()
				case data[i] == c && c == '\'' && i+1 < len(data) && data[i+1] == '\'':
					advance()
				case data[i] == c:
					closed = true
				}
				advance()
				if closed {
					break
				}
			}
			if !closed {
				return start, true
			}
			tokenStart = false
		case c == '[' || c == '{':
			flows = append(flows, opener{line, col, c})
			advance()
			tokenStart = true
		case c == ']' || c == '}':
			if n := len(flows); n > 0 && flows[n-1].char == map[byte]byte{']': '[', '}': '{'}[c] {
				flows = flows[:n-1]
			}
			advance()
			tokenStart = false
		case c == ',' && len(flows) > 0:
			advance()
			tokenStart = true
		case (c == ':' || c == '-' || c == '?') && (i+1 == len(data) || isSpace(data[i+1])):
			advance()
			tokenStart = true
		case tokenStart && len(flows) == 0 && (c == '|' || c == '>'):
			// A block scalar: its text is every following line indented
			// deeper than the line that introduced it.
			for i < len(data) && data[i] != '\n' && data[i] != '\r' {
				advance()
			}
			for i < len(data) {
				j, indent := i, 0
				for j < len(data) && (data[j] == '\n' || data[j] == '\r') {
					j++
				}
				for j < len(data) && data[j] == ' ' {
					j++
					indent++
				}
				if j < len(data) && data[j] != '\n' && data[j] != '\r' && indent <= lineIndent {
					break
				}
				for i < j {
					advance()
				}
				for i < len(data) && data[i] != '\n' && data[i] != '\r' {
					advance()
				}
				if j == len(data) {
					break
				}
			}
		default:
			// A plain scalar, up to where it must end; at least one
			// character (a ':' glued to a flow value, `{a:{b: 1}}`).
			advance()
			for i < len(data) {
				d := data[i]
				if d == '\n' || d == '\r' || d == ':' && (i+1 == len(data) || isSpace(data[i+1])) ||
					d == '#' && i > 0 && (data[i-1] == ' ' || data[i-1] == '\t') ||
					len(flows) > 0 && (d == ',' || d == ']' || d == '}' || d == ':') {
					break
				}
				advance()
			}
			tokenStart = false
		}
	}
	if len(flows) > 0 {
		return flows[0], true
	}
	return opener{}, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
