package gate

import (
	"errors"
	"fmt"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// errStalled matches errors that only a change to the configuration fixes:
// the gate marks itself Stalled and waits for that change.
var errStalled = errors.New("stalled")

// reasonError carries a condition reason with an error.
type reasonError struct {
	reason string
	stall  bool
	err    error
}

func (e *reasonError) Error() string        { return e.err.Error() }
func (e *reasonError) Unwrap() error        { return e.err }
func (e *reasonError) Is(target error) bool { return e.stall && target == errStalled }

func stalled(reason, format string, args ...any) error {
	return &reasonError{reason: reason, stall: true, err: fmt.Errorf(format, args...)}
}

func failed(reason string, err error) error {
	return &reasonError{reason: reason, err: err}
}

func reasonOf(err error) string {
	var re *reasonError
	if errors.As(err, &re) {
		return re.reason
	}
	return igv1.ReasonGitOperationFailed
}
