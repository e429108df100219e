package e2e

import (
	"slices"
	"strings"
	"testing"
)

// toldStory is a story as the demo tells it (digests shortened to the
// patterns' shape), for checking the checker without a control plane.
const toldStory = `1. image-reflector-controller selects 1.0.0 (signed)
   verified under ClusterTrustPolicy release-signed, signed by key-0: cosign key legacy sha256:d3bc
   ImageGate: Succeeded: 1 selections verified and in Git; pushed 51ddc7b347d0
   git now runs: 127.0.0.1:39321/shop/web:1.0.0@sha256:e7b56ecf0aff1162c5504325b3763d6ff01dcccb86d638a89bdc8dd3697cfc21

2. image-reflector-controller selects 1.1.0 (unsigned)
   ImageGate Blocked: VerificationFailed: 1 of 1 selections withheld from Git: web (127.0.0.1:39321/shop/web:1.1.0): NoSignature
   status row: verified=false reason=NoSignature; Git keeps 127.0.0.1:39321/shop/web:1.0.0@sha256:e7b5

3. the real git log of fleet/main:
   51ddc7b347d0a178edb5defd1a59f1f8ee593cc0 Update images verified by imagegate
   a22823975e57913f6c1852daaa93a442ba333cee Initial commit

   the gate's commit message, trailers included:
   | Update images verified by imagegate
   | Verified-Image: 127.0.0.1:39321/shop/web:1.0.0@sha256:e7b56ecf0aff1162c5504325b3763d6ff01dcccb86d638a89bdc8dd3697cfc21
   | Verified-Policy: release-signed (sha256:f924)
   | Verified-By: cosign key legacy sha256:d3bc (authority key-0)

4. a person pins 1.1.0 by hand in a clone of fleet, past the gate (no trailers, no signature)
   a34db5e010ba by Alice <alice@example.com>: apps/web/deployment.yaml runs 127.0.0.1:39321/shop/web:1.1.0@sha256:3b20
   $ imagegate audit --repo fleet --branch main --path apps --since a22823975e57 --keyring imagegate.asc
   COMMIT        DATE        BY                                SIGNATURE                                                                                  FILE:LINE                    IMAGE                                                                                                   FINDINGS
   51ddc7b347d0  2026-12-04  imagegate                         openpgp 18EFC25C7086836D4101427C0ECF2D621E402C7E imagegate (demo) <imagegate@example.com>  apps/web/deployment.yaml:11  127.0.0.1:39321/shop/web:1.0.0@sha256:e7b56ecf0aff1162c5504325b3763d6ff01dcccb86d638a89bdc8dd3697cfc21  -
   a34db5e010ba  2026-12-04  person:Alice <alice@example.com>  none                                                                                       apps/web/deployment.yaml:11  127.0.0.1:39321/shop/web:1.1.0@sha256:3b2079da86c9845c0d5325a85b5ad50dc5240dd6ec111eb233073e2af1bf501c  missing-trailer
   2 commits audited, 2 changed images, 2 entries, 1 finding (missing-trailer=1)
   the audit exits 1: it found the hand-made commit (expected)
`

// TestStoryLacksNamesEachMissingStep checks the check TestDemo runs on its
// own story: a full story lacks nothing, an empty one lacks every step, and
// a story without one line is reported for exactly that line.
func TestStoryLacksNamesEachMissingStep(t *testing.T) {
	if missing := storyLacks(toldStory); len(missing) != 0 {
		t.Errorf("a full story is reported lacking %q", missing)
	}
	if missing := storyLacks(""); len(missing) != len(storyLines) {
		t.Errorf("an empty story lacks %d steps, want all %d: %q", len(missing), len(storyLines), missing)
	}
	for _, cut := range []struct{ line, what string }{
		{"   | Verified-By: cosign key legacy sha256:d3bc (authority key-0)\n", "the Verified-By trailer"},
		{"   a22823975e57913f6c1852daaa93a442ba333cee Initial commit\n", "the git log with the gate's commit"},
		{"   verified under ClusterTrustPolicy release-signed, signed by key-0: cosign key legacy sha256:d3bc\n", "the verification with its signer"},
		{"   a34db5e010ba  2026-12-04  person:Alice <alice@example.com>  none                                                                                       apps/web/deployment.yaml:11  127.0.0.1:39321/shop/web:1.1.0@sha256:3b2079da86c9845c0d5325a85b5ad50dc5240dd6ec111eb233073e2af1bf501c  missing-trailer\n", "the audit's finding on the hand-made commit"},
		{"   the audit exits 1: it found the hand-made commit (expected)\n", "the audit's exit status"},
		{"   51ddc7b347d0  2026-12-04  imagegate                         openpgp 18EFC25C7086836D4101427C0ECF2D621E402C7E imagegate (demo) <imagegate@example.com>  apps/web/deployment.yaml:11  127.0.0.1:39321/shop/web:1.0.0@sha256:e7b56ecf0aff1162c5504325b3763d6ff01dcccb86d638a89bdc8dd3697cfc21  -\n", "the audit's clean gate commit"},
	} {
		told := strings.Replace(toldStory, cut.line, "", 1)
		if told == toldStory {
			t.Fatalf("the sample story has no line %q", cut.line)
		}
		if missing := storyLacks(told); !slices.Equal(missing, []string{cut.what}) {
			t.Errorf("without %q the story lacks %q, want exactly [%q]", strings.TrimSpace(cut.line), missing, cut.what)
		}
	}
}
