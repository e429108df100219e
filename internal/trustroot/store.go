package trustroot

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// MaxStateBytes bounds what is persisted: the sum of the files and the
// mirror URL. Sigstore's public-good state is about 40 KiB; the bound stays
// far below the API server's object size limit (1.5 MiB) and Secrets are
// read whole at every start. A larger state is refused, not truncated.
const MaxStateBytes = 512 << 10

// DefaultSecretName is the Secret of the install namespace holding the
// persisted state, shared by the controller and the webhook.
const DefaultSecretName = "imagegate-sigstore-tuf" //nolint:gosec // a Secret name, not a credential

// Keys of the Secret besides the cached files.
const (
	keyMirror      = "mirror"
	keyRefreshedAt = "refreshed-at"
)

// persistedFiles are the files of the TUF cache that are persisted: the
// verified top-level metadata and the trusted root target. root.json is
// not: every update starts from the embedded anchor (update.go).
var persistedFiles = []string{"timestamp.json", "snapshot.json", "targets.json", TargetName}

// State is what a successful refresh leaves to the next start.
type State struct {
	// Mirror is the repository the files came from; state of another
	// mirror is ignored.
	Mirror string
	// RefreshedAt is when the repository last confirmed the files.
	RefreshedAt time.Time
	// Files are the cache files by name (persistedFiles).
	Files map[string][]byte
}

// Size is the number of bytes the state persists.
func (s *State) Size() int {
	n := len(s.Mirror)
	for _, b := range s.Files {
		n += len(b)
	}
	return n
}

func checkSize(what string, n int) error {
	if n > MaxStateBytes {
		return fmt.Errorf("%s holds %d bytes, more than the %d bytes imagegate persists for the TUF cache", what, n, MaxStateBytes)
	}
	return nil
}

// Store loads and saves the state.
type Store interface {
	// Load returns the persisted state, nil when there is none.
	Load(ctx context.Context) (*State, error)
	Save(ctx context.Context, s *State) error
}

// SecretStore persists the state in one Secret, read by name (never
// listed or watched): the roles need get, create and update of it only.
type SecretStore struct {
	Reader    client.Reader // the manager's API reader: Secrets are not cached
	Writer    client.Writer
	Namespace string
	Name      string
}

func (s *SecretStore) String() string { return "Secret " + s.Namespace + "/" + s.Name }

// Load reads the Secret; a Secret over MaxStateBytes is refused whole.
func (s *SecretStore) Load(ctx context.Context) (*State, error) {
	var sec corev1.Secret
	if err := s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Name}, &sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", s, err)
	}
	n := 0
	for _, b := range sec.Data {
		n += len(b)
	}
	if err := checkSize(s.String(), n); err != nil {
		return nil, fmt.Errorf("%w; ignoring it (delete it, imagegate writes it again after the next refresh)", err)
	}
	st := &State{Mirror: string(sec.Data[keyMirror]), Files: map[string][]byte{}}
	if t, err := time.Parse(time.RFC3339, string(sec.Data[keyRefreshedAt])); err == nil {
		st.RefreshedAt = t
	}
	for _, f := range persistedFiles {
		if b, ok := sec.Data[f]; ok {
			st.Files[f] = b
		}
	}
	return st, nil
}

// Save writes the state, creating the Secret when it does not exist. A
// state over MaxStateBytes is refused and nothing is written.
func (s *SecretStore) Save(ctx context.Context, st *State) error {
	if err := checkSize("the TUF state to persist", st.Size()); err != nil {
		return fmt.Errorf("not writing %s: %w", s, err)
	}
	data := map[string][]byte{
		keyMirror:      []byte(st.Mirror),
		keyRefreshedAt: []byte(st.RefreshedAt.UTC().Format(time.RFC3339)),
	}
	for name, b := range st.Files {
		data[name] = b
	}
	var sec corev1.Secret
	err := s.Reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Name}, &sec)
	switch {
	case apierrors.IsNotFound(err):
		sec = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: map[string]string{
				"app.kubernetes.io/name": "imagegate", "app.kubernetes.io/component": "sigstore-tuf-cache",
			}},
			Type: corev1.SecretTypeOpaque,
			Data: data,
		}
		err := s.Writer.Create(ctx, &sec)
		if apierrors.IsAlreadyExists(err) {
			// The other role, starting at the same time, created it with
			// an equally verified state.
			return nil
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", s, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading %s: %w", s, err)
	}
	sec.Data = data
	// The update carries the resourceVersion just read: when the other
	// role wrote in between, this write fails with a conflict and the
	// other's (equally verified) state stays.
	if err := s.Writer.Update(ctx, &sec); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("updating %s: %w", s, err)
	}
	return nil
}
