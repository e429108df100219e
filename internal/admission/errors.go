package admission

import (
	"errors"
)

// errPoliciesNotLoaded: the webhook has not compiled the policies yet
// (it reports not ready until it has).
var errPoliciesNotLoaded = errors.New("trust policies are not loaded yet (transient: retry)")
