package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/verify"
)

// jsonDecision is one element of `imagegate verify --output json`; its
// fields are a contract.
type jsonDecision struct {
	Image       string       `json:"image"`
	Digest      string       `json:"digest"`
	Policy      *string      `json:"policy"`
	Verified    bool         `json:"verified"`
	Result      string       `json:"result"`
	Reason      string       `json:"reason"`
	Authorities []string     `json:"authorities"`
	Signers     []jsonSigner `json:"signers"`
	// Message is the text output's explanation: why an image was denied,
	// excepted or unavailable; empty when it verified.
	Message string `json:"message"`
}

type jsonSigner struct {
	Authority     string `json:"authority"`
	Format        string `json:"format"`
	Identity      string `json:"identity"`
	RekorLogIndex *int64 `json:"rekorLogIndex,omitempty"`
}

func toJSON(d cache.Decision) jsonDecision {
	j := jsonDecision{
		Image: d.Image, Digest: d.Digest, Verified: d.Outcome.Result == verify.ResultVerified,
		Result: string(d.Outcome.Result), Reason: string(d.Outcome.Reason),
		Authorities: []string{}, Signers: []jsonSigner{},
	}
	if d.Outcome.Result != verify.ResultVerified {
		j.Message = d.Outcome.Message
	}
	if d.Policy != nil {
		s := d.Policy.Ref.String()
		j.Policy = &s
	}
	for _, a := range d.Outcome.Authorities {
		if a.Verified {
			j.Authorities = append(j.Authorities, a.Name)
		}
	}
	for _, s := range d.Outcome.Signers {
		js := jsonSigner{Authority: s.Authority, Format: string(s.Format), Identity: s.Identity}
		if s.RekorLogIndex >= 0 {
			idx := s.RekorLogIndex
			js.RekorLogIndex = &idx
		}
		j.Signers = append(j.Signers, js)
	}
	return j
}

func writeDecisions(w io.Writer, format string, ds []cache.Decision) error {
	if format == "json" {
		out := make([]jsonDecision, 0, len(ds))
		for _, d := range ds {
			out = append(out, toJSON(d))
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, d := range ds {
		if _, err := fmt.Fprintln(w, textLine(d)); err != nil {
			return err
		}
	}
	return nil
}

// textLine renders one decision as a terminal line:
// VERDICT IMAGE digest=... policy=... reason=... signers=... [message].
func textLine(d cache.Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %s", strings.ToUpper(string(d.Outcome.Result)), d.Image)
	if d.Digest != "" {
		fmt.Fprintf(&b, " digest=%s", d.Digest)
	}
	if d.Policy != nil {
		fmt.Fprintf(&b, " policy=%s", d.Policy.Ref)
	}
	fmt.Fprintf(&b, " reason=%s", d.Outcome.Reason)
	if len(d.Outcome.Signers) > 0 {
		parts := make([]string, 0, len(d.Outcome.Signers))
		for _, s := range d.Outcome.Signers {
			parts = append(parts, fmt.Sprintf("%s(%s %s)", s.Authority, s.Format, s.Identity))
		}
		fmt.Fprintf(&b, " signers=%s", strings.Join(parts, ","))
	}
	if d.Outcome.Result != verify.ResultVerified && d.Outcome.Message != "" {
		fmt.Fprintf(&b, ": %s", d.Outcome.Message)
	}
	return b.String()
}
