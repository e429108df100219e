package policy

import (
	"fmt"
	"strings"
)

// canonicalGlob writes a glob the way ParseImage writes references, so
// that every spelling of a registry a runtime reaches is matched by the
// same globs: the host lower-cased, :443 dropped, Docker Hub's aliases
// folded into DockerHub with its implied library/ namespace, and a glob
// without a registry host read as Docker Hub's, as a runtime reads
// "nginx" or "team/app". A host segment with a wildcard is only
// lower-cased: it is matched against canonical hosts as written.
// Repository paths are lower case in every reference, so an upper-case
// letter in a glob's path could never match: it is refused.
func canonicalGlob(pattern string) (string, error) {
	host, path, hasHost := splitGlobHost(pattern)
	if !hasHost {
		if strings.HasPrefix(pattern, "*") {
			// "**", "*/app": the wildcard may stand for any registry.
			return pattern, checkGlobPath(pattern, pattern)
		}
		host, path = DockerHub, pattern
	}
	if !strings.Contains(host, "*") {
		host = CanonicalHost(host)
	} else {
		host = strings.ToLower(host)
	}
	if host == DockerHub && !strings.HasPrefix(path, "**") && !strings.Contains(repositoryPart(path), "/") {
		path = "library/" + path
	}
	return host + "/" + path, checkGlobPath(pattern, path)
}

// splitGlobHost splits off the registry host as distribution/reference
// does: the first segment is a host when it contains '.' or ':', is
// "localhost", or has an upper-case letter.
func splitGlobHost(pattern string) (host, path string, ok bool) {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return "", pattern, false
	}
	first := pattern[:i]
	if !strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first {
		return "", pattern, false
	}
	return first, pattern[i+1:], true
}

// repositoryPart is the path of a glob without its tag or digest.
func repositoryPart(path string) string {
	if i := strings.IndexAny(path, ":@"); i >= 0 {
		return path[:i]
	}
	return path
}

func checkGlobPath(pattern, path string) error {
	if repo := repositoryPart(path); strings.ToLower(repo) != repo {
		return fmt.Errorf("%w %q: repository paths are lower case in every image reference, so %q can never match", ErrInvalidGlob, pattern, repo)
	}
	return nil
}
