package gate

import (
	"fmt"
	"sort"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/types"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/setters"
	"github.com/imagegate/imagegate/internal/verify"
)

// defaultMessageTemplate lists the changed images, as Flux's default does.
const defaultMessageTemplate = `Update images verified by imagegate
{{ range .Changed.Changes }}
- {{ .OldValue }} -> {{ .NewValue }}{{ end }}
`

// commitMessage renders the template and appends the trailers of each
// image written: one paragraph, so `git interpret-trailers` reads them all,
// grouped per image, each group starting with Verified-Image. updatePath
// is the cleaned spec.update.path the setters ran on.
func commitMessage(g *igv1.ImageGate, res setters.Result, updatePath string, byPolicy map[setters.Policy]*selection) (string, error) {
	msg, err := renderTemplate(g, resultOf(res, updatePath))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(msg, "\n") + "\n\n" + trailers(res, byPolicy), nil
}

// renderTemplate executes the gate's template, or the default, on
// changed, as image-automation-controller does, within maxMessageBytes.
func renderTemplate(g *igv1.ImageGate, changed Result) (string, error) {
	tmpl := defaultMessageTemplate
	if c := g.Spec.GitSpec; c != nil && c.Commit.MessageTemplate != "" {
		tmpl = c.Commit.MessageTemplate
	}
	t, err := template.New("commit").Funcs(templateFuncs).Parse(tmpl)
	if err != nil {
		return "", stalled(igv1.ReasonInvalidSource, "spec.git.commit.messageTemplate: %v", err)
	}
	data := TemplateData{
		AutomationObject: types.NamespacedName{Namespace: g.Namespace, Name: g.Name},
		Changed:          changed,
	}
	if c := g.Spec.GitSpec; c != nil {
		data.Values = c.Commit.MessageTemplateValues
	}
	b := cappedBuffer{max: maxMessageBytes}
	if err := t.Execute(&b, data); err != nil {
		return "", stalled(igv1.ReasonInvalidSource, "spec.git.commit.messageTemplate: %v", templateHint(err))
	}
	return b.String(), nil
}

// trailers renders the trailer lines of the images a commit changed: one
// block per image, naming it in canonical form, then each trust policy
// that judged it (the cluster floor first) with what it verified.
func trailers(res setters.Result, byPolicy map[setters.Policy]*selection) string {
	var b strings.Builder
	for _, key := range changedPolicies(res) {
		s := byPolicy[key]
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "Verified-Image: %s\n", s.canonicalRef())
		for _, d := range s.decisions {
			policyTrailers(&b, d)
		}
	}
	return b.String()
}

func policyTrailers(b *strings.Builder, d cache.Decision) {
	if d.Policy != nil {
		fmt.Fprintf(b, "Verified-Policy: %s (%s)\n", d.Policy.Ref, d.Policy.Hash)
	}
	if d.Exception != nil {
		fmt.Fprintf(b, "Verified: false (exception: %s; expires %s)\n", d.Exception.Reason, d.Exception.Expires.UTC().Format("2006-01-02T15:04:05Z"))
		return
	}
	logIndex := int64(-1)
	for _, sg := range d.Outcome.Signers {
		fmt.Fprintf(b, "Verified-By: %s (authority %s)\n", verifiedBy(sg), sg.Authority)
		if sg.RekorLogIndex >= 0 && logIndex < 0 {
			logIndex = sg.RekorLogIndex
		}
	}
	if logIndex >= 0 {
		fmt.Fprintf(b, "Rekor-Log-Index: %d\n", logIndex)
	}
}

// verifiedBy renders a signer as "cosign key bundle sha256:...",
// "cosign keyless legacy ISSUER SUBJECT" or "static".
func verifiedBy(sg verify.Signer) string {
	if sg.Format == verify.FormatStatic {
		return "static"
	}
	if rest, ok := strings.CutPrefix(sg.Identity, "key "); ok {
		return fmt.Sprintf("cosign key %s %s", sg.Format, rest)
	}
	return fmt.Sprintf("cosign keyless %s %s", sg.Format, sg.Identity)
}

// changedPolicies returns the policies with at least one change, sorted.
func changedPolicies(res setters.Result) []setters.Policy {
	seen := map[setters.Policy]bool{}
	var out []setters.Policy
	for _, ch := range res.Changes {
		if !seen[ch.Policy] {
			seen[ch.Policy] = true
			out = append(out, ch.Policy)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// changedImages is a short list for events.
func changedImages(res setters.Result, byPolicy map[setters.Policy]*selection) string {
	var parts []string
	for _, key := range changedPolicies(res) {
		if s := byPolicy[key]; s != nil {
			parts = append(parts, s.image().Ref())
		}
	}
	return strings.Join(parts, ", ")
}
