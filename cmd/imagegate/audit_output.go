package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/imagegate/imagegate/internal/audit"
)

// auditSchemaVersion is the version of `imagegate audit --output json`
// (docs/audit.md); it changes only when a field changes meaning or goes.
const auditSchemaVersion = 1

type jsonAudit struct {
	SchemaVersion int `json:"schemaVersion"`
	*audit.Report
}

func writeAudit(w io.Writer, format string, rep *audit.Report, fail map[audit.Kind]bool) error {
	// Every kind is present in the counts, so consumers need not default.
	for _, k := range audit.AllKinds {
		rep.Findings[k] += 0
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(jsonAudit{SchemaVersion: auditSchemaVersion, Report: rep})
	case "github":
		return writeAuditGitHub(w, rep, fail)
	}
	return writeAuditTable(w, rep)
}

// writeAuditTable prints one line per commit and image, then the files
// skipped and a summary.
func writeAuditTable(w io.Writer, rep *audit.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "COMMIT\tDATE\tBY\tSIGNATURE\tFILE:LINE\tIMAGE\tFINDINGS"
	if rep.Reverified > 0 {
		header += "\tNOW"
	}
	fmt.Fprintln(tw, header)
	for _, e := range rep.Entries {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", short(e.Commit), e.Date.Format("2006-01-02"),
			byOf(e), signatureOf(e.Signature), location(e), e.Image, findingsOf(e))
		if rep.Reverified > 0 {
			line += "\t" + nowOf(e)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "skipped %s %s: %s\n", short(s.Commit), s.File, s.Reason)
	}
	_, err := fmt.Fprintln(w, summary(rep))
	return err
}

func summary(rep *audit.Report) string {
	counts := make([]string, 0, len(audit.AllKinds))
	total := 0
	for _, k := range audit.AllKinds {
		if n := rep.Findings[k]; n > 0 {
			counts = append(counts, fmt.Sprintf("%s=%d", k, n))
			total += n
		}
	}
	s := fmt.Sprintf("%s audited, %s, %s, %s", plural(rep.Commits, "commit"), plural(rep.Changed, "changed image"),
		plural(len(rep.Entries), "entry"), plural(total, "finding"))
	if len(counts) > 0 {
		s += " (" + strings.Join(counts, " ") + ")"
	}
	if len(rep.Skipped) > 0 {
		s += fmt.Sprintf(", %d files skipped", len(rep.Skipped))
	}
	if rep.Reverified > 0 {
		s += fmt.Sprintf(", %d digests verified again (%d entries unavailable)", rep.Reverified, rep.Unavailable)
	}
	return s
}

// plural renders "1 finding", "2 findings", "1 entry", "2 entries".
func plural(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// nowOf renders an entry's reverification: "Verified", "Denied
// (Reason)", or "-" when it was not verified again (tag-only).
func nowOf(e audit.Entry) string {
	switch {
	case e.Reverify == nil:
		return "-"
	case e.Reverify.Result == "Verified":
		return e.Reverify.Result
	}
	return fmt.Sprintf("%s (%s)", e.Reverify.Result, e.Reverify.Reason)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func byOf(e audit.Entry) string {
	if e.By == audit.ByGate {
		return "imagegate"
	}
	return "person:" + e.Author
}

func signatureOf(s audit.Signature) string {
	if s.Status == audit.SignatureAllowed {
		return s.Signer
	}
	return s.Status
}

func location(e audit.Entry) string {
	if e.File == "" {
		return "(trailer)"
	}
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

func findingsOf(e audit.Entry) string {
	switch {
	case e.Settled:
		return "settled"
	case len(e.Findings) == 0:
		return "-"
	}
	s := make([]string, len(e.Findings))
	for i, k := range e.Findings {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// writeAuditGitHub prints GitHub Actions workflow commands: an error
// annotation for each entry with a --fail-on finding, a warning for other
// findings and skipped files, and a notice with the summary. Workflow
// commands annotate the pull request straight from a run step, with no
// upload step or code-scanning setup SARIF would need.
func writeAuditGitHub(w io.Writer, rep *audit.Report, fail map[audit.Kind]bool) error {
	for _, e := range rep.Entries {
		if len(e.Findings) == 0 {
			continue
		}
		level := "warning"
		for _, k := range e.Findings {
			if fail[k] {
				level = "error"
			}
		}
		props := []string{}
		if e.File != "" {
			props = append(props, "file="+ghProperty(e.File), fmt.Sprintf("line=%d", e.Line))
		}
		props = append(props, "title="+ghProperty("imagegate audit: "+findingsOf(e)))
		msg := fmt.Sprintf("commit %s by %s (%s) introduced %s; signature %s", short(e.Commit), e.Author, e.By, e.Image, e.Signature.Status)
		if e.Trailer != "" {
			msg += "; trailer names " + e.Trailer
		}
		if e.Exception != nil {
			msg += fmt.Sprintf("; exception %q expires %s", e.Exception.Reason, e.Exception.Expires.Format("2006-01-02T15:04:05Z"))
		}
		if e.Reverify != nil {
			msg += "; now " + nowOf(e)
			if e.Reverify.Message != "" {
				msg += ": " + e.Reverify.Message
			}
		}
		fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), ghData(msg))
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "::warning title=%s::%s\n", ghProperty("imagegate audit: skipped"), ghData(fmt.Sprintf("commit %s %s: %s", short(s.Commit), s.File, s.Reason)))
	}
	_, err := fmt.Fprintf(w, "::notice title=imagegate audit::%s\n", ghData(summary(rep)))
	return err
}

// ghData escapes a workflow command message as the Actions runner does.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// ghProperty escapes a workflow command property value.
func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
