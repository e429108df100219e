package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestControllerRefusesNonPositiveSetterLimits: a limit of zero would skip
// every marked file; the controller refuses to start with it and says why.
func TestControllerRefusesNonPositiveSetterLimits(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--setter-max-file-bytes=0", "--setter-max-file-nodes=-1"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"controller", arg}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "setter limits must be positive") {
			t.Errorf("%s: exit %d, stderr %q; want a usage error naming the setter limits", arg, code, stderr.String())
		}
	}
}
