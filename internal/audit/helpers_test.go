package audit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

// now is the audit's clock in tests: after LocalRepoEpoch, between the
// expired and the current exceptions.
var now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// digest returns a distinct sha256 digest per seed.
func digest(seed byte) string {
	return "sha256:" + strings.Repeat(fmt.Sprintf("%02x", seed), 32)
}

// manifest is a Deployment-like file whose image is setter-marked.
func manifest(policy, ref string) string {
	return fmt.Sprintf("kind: Deployment\nspec:\n  replicas: 1\n  image: %s # {\"$imagepolicy\": %q}\n", ref, policy)
}

// gateMessage is a commit message in the gate's format: a subject, then
// one trailer block per image (internal/gate/message.go).
func gateMessage(images ...string) string {
	var b strings.Builder
	b.WriteString("Update images verified by imagegate\n\n")
	for _, img := range images {
		fmt.Fprintf(&b, "Verified-Image: %s\nVerified-Policy: release-signed (sha256:5be0)\nVerified-By: cosign key bundle sha256:e3b0 (authority release-key)\n", img)
	}
	return b.String()
}

// allowedSigners writes an allowed-signers file trusting key for git.
func allowedSigners(t *testing.T, key *testenv.SSHSigningKey) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "allowed_signers")
	line := `imagegate@example.test namespaces="git" ` + key.Authorized + "\n"
	if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// row is the part of an entry the tests assert.
type row struct {
	commit, by, sig, at, image, findings string
}

func rowsOf(rep *audit.Report) []row {
	out := make([]row, 0, len(rep.Entries))
	for _, e := range rep.Entries {
		fs := make([]string, len(e.Findings))
		for i, k := range e.Findings {
			fs[i] = string(k)
		}
		f := strings.Join(fs, ",")
		if e.Settled {
			f = "settled"
		}
		out = append(out, row{e.Commit, e.By, e.Signature.Status, fmt.Sprintf("%s:%d", e.File, e.Line), e.Image, f})
	}
	return out
}

func runAudit(t *testing.T, o audit.Options) *audit.Report {
	t.Helper()
	if o.Now.IsZero() {
		o.Now = now
	}
	rep, err := audit.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("audit.Run: %v", err)
	}
	return rep
}
