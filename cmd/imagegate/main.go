// Command imagegate is the GitOps pre-commit image gate for Flux: one
// binary whose subcommands run the controller, the admission webhook, a
// policy-driven verifier, and an end-to-end demo.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// exitHelp is the status of every command asked for its usage (-h,
// --help): the usage is what was asked for, so it is success.
const exitHelp = 0

// command is one subcommand: it parses its own flags from args and returns
// the process exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"version":    {"print the version", runVersion},
		"verify":     {"verify images under trust policy files or cosign's --key/--certificate-* flags", runVerify},
		"audit":      {"review the image history of a GitOps repository branch", runAudit},
		"controller": {"run the ImageGate controller (the pre-commit gate)", runController},
		"webhook":    {"run the validating admission webhook", runWebhook},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return 2
	}
	if isHelp(args[0]) || args[0] == "help" {
		// "imagegate help verify" is "imagegate verify --help".
		if len(args) > 1 && args[0] == "help" {
			if _, ok := cmds[args[1]]; ok {
				return run(ctx, []string{args[1], "--help"}, stdout, stderr)
			}
		}
		usage(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "imagegate: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	if asksForHelp(args[1:]) {
		// Help is the output asked for: it goes to stdout, so that
		// "imagegate verify --help | less" works, as with cosign, flux and
		// kubectl. The flag package writes usage to the flag set's output,
		// which each command points at its stderr.
		stderr = stdout
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

// isHelp reports whether arg is one of the spellings of the help flag the
// flag package accepts.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

// asksForHelp reports whether a help flag comes before any "--".
func asksForHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: imagegate COMMAND [FLAGS]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
}
