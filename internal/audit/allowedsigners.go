package audit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// allowedSigner is one line of an SSH allowed-signers file (ssh-keygen(1)
// ALLOWED SIGNERS), the format of git's gpg.ssh.allowedSignersFile.
type allowedSigner struct {
	principals  string
	namespaces  []string // patterns; empty allows every namespace
	validAfter  time.Time
	validBefore time.Time
	key         ssh.PublicKey
}

// maxAllowedSignersBytes bounds the file read into memory.
const maxAllowedSignersBytes = 4 << 20

// parseAllowedSigners reads an allowed-signers file; name is for errors.
// Lines with the cert-authority option are refused with an error: the
// audit verifies plain keys only, and silently dropping a CA line would
// turn every commit its certificates signed into a finding nobody can
// explain.
func parseAllowedSigners(name string, r io.Reader) ([]allowedSigner, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAllowedSignersBytes+1))
	if err != nil {
		return nil, fmt.Errorf("allowed signers %s: %w", name, err)
	}
	if len(data) > maxAllowedSignersBytes {
		return nil, fmt.Errorf("allowed signers %s: larger than %d bytes", name, maxAllowedSignersBytes)
	}
	var out []allowedSigner
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxAllowedSignersBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseAllowedSigner(line)
		if err != nil {
			return nil, fmt.Errorf("allowed signers %s line %d: %w", name, n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("allowed signers %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("allowed signers %s: no keys", name)
	}
	return out, nil
}

func parseAllowedSigner(line string) (allowedSigner, error) {
	fields := splitQuoted(line)
	if len(fields) < 3 {
		return allowedSigner{}, fmt.Errorf("want PRINCIPALS [OPTIONS] KEYTYPE BASE64KEY")
	}
	s := allowedSigner{principals: fields[0]}
	rest := fields[1:]
	if !isKeyType(rest[0]) {
		if err := s.parseOptions(rest[0]); err != nil {
			return allowedSigner{}, err
		}
		rest = rest[1:]
	}
	if len(rest) < 2 {
		return allowedSigner{}, fmt.Errorf("want KEYTYPE BASE64KEY after the principals and options")
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest[0] + " " + rest[1]))
	if err != nil {
		return allowedSigner{}, fmt.Errorf("key: %w", err)
	}
	s.key = key
	return s, nil
}

func isKeyType(s string) bool {
	return strings.HasPrefix(s, "ssh-") || strings.HasPrefix(s, "ecdsa-") || strings.HasPrefix(s, "sk-")
}

func (s *allowedSigner) parseOptions(opts string) error {
	for _, opt := range splitOptions(opts) {
		name, value, _ := strings.Cut(opt, "=")
		value = strings.Trim(value, `"`)
		var err error
		switch strings.ToLower(name) {
		case "namespaces":
			s.namespaces = strings.Split(value, ",")
		case "valid-after":
			s.validAfter, err = parseSignerTime(value)
		case "valid-before":
			s.validBefore, err = parseSignerTime(value)
		case "cert-authority":
			return fmt.Errorf("cert-authority lines are not supported by imagegate audit; list the signing keys themselves")
		default:
			return fmt.Errorf("unknown option %q", name)
		}
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	return nil
}

// parseSignerTime reads YYYYMMDD[HHMM[SS]][Z]: UTC with Z, else local
// time as ssh-keygen does.
func parseSignerTime(v string) (time.Time, error) {
	loc := time.Local
	if s, ok := strings.CutSuffix(v, "Z"); ok {
		v, loc = s, time.UTC
	}
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			return time.ParseInLocation(layout, v, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not YYYYMMDD[HHMM[SS]][Z]", v)
}

// allows reports whether the line accepts key for namespace at time t.
func (s allowedSigner) allows(key ssh.PublicKey, namespace string, t time.Time) bool {
	if !bytes.Equal(s.key.Marshal(), key.Marshal()) {
		return false
	}
	if !s.validAfter.IsZero() && t.Before(s.validAfter) {
		return false
	}
	if !s.validBefore.IsZero() && !t.Before(s.validBefore) {
		return false
	}
	if len(s.namespaces) == 0 {
		return true
	}
	for _, pattern := range s.namespaces {
		if ok, _ := path.Match(pattern, namespace); ok {
			return true
		}
	}
	return false
}

// splitQuoted splits on blanks outside double quotes.
func splitQuoted(line string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteRune(c)
		case (c == ' ' || c == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// splitOptions splits on commas outside double quotes.
func splitOptions(opts string) []string {
	var out []string
	start, quoted := 0, false
	for i, c := range opts {
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, opts[start:i])
			start = i + 1
		}
	}
	return append(out, opts[start:])
}
