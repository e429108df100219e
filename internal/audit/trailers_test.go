package audit

import (
	"reflect"
	"testing"
	"time"
)

// TestTrailerBlocks reads messages the way `git interpret-trailers
// --parse` does: only an all-trailer last paragraph counts.
func TestTrailerBlocks(t *testing.T) {
	t.Parallel()
	const img = "ghcr.io/org/app:v1@sha256:0101010101010101010101010101010101010101010101010101010101010101"
	for _, tc := range []struct {
		name, msg string
		want      []string // raw Verified-Image values
		exception *Exception
	}{
		{"gate", "Update\n\n- a -> b\n\nVerified-Image: " + img + "\nVerified-Policy: p (sha256:1)\n", []string{img}, nil},
		{"two blocks", "S\n\nVerified-Image: a:1\nVerified-Policy: p\nVerified-Image: b:2\nVerified-By: static\n", []string{"a:1", "b:2"}, nil},
		{"not the last paragraph", "S\n\nVerified-Image: " + img + "\n\nthanks\n", nil, nil},
		{"prose in the paragraph", "S\n\nVerified-Image: " + img + "\nlooks good to me\n", nil, nil},
		{"subject only", "Verified-Image: " + img, []string{img}, nil},
		{"folded continuation", "S\n\nVerified-Image: " + img + "\nVerified-Policy: p\n  (sha256:1)\n", []string{img}, nil},
		{"exception", "S\n\nVerified-Image: " + img + "\nVerified: false (exception: CVE; triage; expires 2026-03-01T00:00:00Z)\n",
			[]string{img}, &Exception{Reason: "CVE; triage", Expires: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}},
		{"CRLF", "S\r\n\r\nVerified-Image: " + img + "\r\n", []string{img}, nil},
	} {
		bs := trailerBlocks(tc.msg)
		var got []string
		for _, b := range bs {
			got = append(got, b.raw)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: images %q, want %q", tc.name, got, tc.want)
		}
		if tc.exception != nil && (len(bs) != 1 || !reflect.DeepEqual(bs[0].exception, tc.exception)) {
			t.Errorf("%s: exception %+v, want %+v", tc.name, bs[0].exception, tc.exception)
		}
	}
}
