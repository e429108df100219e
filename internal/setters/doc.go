// Package setters applies Flux image-policy setter markers to the YAML
// files of a Git checkout, writing the image the gate verified.
//
// It owns the marker grammar, the search for marked fields and the
// format-preserving rewrite of those fields. It must not import
// Kubernetes, controller-runtime, Git, registry or verification packages:
// it is given verified images and a directory and touches nothing else.
//
// # Markers
//
// A marker is the JSON comment Flux's image-automation-controller reads,
// on the line of a scalar value (or on the line before a sequence item):
//
//	image: ghcr.io/org/app:v1.0.0 # {"$imagepolicy": "flux-system:app"}
//	tag: v1.0.0                   # {"$imagepolicy": "flux-system:app:tag"}
//
// "NS:NAME" writes name:tag@digest; the suffixes ":tag", ":name" and
// ":digest" write that part only. The rules are kyaml fieldmeta's, which
// Flux uses: the scalar's line comment, or if it has none its head
// comment, with leading '#' removed, must be a JSON object of strings;
// only values of mappings and items of sequences are considered, never
// keys; files are YAML when named *.yaml, *.yml or Kustomization.
//
// # Why not kyaml's reader and writer
//
// Flux parses every marked file into kyaml nodes and serialises them
// again, which costs several times the parse and rewrites what it did
// not change (CRLF becomes LF, indentation and long strings are
// normalised, comments move). This package parses marked files with the
// YAML library kyaml wraps (go.yaml.in/yaml/v3, so comments attach to the
// same nodes as for Flux) only to find marked scalars and their
// positions, then replaces exactly the bytes of each scalar token in the
// original file and copies everything else, so the rewrite is
// format-preserving by construction. Each located token is checked
// against the parsed value before it is replaced; a marked value that
// cannot be located exactly (a block scalar, a plain scalar folded over
// several lines) makes the whole file Skipped, never half-written. A new
// value keeps the token's quoting style; a plain value that would read
// back as a number, boolean or null (tag 1.10) is double-quoted, as
// kyaml's FormatNonStringStyle does for Flux.
//
// # Files
//
// Every regular file under the path is read once and screened for the
// bytes "$imagepolicy"; only marked files are parsed, and only within a
// Budget (budget.go): a marked file over Limits.MaxFileBytes, or whose
// node count, bounded before parsing (nodes.go), is over
// Limits.MaxFileNodes, is skipped unparsed and reported, and the files
// parsed at once, across workers and Apply calls, together stay within
// one file's limits. Files go through an
// os.Root, so neither a symlink nor the path argument can reach outside
// the root, and symlinked entries are not followed at all. Files are
// handled by up to GOMAXPROCS workers; results are merged in path order.
// Changed files are overwritten in place, keeping inode and mode; see
// writeInPlace for why not a temporary file and a rename.
package setters
