// Package audit reviews the image history of a GitOps repository: for
// every commit on a branch's first-parent line that changes an image
// reference in a setter-marked field, it tells whether the change came
// from the gate (trailers and an allowed signature), whether the trailers
// match what the commit wrote, and flags tag-only references and policy
// exceptions.
//
// It owns reading history through the git CLI (git rev-list and
// git diff-tree for the first-parent diffs, git cat-file --batch for
// commits and blobs) or, without it, go-git with a tree diff that skips
// unchanged subtrees by hash; parsing the gate's trailers, verifying commit
// signatures (SSHSIG against an allowed-signers file, OpenPGP against a
// keyring) and judging each commit. It reads references with
// internal/setters (the markers the gate writes) and compares them in
// policy.ParseImage's canonical form. It must not import Kubernetes,
// controller-runtime, registry or verification packages: it reads a
// repository and reports.
package audit
