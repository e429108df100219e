package admission

import (
	"log/slog"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/trust"
)

// DefaultPolicyResync is how often policies are recompiled without a
// change to them: Secrets are read, not watched (the webhook has no
// business watching every Secret of the cluster), so a key rotated in a
// Secret takes effect within this period.
const DefaultPolicyResync = trust.DefaultResync

// PolicyStore is the compiled trust policies the webhook decides with:
// the store the gate shares (trust.Store), recompiled on informer events
// and every resync period, so that nothing is compiled per request.
type PolicyStore = trust.Store

// NewPolicyStore returns a store that lists policies through reader and
// reads the Secrets they name through secrets (trust.NewStore).
func NewPolicyStore(reader client.Reader, secrets policy.SecretReader, log *slog.Logger, resync time.Duration) *PolicyStore {
	return trust.NewStore(reader, secrets, log, resync)
}
