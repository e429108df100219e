package secrets

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// LimitManager configures a manager so that it never lists, watches or
// caches Secrets: every read of a Secret through the manager's client is
// a GET by name to the API server, so the process needs only get on
// Secrets and holds no key material beyond the one it is reading. With
// watch non-nil the cache lists and watches the Secrets watch matches
// (and only those), for controllers that react to their changes; that
// needs list and watch on Secrets, which RBAC cannot narrow by label.
func LimitManager(opts *ctrl.Options, watch labels.Selector) {
	if opts.Client.Cache == nil {
		opts.Client.Cache = &client.CacheOptions{}
	}
	opts.Client.Cache.DisableFor = append(opts.Client.Cache.DisableFor, &corev1.Secret{})
	if watch == nil {
		return
	}
	if opts.Cache.ByObject == nil {
		opts.Cache.ByObject = map[client.Object]ctrlcache.ByObject{}
	}
	opts.Cache.ByObject[&corev1.Secret{}] = ctrlcache.ByObject{Label: watch}
}

// ParseWatchSelector parses a label selector of the Secrets to watch, as
// Flux's --watch-configs-label-selector (Flux labels them
// reconcile.fluxcd.io/watch: Enabled); "" watches none and returns nil.
func ParseWatchSelector(s string) (labels.Selector, error) {
	if s == "" {
		return nil, nil // no selector: watch no Secret
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w (for Flux's convention use %s)", s, err, WatchLabel)
	}
	if sel.Empty() {
		return nil, fmt.Errorf("label selector %q selects every Secret; name a label, e.g. %s", s, WatchLabel)
	}
	return sel, nil
}

// WatchLabel is Flux's label for a Secret or ConfigMap whose changes
// should trigger an immediate reconcile of the objects that read it.
const WatchLabel = meta.LabelKeyWatch + "=" + meta.LabelValueWatchEnabled
