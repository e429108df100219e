package audit

import (
	"fmt"
	"strings"
	"time"
)

// Kind is a finding's name, as --fail-on and the JSON output spell it.
type Kind string

// Findings the audit reports.
const (
	// UnsignedCommit: the commit carries Verified-Image trailers but no
	// signature by an allowed key, so it only claims to be the gate's.
	UnsignedCommit Kind = "unsigned-commit"
	// MissingTrailer: a reference the commit introduced is named by no
	// Verified-Image trailer (every person's commit that pins an image).
	MissingTrailer Kind = "missing-trailer"
	// TrailerMismatch: a Verified-Image trailer names the repository with
	// another digest, or names an image the commit did not introduce.
	TrailerMismatch Kind = "trailer-mismatch"
	// TagOnly: the reference has no digest.
	TagOnly Kind = "tag-only"
	// ExceptionUsed: the gate wrote the reference under a policy exception.
	ExceptionUsed Kind = "exception"
	// ExpiredException: as ExceptionUsed, and the exception has expired since.
	ExpiredException Kind = "expired-exception"
	// NoLongerVerifies: with --reverify, the digest is denied under
	// today's policies.
	NoLongerVerifies Kind = "no-longer-verifies"
)

// AllKinds lists every finding, in the order reports sort them.
var AllKinds = []Kind{UnsignedCommit, MissingTrailer, TrailerMismatch, TagOnly, ExceptionUsed, ExpiredException, NoLongerVerifies}

// ParseKinds reads a comma-separated --fail-on list; "all" is every kind.
func ParseKinds(list string) (map[Kind]bool, error) {
	out := map[Kind]bool{}
	for s := range strings.SplitSeq(list, ",") {
		s = strings.TrimSpace(s)
		if s == "all" {
			for _, k := range AllKinds {
				out[k] = true
			}
			continue
		}
		ok := false
		for _, k := range AllKinds {
			if Kind(s) == k {
				out[k], ok = true, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown finding %q (want all or a list of %s)", s, joinKinds(AllKinds))
		}
	}
	return out, nil
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Author kinds of a commit.
const (
	ByGate   = "imagegate" // Verified-Image trailers and an allowed signature
	ByPerson = "person"    // anything else
)

// Entry is one image a commit introduced (or a trailer naming one it did
// not): one line of the table.
type Entry struct {
	Commit    string    `json:"commit"`
	Author    string    `json:"author"`
	Committer string    `json:"committer"`
	Date      time.Time `json:"date"`
	By        string    `json:"by"`
	Signature Signature `json:"signature"`
	// File and Line locate the reference; empty and 0 for an extra trailer.
	File  string `json:"file"`
	Line  int    `json:"line"`
	Image string `json:"image"`
	// Trailer is the Verified-Image value that matched or was compared.
	Trailer   string     `json:"trailer,omitempty"`
	Policies  []string   `json:"policies"`
	Exception *Exception `json:"exception,omitempty"`
	// Settled: the reference had findings here, but an earlier commit of
	// the walk introduced it cleanly (a revert or merge of gate work).
	Settled  bool   `json:"settled"`
	Findings []Kind `json:"findings"`
	// Reverify is today's verification of the digest (--reverify only).
	Reverify *Reverification `json:"reverify,omitempty"`
}

// Reverification is the outcome of verifying an entry's digest again,
// in the terms of `imagegate verify --output json`.
type Reverification struct {
	Result  string `json:"result"` // Verified, Denied, Exception or Unavailable
	Reason  string `json:"reason"`
	Policy  string `json:"policy,omitempty"`
	Message string `json:"message,omitempty"`
}

// AddReverification records r on entry i, and a NoLongerVerifies finding
// when it is a denial. It returns whether the result was Unavailable.
func (r *Report) AddReverification(i int, rv Reverification) bool {
	e := &r.Entries[i]
	e.Reverify = &rv
	switch rv.Result {
	case "Denied":
		e.Findings = append(e.Findings, NoLongerVerifies)
		e.Settled = false
		r.Findings[NoLongerVerifies]++
	case "Unavailable":
		r.Unavailable++
		return true
	}
	return false
}

// Skipped is a changed file under the path the audit could not read.
type Skipped struct {
	Commit string `json:"commit"`
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Report is the outcome of one audit.
type Report struct {
	Branch string `json:"branch"`
	Head   string `json:"head"`
	Path   string `json:"path"`
	// Since is the commit whose history seeded the walk, "" without --since.
	Since string `json:"since"`
	// Commits counts the first-parent commits judged (after Since);
	// Changed those among them that changed an image reference.
	Commits  int          `json:"commits"`
	Changed  int          `json:"changedCommits"`
	Entries  []Entry      `json:"entries"`
	Skipped  []Skipped    `json:"skipped"`
	Findings map[Kind]int `json:"findings"`
	// Reverified counts the distinct digests verified again and
	// Unavailable the entries whose registry could not be reached
	// (--reverify only).
	Reverified  int `json:"reverified"`
	Unavailable int `json:"unavailable"`
}
