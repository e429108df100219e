package verify

import (
	"context"

	"github.com/imagegate/imagegate/internal/registry"
)

// isTransient reports whether err is worth retrying (registry.IsTransient:
// timeouts, refused or reset connections, 5xx, 429), or the caller's
// context ended: a verification cut short proves nothing either way, so it
// must be Unavailable, never Denied.
func isTransient(ctx context.Context, err error) bool {
	return err != nil && (ctx.Err() != nil || registry.IsTransient(err))
}
