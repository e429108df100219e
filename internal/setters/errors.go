package setters

import "errors"

// Sentinel errors of Apply, matched with errors.Is. Both are configuration
// errors of the caller: retrying with the same arguments fails again.
var (
	// ErrInvalidImage reports an Image whose name, tag or digest is not a
	// valid image reference part; nothing was written.
	ErrInvalidImage = errors.New("invalid image")
	// ErrInvalidPath reports a root or update path that does not exist, is
	// absolute, or leaves the root; nothing was written.
	ErrInvalidPath = errors.New("invalid update path")
)
