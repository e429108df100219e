package setters

import "testing"

// TestChangesNameTheirObject checks that each change carries the identity
// of the document it is in: per document of a multi-document file, empty
// where a document has no such fields, and empty for fields that are not
// scalars.
func TestChangesNameTheirObject(t *testing.T) {
	t.Parallel()
	in := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n" +
		"spec:\n  image: app:v1 " + m("flux-system:app") + "\n" +
		"---\n" +
		"kind: Kustomization\nimages:\n  - newTag: 1.9 " + m("apps:api:tag") + "\n" +
		"---\n" +
		"metadata:\n  name: [not, a, scalar]\n  namespace: team\nimage: app:v1 " + m("flux-system:app") + "\n" +
		"---\n" +
		"- app:v1 " + m("flux-system:app") + "\n"
	_, fe := rewriteString(t, in)
	want := []Object{
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Namespace: "prod"},
		{Kind: "Kustomization"},
		{Namespace: "team"},
		{},
	}
	if len(fe.changes) != len(want) {
		t.Fatalf("changes %+v, want %d", fe.changes, len(want))
	}
	for i, w := range want {
		if got := fe.changes[i].Object; got != w {
			t.Errorf("change %d (line %d) object = %+v, want %+v", i, fe.changes[i].Line, got, w)
		}
	}
}
