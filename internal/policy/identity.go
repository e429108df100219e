package policy

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// ErrUnanchored marks an identity regular expression that does not match
// whole values.
var ErrUnanchored = errors.New("regular expression is not anchored")

// CompileAnchored compiles an identity regular expression (RE2) and refuses
// it unless every match spans the whole value: it must begin with ^ (or \A)
// and end with $ (or \z), and an alternation must be anchored in each
// branch or enclosed: ^(a|b)$, not ^a|b$.
//
// Why refuse rather than anchor silently: with Sigstore's public-good
// Fulcio anyone can get a certificate for an identity they control, and an
// unanchored "https://github.com/org/" also matches
// "https://github.com/attacker/x?https://github.com/org/". cosign matches
// unanchored; adding ^...$ behind the user's back would make the same text
// mean two things in cosign and imagegate. Refusing makes the policy say
// what it means, in both tools.
func CompileAnchored(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	// regexp.Compile parsed with syntax.Perl already; parse again for the
	// tree (Regexp keeps none). (?m) turns ^ and $ into line anchors, which
	// a newline in a value could satisfy: they do not count.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if !anchoredAt(tree, syntax.OpBeginText, first) || !anchoredAt(tree, syntax.OpEndText, last) {
		return nil, fmt.Errorf("%w: `%s` must begin with ^ and end with $ (around any alternation: ^(a|b)$), "+
			"or it also matches any value that merely contains a match, which anyone with a certificate can obtain", ErrUnanchored, expr)
	}
	return re, nil
}

func first(subs []*syntax.Regexp) *syntax.Regexp { return subs[0] }
func last(subs []*syntax.Regexp) *syntax.Regexp  { return subs[len(subs)-1] }

// anchoredAt reports whether every match of re has the anchor op at the
// end that pick chooses of each concatenation. It is conservative: a
// pattern anchored in some more unusual way is refused, and the error says
// how to write it.
func anchoredAt(re *syntax.Regexp, anchor syntax.Op, pick func([]*syntax.Regexp) *syntax.Regexp) bool {
	switch re.Op {
	case anchor:
		return true
	case syntax.OpConcat, syntax.OpCapture:
		return len(re.Sub) > 0 && anchoredAt(pick(re.Sub), anchor, pick)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !anchoredAt(sub, anchor, pick) {
				return false
			}
		}
		return len(re.Sub) > 0
	default:
		return false
	}
}

// compileExtensions copies the Fulcio extensions an identity requires into
// sigstore-go's form, which both verification paths compare with the
// certificate's (certificate.CompareExtensions: set fields must be equal).
func compileExtensions(e *igv1.CertificateExtensions) certificate.Extensions {
	if e == nil {
		return certificate.Extensions{}
	}
	return certificate.Extensions{
		GithubWorkflowTrigger:               e.GithubWorkflowTrigger,
		GithubWorkflowSHA:                   e.GithubWorkflowSHA,
		GithubWorkflowName:                  e.GithubWorkflowName,
		GithubWorkflowRepository:            e.GithubWorkflowRepository,
		GithubWorkflowRef:                   e.GithubWorkflowRef,
		BuildSignerURI:                      e.BuildSignerURI,
		BuildSignerDigest:                   e.BuildSignerDigest,
		RunnerEnvironment:                   e.RunnerEnvironment,
		SourceRepositoryURI:                 e.SourceRepositoryURI,
		SourceRepositoryDigest:              e.SourceRepositoryDigest,
		SourceRepositoryRef:                 e.SourceRepositoryRef,
		SourceRepositoryIdentifier:          e.SourceRepositoryIdentifier,
		SourceRepositoryOwnerURI:            e.SourceRepositoryOwnerURI,
		SourceRepositoryOwnerIdentifier:     e.SourceRepositoryOwnerIdentifier,
		BuildConfigURI:                      e.BuildConfigURI,
		BuildConfigDigest:                   e.BuildConfigDigest,
		BuildTrigger:                        e.BuildTrigger,
		RunInvocationURI:                    e.RunInvocationURI,
		SourceRepositoryVisibilityAtSigning: e.SourceRepositoryVisibilityAtSigning,
	}
}
