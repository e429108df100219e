package admission

import (
	"errors"
	"fmt"
)

// ErrMalformedReview is returned for a body that is not an AdmissionReview
// the webhook can read.
var ErrMalformedReview = errors.New("malformed AdmissionReview")

// decodeReview reads the fields of review from an AdmissionReview body in
// one pass. Key matching is exact (case-sensitive), as the API server's own
// decoder does; for a key given twice the last one wins. On error the
// review holds what was read before it (the uid comes first in what the API
// server sends), so that the caller can still answer the request.
func decodeReview(body []byte) (*review, error) {
	r := &review{}
	s := &scanner{b: body}
	seenRequest := false
	err := s.object(func(key []byte) error {
		switch string(key) {
		case "apiVersion":
			v, err := s.valueBytes()
			r.APIVersion = intern(v)
			return err
		case "request":
			seenRequest = !s.null()
			if !seenRequest {
				return nil
			}
			return decodeRequest(s, r)
		}
		return s.skip()
	})
	if err == nil && s.peek() != 0 {
		err = s.fail("data after the review")
	}
	switch {
	case err != nil:
		return r, fmt.Errorf("%w: %w", ErrMalformedReview, err)
	case !seenRequest:
		return nil, fmt.Errorf("%w: no request", ErrMalformedReview)
	case r.UID == "":
		return nil, fmt.Errorf("%w: request.uid is empty", ErrMalformedReview)
	}
	return r, nil
}

func decodeRequest(s *scanner, r *review) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "uid":
			r.UID, err = s.str()
		case "kind":
			err = decodeGroupKind(s, &r.Kind)
		case "resource":
			err = s.object(func(k []byte) error {
				if string(k) != "resource" {
					return s.skip()
				}
				v, err := s.valueBytes()
				r.Resource = intern(v)
				return err
			})
		case "subResource":
			r.SubResource, err = s.str()
		case "name":
			r.Name, err = s.str()
		case "namespace":
			r.Namespace, err = s.str()
		case "operation":
			var v []byte
			v, err = s.valueBytes()
			r.Operation = intern(v)
		case "userInfo":
			err = s.object(func(k []byte) error {
				if string(k) != "username" {
					return s.skip()
				}
				var err error
				r.Username, err = s.str()
				return err
			})
		case "dryRun":
			r.DryRun, err = s.boolean()
		case "object":
			err = decodeWorkload(s, &r.Object)
		case "oldObject":
			err = decodeWorkload(s, &r.OldObject)
		default:
			err = s.skip()
		}
		return err
	})
}

func decodeGroupKind(s *scanner, gk *groupKind) error {
	return s.object(func(key []byte) error {
		var dst *string
		switch string(key) {
		case "group":
			dst = &gk.Group
		case "version":
			dst = &gk.Version
		case "kind":
			dst = &gk.Kind
		default:
			return s.skip()
		}
		if s.null() {
			*dst = ""
			return nil
		}
		v, err := s.valueBytes()
		*dst = intern(v)
		return err
	})
}
