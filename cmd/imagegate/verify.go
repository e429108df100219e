package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// Exit statuses of `imagegate verify`; a contract for scripts.
const (
	exitVerified    = 0 // every image verified or excepted
	exitDenied      = 1 // at least one image denied
	exitUsage       = 2 // usage or policy error; nothing verified
	exitUnavailable = 3 // no denial, but a registry was unavailable
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type verifyFlags struct {
	policies      stringList
	output        string
	allowInsecure bool
	images        []string
	identity      identityFlags // cosign's flags, instead of --policy
}

func parseVerifyFlags(args []string, stderr io.Writer) (verifyFlags, error) {
	var f verifyFlags
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.policies, "policy", "file of TrustPolicy/ClusterTrustPolicy YAML documents (repeatable)")
	fs.StringVar(&f.output, "output", "text", "output format: text or json")
	fs.BoolVar(&f.allowInsecure, "allow-insecure-registry", false, "allow plain HTTP registries (cosign's --allow-http-registry; TLS is always verified)")
	fs.BoolVar(&f.allowInsecure, "allow-http-registry", false, "the same as --allow-insecure-registry, as cosign spells it")
	f.identity.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: imagegate verify --policy FILE [--policy FILE]... [FLAGS] IMAGE...
       imagegate verify --key FILE [FLAGS] IMAGE...
       imagegate verify --certificate-identity[-regexp] ID --certificate-oidc-issuer[-regexp] ISSUER --trusted-root FILE [FLAGS] IMAGE...

Verifies each IMAGE under the policy files, or, without --policy, under one
policy made of cosign's flags. Exit status: 0 verified, 1 denied, 2 usage or
policy error, 3 a registry was unavailable.

flags:
`)
		fs.PrintDefaults()
	}
	// Flags may come before or after the images.
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return f, err
		}
		args = fs.Args()
		if len(args) > 0 {
			f.images = append(f.images, args[0])
			args = args[1:]
		}
	}
	switch {
	case len(f.policies) > 0 && f.identity.set():
		return f, errors.New("--policy and the --key/--certificate-* flags are alternatives: give one or the other")
	case len(f.policies) == 0 && !f.identity.set():
		return f, errors.New("at least one --policy FILE, or --key, or the --certificate-* flags with --trusted-root, is required")
	case len(f.images) == 0:
		return f, errors.New("at least one IMAGE is required")
	case f.output != "text" && f.output != "json":
		return f, fmt.Errorf("--output %q: want text or json", f.output)
	}
	if f.identity.set() {
		if err := f.identity.validate(); err != nil {
			return f, err
		}
	}
	for _, image := range f.images {
		if _, err := policy.ParseImage(image); err != nil {
			return f, fmt.Errorf("%w; give a reference such as registry.example/app:v1 or registry.example/app@sha256:<hex>", err)
		}
	}
	return f, nil
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseVerifyFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHelp
		}
		fmt.Fprintf(stderr, "imagegate verify: %v\n", err)
		return exitUsage
	}
	var set *policy.Set
	if f.identity.set() {
		set, err = f.identity.policy(ctx)
	} else {
		set, err = loadPolicies(ctx, f.policies)
	}
	if err != nil {
		fmt.Fprintf(stderr, "imagegate verify: %v\n", err)
		return exitUsage
	}
	reg := registry.New(registry.Options{Keychain: authn.DefaultKeychain, AllowInsecure: f.allowInsecure})
	checker := cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
	decisions := make([]cache.Decision, 0, len(f.images))
	for _, image := range f.images {
		decisions = append(decisions, checkImage(ctx, checker, set, image))
	}
	if err := writeDecisions(stdout, f.output, decisions); err != nil {
		fmt.Fprintf(stderr, "imagegate verify: %v\n", err)
		return exitUsage
	}
	return exitStatus(decisions)
}

func loadPolicies(ctx context.Context, files []string) (*policy.Set, error) {
	var all []*policy.Policy
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		ps, err := policy.Decode(ctx, file, fh)
		_ = fh.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, ps...)
	}
	return policy.NewSet(all), nil
}

// checkImage matches the image to the policies that judge it (the
// cluster floor and a namespaced policy, as policy.Set.MatchAny; the tag
// of repo:tag@digest counts only when the registry shows it names the
// digest), checks it under each and reports the strictest decision. A tie between
// policies is reported as a denial naming both.
func checkImage(ctx context.Context, checker *cache.Checker, set *policy.Set, image string) cache.Decision {
	img, err := policy.ParseImage(image)
	if err != nil {
		return checker.Check(ctx, image, nil)
	}
	// A digest outranks a tag the registry does not show to name it.
	img, ps, err := policy.MatchPinned(img, set.MatchAny, func(proven policy.Image, _ []*policy.Policy) bool {
		return checker.TagNamesDigest(ctx, proven)
	})
	switch {
	case errors.Is(err, policy.ErrAmbiguous):
		return cache.Decision{Image: image, Parsed: img, Outcome: verify.Outcome{
			Result: verify.ResultDenied, Reason: verify.ReasonNoPolicy, Message: err.Error()}}
	case err != nil:
		return checker.CheckImage(ctx, image, img, nil)
	}
	ds := make([]cache.Decision, 0, len(ps))
	for _, p := range ps {
		ds = append(ds, checker.CheckImage(ctx, image, img, p))
	}
	return cache.Strictest(ds)
}

func exitStatus(ds []cache.Decision) int {
	code := exitVerified
	for _, d := range ds {
		switch d.Outcome.Result {
		case verify.ResultDenied:
			return exitDenied
		case verify.ResultUnavailable:
			code = exitUnavailable
		}
	}
	return code
}
