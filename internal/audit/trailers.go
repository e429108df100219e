package audit

import (
	"strings"
	"time"

	"github.com/imagegate/imagegate/internal/policy"
)

// Trailer keys the gate writes (docs/spec/imagegate.md, internal/gate).
const (
	trailerImage    = "Verified-Image"
	trailerPolicy   = "Verified-Policy"
	trailerVerified = "Verified"
)

// block is one image's trailers: a Verified-Image line and what follows
// it up to the next Verified-Image.
type block struct {
	raw       string // the Verified-Image value as written
	image     policy.Image
	parsed    bool // raw parsed as an image reference
	policies  []string
	exception *Exception
}

// Exception is a `Verified: false (exception: REASON; expires TIME)` line.
type Exception struct {
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires"`
}

// trailerBlocks returns the image blocks of a commit message, read as
// `git interpret-trailers --parse` reads trailers: only the last
// paragraph, and only when every line of it is a "Key: value" trailer or
// the continuation of one. A last paragraph with any other line holds no
// trailers, so prose that merely mentions Verified-Image counts for
// nothing.
func trailerBlocks(message string) []block {
	lines := lastParagraph(message)
	var blocks []block
	for _, kv := range lines {
		key, value, ok := splitTrailer(kv)
		if !ok {
			return nil
		}
		switch {
		case key == trailerImage:
			b := block{raw: value}
			if img, err := policy.ParseImage(value); err == nil {
				b.image, b.parsed = img, true
			}
			blocks = append(blocks, b)
		case len(blocks) == 0:
			// Trailers before the first image belong to no block.
		case key == trailerPolicy:
			blocks[len(blocks)-1].policies = append(blocks[len(blocks)-1].policies, value)
		case key == trailerVerified:
			if e, ok := parseException(value); ok {
				blocks[len(blocks)-1].exception = &e
			}
		}
	}
	return blocks
}

// lastParagraph returns the trailer lines of the last paragraph, with
// continuation lines (leading whitespace) folded into the line before.
func lastParagraph(message string) []string {
	text := strings.TrimRight(strings.ReplaceAll(message, "\r\n", "\n"), " \t\n")
	if i := strings.LastIndex(text, "\n\n"); i >= 0 {
		text = text[i+2:]
	}
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if len(out) == 0 {
				return nil
			}
			out[len(out)-1] += " " + strings.TrimSpace(line)
			continue
		}
		out = append(out, line)
	}
	return out
}

// splitTrailer splits "Key: value"; a key is letters, digits and '-'.
func splitTrailer(line string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(line, ":")
	if !ok || key == "" {
		return "", "", false
	}
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return "", "", false
		}
	}
	return key, strings.TrimSpace(value), true
}

// parseException reads "false (exception: REASON; expires TIME)". The
// reason may itself hold "; expires", so the last one splits.
func parseException(v string) (Exception, bool) {
	rest, ok := strings.CutPrefix(v, "false (exception: ")
	if !ok || !strings.HasSuffix(rest, ")") {
		return Exception{}, false
	}
	rest = strings.TrimSuffix(rest, ")")
	i := strings.LastIndex(rest, "; expires ")
	if i < 0 {
		return Exception{}, false
	}
	t, err := time.Parse(time.RFC3339, rest[i+len("; expires "):])
	if err != nil {
		return Exception{}, false
	}
	return Exception{Reason: rest[:i], Expires: t.UTC()}, true
}
