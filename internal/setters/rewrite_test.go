package setters

import (
	"strings"
	"testing"
)

// m renders a marker comment for the tests' inputs.
func m(name string) string { return `# {"$imagepolicy": "` + name + `"}` }

func TestRewrite(t *testing.T) {
	t.Parallel()
	ref := imgApp.Ref()
	cases := []struct {
		name, in, want string
		skip           string // substring of the Skipped reason, "" for none
	}{
		{name: "plain ref", in: "image: app:v1 " + m("flux-system:app") + "\n", want: "image: " + ref + " " + m("flux-system:app") + "\n"},
		{name: "double quoted keeps quotes", in: `image: "app:v1" ` + m("flux-system:app") + "\n", want: `image: "` + ref + `" ` + m("flux-system:app") + "\n"},
		{name: "single quoted keeps quotes", in: `image: 'app:v1'   ` + m("flux-system:app") + "\n", want: `image: '` + ref + `'   ` + m("flux-system:app") + "\n"},
		{name: "plain tag that reads as float is quoted", in: "tag: 1.9 " + m("apps:api:tag") + "\n", want: `tag: "1.10" ` + m("apps:api:tag") + "\n"},
		{name: "single quoted float tag stays single", in: "tag: '1.9' " + m("apps:api:tag") + "\n", want: "tag: '1.10' " + m("apps:api:tag") + "\n"},
		{name: "name setter", in: "repository: old/app " + m("flux-system:app:name") + "\n", want: "repository: registry.example/app " + m("flux-system:app:name") + "\n"},
		{name: "digest setter", in: "digest: sha256:00 " + m("flux-system:app:digest") + "\n", want: "digest: " + imgApp.Digest + " " + m("flux-system:app:digest") + "\n"},
		{name: "marker without spaces", in: `image: app:v1 #{"$imagepolicy":"flux-system:app"}` + "\n", want: "image: " + ref + ` #{"$imagepolicy":"flux-system:app"}` + "\n"},
		{name: "marker with inner whitespace", in: "image: app:v1 #  {  \"$imagepolicy\" :\t\"flux-system:app\" }\n", want: "image: " + ref + " #  {  \"$imagepolicy\" :\t\"flux-system:app\" }\n"},
		{name: "marker with another string field", in: `image: app:v1 # {"note": "x", "$imagepolicy": "flux-system:app"}` + "\n", want: "image: " + ref + ` # {"note": "x", "$imagepolicy": "flux-system:app"}` + "\n"},
		{name: "marker with non-string field is no marker", in: `image: app:v1 # {"n": 1, "$imagepolicy": "flux-system:app"}` + "\n", want: `image: app:v1 # {"n": 1, "$imagepolicy": "flux-system:app"}` + "\n"},
		{name: "marker with trailing text is no marker", in: "image: app:v1 " + m("flux-system:app") + " old\n", want: "image: app:v1 " + m("flux-system:app") + " old\n"},
		{name: "unknown setter is no marker", in: "image: app:v1 " + m("flux-system:app:label") + "\n", want: "image: app:v1 " + m("flux-system:app:label") + "\n"},
		{name: "policy without namespace is no marker", in: "image: app:v1 " + m("app") + "\n", want: "image: app:v1 " + m("app") + "\n"},
		{name: "policy not in images untouched", in: "image: app:v1 " + m("flux-system:blocked") + "\n", want: "image: app:v1 " + m("flux-system:blocked") + "\n"},
		{name: "current value untouched", in: "image: " + ref + " " + m("flux-system:app") + "\n", want: "image: " + ref + " " + m("flux-system:app") + "\n"},
		{name: "marker on key with value below is ignored as by Flux", in: "image: " + m("flux-system:app") + "\n  app:v1\n", want: "image: " + m("flux-system:app") + "\n  app:v1\n"},
		{name: "marker on empty value is ignored as by Flux", in: "tag: " + m("flux-system:app:tag") + "\nx: 1\n", want: "tag: " + m("flux-system:app:tag") + "\nx: 1\n"},
		{name: "head comment on a key is ignored as by Flux", in: m("flux-system:app") + "\nimage: app:v1\n", want: m("flux-system:app") + "\nimage: app:v1\n"},
		{name: "head comment on a sequence item", in: "args:\n" + m("flux-system:app") + "\n- app:v1\n", want: "args:\n" + m("flux-system:app") + "\n- " + ref + "\n"},
		{name: "sequence item", in: "args:\n  - --image\n  - app:v1 " + m("flux-system:app") + "\n", want: "args:\n  - --image\n  - " + ref + " " + m("flux-system:app") + "\n"},
		{name: "flow sequence with non-ASCII before", in: "args: [\"ü€\", app:v1 " + m("flux-system:app") + "\n  ]\n", want: "args: [\"ü€\", " + ref + " " + m("flux-system:app") + "\n  ]\n"},
		{name: "anchor and tag kept", in: "image: &img !!str app:v1 " + m("flux-system:app") + "\nother: *img\n", want: "image: &img !!str " + ref + " " + m("flux-system:app") + "\nother: *img\n"},
		{name: "CRLF kept", in: "a: 1\r\nimage: app:v1 " + m("flux-system:app") + "\r\nb: 2\r\n", want: "a: 1\r\nimage: " + ref + " " + m("flux-system:app") + "\r\nb: 2\r\n"},
		{name: "BOM kept", in: "\ufeffimage: app:v1 " + m("flux-system:app") + "\n", want: "\ufeffimage: " + ref + " " + m("flux-system:app") + "\n"},
		{name: "NEL inside an earlier string", in: "a: \"x\u0085y\"\nimage: app:v1 " + m("flux-system:app") + "\n", want: "a: \"x\u0085y\"\nimage: " + ref + " " + m("flux-system:app") + "\n"},
		{name: "escaped double quoted value", in: `image: "app\x3av1" ` + m("flux-system:app") + "\n", want: `image: "` + ref + `" ` + m("flux-system:app") + "\n"},
		{name: "two markers one line apart", in: "a: x " + m("flux-system:app:name") + "\nb: y " + m("flux-system:web:tag") + "\n", want: "a: registry.example/app " + m("flux-system:app:name") + "\nb: 2.0.1 " + m("flux-system:web:tag") + "\n"},
		{name: "multi-document", in: "---\na: x " + m("flux-system:app:tag") + "\n...\n--- # second\nb: y " + m("flux-system:app:tag") + "\n", want: "---\na: v1.2.3 " + m("flux-system:app:tag") + "\n...\n--- # second\nb: v1.2.3 " + m("flux-system:app:tag") + "\n"},
		{name: "block scalar skipped", in: "a: |- " + m("flux-system:app") + "\n  app:v1\n", skip: "block scalar"},
		{name: "folded plain scalar skipped", in: "a: app\n  v1 " + m("flux-system:app") + "\n", skip: "several lines"},
		{name: "broken YAML skipped", in: "a: [x " + m("flux-system:app") + "\n", skip: "not valid YAML"},
		{name: "one bad marker skips the whole file", in: "a: x " + m("flux-system:app") + "\nb: |- " + m("flux-system:app") + "\n  y\n", skip: "line 2"},
		{name: "marker inside a block scalar is text", in: "script: |\n  image: app:v1 " + m("flux-system:app") + "\n", want: "script: |\n  image: app:v1 " + m("flux-system:app") + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, fe := rewriteString(t, tc.in)
			if tc.skip != "" {
				if !strings.Contains(fe.skip, tc.skip) {
					t.Fatalf("skip reason %q, want it to contain %q", fe.skip, tc.skip)
				}
				return
			}
			if fe.skip != "" {
				t.Fatalf("skipped: %s", fe.skip)
			}
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestRewriteReportsChanges(t *testing.T) {
	t.Parallel()
	in := "a: 1\nimage: app:v1 " + m("flux-system:app") + "\ntag: 1.9 " + m("apps:api:tag") + "\nkeep: x " + m("flux-system:blocked") + "\n"
	_, fe := rewriteString(t, in)
	want := []Change{
		{File: "f.yaml", Line: 2, Policy: polApp, Setter: SetterRef, Old: "app:v1", New: imgApp.Ref()},
		{File: "f.yaml", Line: 3, Policy: polAPI, Setter: SetterTag, Old: "1.9", New: "1.10"},
	}
	if len(fe.changes) != len(want) {
		t.Fatalf("changes %+v, want %+v", fe.changes, want)
	}
	for i := range want {
		if fe.changes[i] != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, fe.changes[i], want[i])
		}
	}
}
