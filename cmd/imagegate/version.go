package main

import (
	"context"
	"fmt"
	"io"

	"github.com/imagegate/imagegate/internal/version"
)

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "imagegate %s\n", version.String())
	return 0
}
