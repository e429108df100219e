package admission

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/imagegate/imagegate/internal/verify"
)

// imageResult is the verdict about one image of a request.
type imageResult struct {
	ref imageRef
	v   verdict
}

// outcome is the decision about a whole request.
type outcome struct {
	allowed  bool
	path     Path          // set when no image was judged (writers, kinds, operations)
	reason   verify.Reason // likewise
	message  string
	warnings []string
	images   []imageResult
}

// decide judges a decoded review. Each image goes through the chain; the
// request is admitted when every image is.
func (h *Handler) decide(ctx context.Context, rv *review) outcome {
	if rv.Kind.Group == kindImageVerification.Group && rv.Kind.Kind == kindImageVerification.Kind {
		return h.judgeWriter(rv)
	}
	info, ok := workloadKind(rv.Kind)
	switch {
	case !ok:
		return refused(verify.ReasonUnsupportedKind, fmt.Sprintf(
			"imagegate does not validate %s (resource %q); remove it from the rules of the ValidatingWebhookConfiguration", rv.Kind, rv.Resource))
	case h.opts.PodsOnly && (rv.Kind.Group != kindPod.Group || rv.Kind.Kind != kindPod.Kind):
		return outcome{allowed: true, path: PathExempt, reason: verify.ReasonExempt, message: "only Pods are checked (--pods-only)"}
	case rv.Operation == opDelete || rv.Operation == opConnect:
		return outcome{allowed: true, path: PathExempt, reason: verify.ReasonNotChecked, message: rv.Operation + " carries no new image"}
	case !rv.Object.Present:
		return refused(verify.ReasonMalformedObject, fmt.Sprintf("%s of %s %q has no request.object", rv.Operation, rv.Kind, rv.displayName()))
	}
	var buf [8]imageRef
	refs := rv.Object.spec(info.place).images(buf[:0])
	// Exempt namespaces are admitted unchecked whatever they name: the cap
	// bounds the work of checking, which they never cost.
	if out, over := overImageCap(rv, refs, h.opts.MaxImagesPerObject); over && !h.deps.exemptNamespaces[rv.Namespace] {
		return out
	}
	r := &request{review: rv, info: info, set: h.deps.policiesNow(), parser: &h.deps.parsed}
	if rv.OldObject.Present {
		r.oldImages = oldImagesWithinCap(rv.OldObject.spec(info.place).images(nil), h.opts.MaxImagesPerObject)
	}
	return aggregate(h.judgeImages(ctx, r, refs))
}

func refused(reason verify.Reason, msg string) outcome {
	return outcome{path: PathDenied, reason: reason, message: fmt.Sprintf("[%s] %s", reason, msg)}
}

func aggregate(results []imageResult) outcome {
	out := outcome{allowed: true, images: results}
	var denied []string
	for _, res := range results {
		switch {
		case !res.v.Allowed:
			out.allowed = false
			denied = append(denied, denial(res.ref, res.v))
		case res.v.Warn:
			out.warnings = append(out.warnings, warning(res.ref, res.v))
		case res.v.Warning != "":
			out.warnings = append(out.warnings, truncate(res.v.Warning, maxWarning))
		}
	}
	if !out.allowed {
		out.message = strings.Join(capList(denied, "images denied"), "\n")
	}
	out.warnings = capList(out.warnings, "images admitted with warnings")
	return out
}

// maxListed bounds how many images a denial message or the warnings name:
// the API server hands both to the user and keeps them in events, and a
// Pod may hold thousands of containers. The audit line lists every image.
const maxListed = 10

// capList keeps the first maxListed entries and says how many were left
// out.
func capList(entries []string, what string) []string {
	if len(entries) <= maxListed {
		return entries
	}
	return append(entries[:maxListed:maxListed], fmt.Sprintf("... and %d more %s (every image is in the audit log)", len(entries)-maxListed, what))
}

// judgeWriter admits writes of ImageVerification by the trusted writers
// only: a record approves a digest for every replica, so anyone who could
// write one could forge an approval.
func (h *Handler) judgeWriter(rv *review) outcome {
	if h.trusted[rv.Username] {
		return outcome{allowed: true, path: PathWriter, reason: verify.ReasonTrustedWriter, message: "written by a trusted writer"}
	}
	writers := make([]string, 0, len(h.trusted))
	for w := range h.trusted {
		writers = append(writers, w)
	}
	sort.Strings(writers)
	return outcome{path: PathWriter, reason: verify.ReasonUntrustedWriter, message: fmt.Sprintf(
		"[%s] %s of ImageVerification %q by %q is denied: only imagegate's trusted writers (%s) write ImageVerifications, so that nobody can forge an approval; to admit an image, have imagegate verify it or add a policy exception",
		verify.ReasonUntrustedWriter, rv.Operation, rv.displayName(), rv.Username, strings.Join(writers, ", "))}
}
