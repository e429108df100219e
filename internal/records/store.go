package records

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/verify"
)

// Store reads records through reader (an informer-backed cache in the
// webhook, so a lookup is no API call) and writes them through writer.
type Store struct {
	reader client.Reader
	writer client.Client
	now    func() time.Time
	ttl    func(verify.Outcome) time.Duration
}

// NewStore returns a Store. ttl says how long a recorded outcome approves
// images (cache.Checker.TTL); now is the clock (nil: time.Now).
func NewStore(reader client.Reader, writer client.Client, ttl func(verify.Outcome) time.Duration, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{reader: reader, writer: writer, now: now, ttl: ttl}
}

// LookupVerified returns the unexpired Verified record of (digest,
// policyHash), if there is one.
func (s *Store) LookupVerified(ctx context.Context, digest, policyHash string) (*igv1.ImageVerification, bool, error) {
	var iv igv1.ImageVerification
	err := s.reader.Get(ctx, client.ObjectKey{Name: igv1.ImageVerificationName(digest, policyHash)}, &iv)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading ImageVerification for %s: %w", digest, err)
	}
	ok := iv.Spec.Digest == digest && iv.Spec.PolicyHash == policyHash &&
		iv.Status.Result == igv1.ResultVerified && iv.Status.ExpiresAt != nil && s.now().Before(iv.Status.ExpiresAt.Time)
	if !ok {
		return nil, false, nil
	}
	return &iv, true, nil
}

// Record writes the decision's record. Unavailable outcomes and decisions
// without a digest or policy are not recorded: there is nothing to share.
// An existing record is overwritten with the newer verdict.
//
// Only admitted outcomes (Verified, Exception) create a record. Anyone who
// may create a Pod can have imagegate deny digests nobody pushed, as many
// as they like; were each denial an object, the cluster and both roles'
// informer caches would grow with them. A denial is kept in memory instead
// (the checker's capped cache) and shown where it happened (the admission
// answer, the ImageGate's status). A denial still overwrites a record that
// already exists under its name, read from the reader (no API call), so
// that an approval that no longer holds is withdrawn: that creates nothing.
func (s *Store) Record(ctx context.Context, d cache.Decision) (*igv1.ImageVerification, error) {
	result, ok := recordResult(d.Outcome.Result)
	if !ok || d.Digest == "" || d.Policy == nil {
		return nil, nil
	}
	iv := &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(d.Digest, d.Policy.Hash)},
		Spec: igv1.ImageVerificationSpec{
			Image: recordedImage(d), Digest: d.Digest, PolicyHash: d.Policy.Hash,
			Policy: igv1.PolicyReference{Kind: d.Policy.Ref.Kind, Namespace: d.Policy.Ref.Namespace, Name: d.Policy.Ref.Name},
		},
	}
	status, want := s.status(d, result), iv.Spec
	if result == igv1.ResultDenied {
		if found, err := s.getExisting(ctx, iv); err != nil || !found {
			return nil, err
		}
	} else if err := s.createOrGet(ctx, iv); err != nil {
		return nil, err
	}
	// A record whose spec does not say what its name stands for never
	// approves (LookupVerified checks both), so a new verdict in its
	// status alone would be lost: rewrite the spec too.
	if iv.Spec.Digest != want.Digest || iv.Spec.PolicyHash != want.PolicyHash || iv.Spec.Policy != want.Policy {
		iv.Spec = want
		if err := s.writer.Update(ctx, iv); err != nil {
			return nil, fmt.Errorf("rewriting ImageVerification %s, whose spec did not match its name: %w", iv.Name, err)
		}
	}
	iv.Status = status
	if err := s.writer.Status().Update(ctx, iv); err != nil {
		return nil, fmt.Errorf("writing ImageVerification %s status: %w", iv.Name, err)
	}
	return iv, nil
}

// createOrGet creates iv, or reads the record of its name into iv when
// one exists.
func (s *Store) createOrGet(ctx context.Context, iv *igv1.ImageVerification) error {
	err := s.writer.Create(ctx, iv)
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating ImageVerification %s for %s: %w", iv.Name, iv.Spec.Image, err)
	}
	if err := s.writer.Get(ctx, client.ObjectKeyFromObject(iv), iv); err != nil {
		return fmt.Errorf("reading ImageVerification %s: %w", iv.Name, err)
	}
	return nil
}

// getExisting reads the record of iv's name into iv, if there is one. It
// asks the reader first (an informer cache: a denial of a digest nobody
// pushed costs no API request), then the writer for the current version.
// The reader's answer goes into an object of its own: the webhook's cache
// hands out shared objects, which the writer's decode must not touch.
func (s *Store) getExisting(ctx context.Context, iv *igv1.ImageVerification) (bool, error) {
	key := client.ObjectKeyFromObject(iv)
	err := s.reader.Get(ctx, key, &igv1.ImageVerification{})
	if err == nil {
		err = s.writer.Get(ctx, key, iv)
	}
	if apierrors.IsNotFound(err) {
		return false, nil // none, or collected since the reader saw it
	}
	if err != nil {
		return false, fmt.Errorf("reading ImageVerification %s: %w", iv.Name, err)
	}
	return true, nil
}

func (s *Store) status(d cache.Decision, result igv1.VerificationResult) igv1.ImageVerificationStatus {
	o := d.Outcome
	at := o.VerifiedAt
	if at.IsZero() {
		at = s.now()
	}
	st := igv1.ImageVerificationStatus{Result: result, Reason: string(o.Reason), Message: o.Message,
		VerifiedAt: &metav1.Time{Time: at}}
	if d.Exception != nil {
		st.Message = "exception: " + d.Exception.Reason
		if !d.Exception.Expires.IsZero() {
			st.ExpiresAt = &metav1.Time{Time: d.Exception.Expires}
		}
	} else if ttl := s.ttl(o); ttl > 0 {
		st.ExpiresAt = &metav1.Time{Time: at.Add(ttl)}
	}
	for _, sg := range o.Signers {
		st.Signers = append(st.Signers, igv1.Signer{Authority: sg.Authority, Format: string(sg.Format), Identity: sg.Identity})
		if sg.RekorLogIndex >= 0 && st.RekorLogIndex == nil {
			idx := sg.RekorLogIndex
			st.RekorLogIndex = &idx
		}
	}
	return st
}

func recordResult(r verify.Result) (igv1.VerificationResult, bool) {
	switch r {
	case verify.ResultVerified:
		return igv1.ResultVerified, true
	case verify.ResultDenied:
		return igv1.ResultDenied, true
	case verify.ResultException:
		return igv1.ResultException, true
	default:
		return "", false
	}
}
