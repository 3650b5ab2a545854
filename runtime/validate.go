package runtime

// maxNameLen bounds names used in URLs (project, integration and destination
// names).
const maxNameLen = 63

// validName checks a name that appears in URL paths: 1 to 63 characters from
// [a-zA-Z0-9_.-], starting with a letter or a digit.
func validName(what, s string) error {
	if s == "" {
		return Errorf(EINVALID, "%s is required", what)
	}
	if len(s) > maxNameLen {
		return Errorf(EINVALID, "%s %q is longer than %d characters", what, s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return Errorf(EINVALID, "%s %q may only hold letters, digits, '-', '_' and '.', and must start with a letter or digit", what, s)
		}
	}
	return nil
}

// required returns an EINVALID error naming what when s is empty.
func required(what, s string) error {
	if s == "" {
		return Errorf(EINVALID, "%s is required", what)
	}
	return nil
}
