package audit

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// commitObject is a raw commit split the way git verifies it: the
// signature header removed from the payload, the rest kept byte for byte.
type commitObject struct {
	author, committer person
	message           string
	signature         string // armored, continuation spaces removed; empty when unsigned
	payload           []byte // the object without its signature header: what was signed
}

type person struct {
	name, email string
	when        time.Time
}

func (p person) String() string { return fmt.Sprintf("%s <%s>", p.name, p.email) }

// signatureHeaders are the headers git strips before verifying: gpgsig
// signs the SHA-1 form of the commit, gpgsig-sha256 the SHA-256 form.
var signatureHeaders = []string{"gpgsig", "gpgsig-sha256"}

// parseCommit splits a commit object (`git cat-file commit`).
func parseCommit(raw []byte) (commitObject, error) {
	var c commitObject
	// Headers end at the first empty line; a signature's own empty lines
	// are written as a lone space, so they never end the headers.
	head, msg, ok := raw, []byte(nil), false
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head, msg, ok = raw[:i+1], raw[i+2:], true
	}
	c.message = string(msg)
	payload := make([]byte, 0, len(raw))
	var sig strings.Builder
	inSig := false
	for line := range bytes.Lines(head) {
		text := strings.TrimSuffix(string(line), "\n")
		if strings.HasPrefix(text, " ") {
			if inSig {
				sig.WriteString(text[1:] + "\n")
				continue
			}
			payload = append(payload, line...)
			continue
		}
		inSig = false
		key, value, _ := strings.Cut(text, " ")
		if isSignatureHeader(key) {
			if sig.Len() == 0 {
				sig.WriteString(value + "\n")
				inSig = true
			}
			continue
		}
		payload = append(payload, line...)
		var err error
		switch key {
		case "author":
			c.author, err = parsePerson(value)
		case "committer":
			c.committer, err = parsePerson(value)
		}
		if err != nil {
			return c, fmt.Errorf("commit header %q: %w", key, err)
		}
	}
	if ok {
		payload = append(payload, '\n')
		payload = append(payload, msg...)
	}
	c.payload = payload
	c.signature = sig.String()
	return c, nil
}

func isSignatureHeader(key string) bool {
	for _, h := range signatureHeaders {
		if key == h {
			return true
		}
	}
	return false
}

// parsePerson reads "Name <email> UNIXTIME +ZONE".
func parsePerson(v string) (person, error) {
	lt, gt := strings.LastIndex(v, "<"), strings.LastIndex(v, ">")
	if lt < 0 || gt < lt {
		return person{}, fmt.Errorf("no <email> in %q", v)
	}
	p := person{name: strings.TrimSpace(v[:lt]), email: v[lt+1 : gt]}
	f := strings.Fields(v[gt+1:])
	if len(f) >= 1 {
		sec, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return person{}, fmt.Errorf("time %q: %w", f[0], err)
		}
		p.when = time.Unix(sec, 0).UTC()
	}
	return p, nil
}
