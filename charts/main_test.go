package charts_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// chartDir is the chart, relative to this package's directory (go test's
// working directory).
const chartDir = "imagegate"

var cp *testenv.ControlPlane

// TestMain shares one control plane that also knows the cert-manager and
// prometheus-operator kinds the chart renders.
func TestMain(m *testing.M) { testenv.RunMain(m, &cp, testenv.WithThirdPartyCRDs) }
