package admission

// decodeWorkload reads the object or oldObject of a review: metadata and
// the container lists of every place a pod spec can be.
func decodeWorkload(s *scanner, w *workload) error {
	*w = workload{}
	if s.null() {
		return nil
	}
	w.Present = true
	return s.object(func(key []byte) error {
		switch string(key) {
		case "metadata":
			return decodeMetadata(s, w)
		case "spec":
			return decodeWorkloadSpec(s, w)
		}
		return s.skip()
	})
}

func decodeMetadata(s *scanner, w *workload) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			w.Name, err = s.str()
		case "generateName":
			w.GenerateName, err = s.str()
		case "namespace":
			w.Namespace, err = s.str()
		case "uid":
			w.UID, err = s.str()
		case "ownerReferences":
			w.Owners = w.Owners[:0]
			err = s.array(func() error {
				var o ownerRef
				err := decodeOwner(s, &o)
				w.Owners = append(w.Owners, o)
				return err
			})
		default:
			err = s.skip()
		}
		return err
	})
}

func decodeOwner(s *scanner, o *ownerRef) error {
	return s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "apiVersion":
			var v []byte
			v, err = s.valueBytes()
			o.APIVersion = intern(v)
		case "kind":
			var v []byte
			v, err = s.valueBytes()
			o.Kind = intern(v)
		case "name":
			o.Name, err = s.str()
		case "uid":
			o.UID, err = s.str()
		case "controller":
			o.Controller, err = s.boolean()
		default:
			err = s.skip()
		}
		return err
	})
}

// decodeWorkloadSpec reads a spec as any of the kinds would: a pod spec's
// container lists, template.spec, and jobTemplate.spec.template.spec.
func decodeWorkloadSpec(s *scanner, w *workload) error {
	return s.object(func(key []byte) error {
		switch string(key) {
		case "template":
			return decodeTemplate(s, &w.Template)
		case "jobTemplate":
			return inObject(s, "spec", func() error { // JobSpec
				return inObject(s, "template", func() error { return decodeTemplate(s, &w.JobTemplate) })
			})
		}
		return decodePodSpecField(s, key, &w.Pod)
	})
}

// decodeTemplate reads the pod spec of the PodTemplateSpec that comes next.
func decodeTemplate(s *scanner, p *podSpec) error {
	return inObject(s, "spec", func() error {
		return s.object(func(key []byte) error { return decodePodSpecField(s, key, p) })
	})
}

// inObject calls value for the member key of the object that comes next,
// skipping the others.
func inObject(s *scanner, key string, value func() error) error {
	return s.object(func(k []byte) error {
		if string(k) != key {
			return s.skip()
		}
		return value()
	})
}

// decodePodSpecField reads key if it is one of the fields that name
// images (a container list or volumes) and skips it otherwise.
func decodePodSpecField(s *scanner, key []byte, p *podSpec) error {
	var dst *[]container
	switch string(key) {
	case fieldVolumes:
		return decodeImageVolumes(s, &p.ImageVolumes)
	case "serviceAccountName":
		var err error
		p.ServiceAccount, err = s.valueBytes()
		return err
	case "imagePullSecrets":
		return decodePullSecrets(s, &p.PullSecrets)
	case fieldContainers:
		dst = &p.Containers
	case fieldInitContainers:
		dst = &p.InitContainers
	case fieldEphemeralContainers:
		dst = &p.EphemeralContainers
	default:
		return s.skip()
	}
	*dst = (*dst)[:0]
	return s.array(func() error {
		var c container
		err := s.object(func(k []byte) error {
			var err error
			switch string(k) {
			case "name":
				c.Name, err = s.str()
			case "image":
				c.Image, err = s.str()
			default:
				err = s.skip()
			}
			return err
		})
		*dst = append(*dst, c)
		return err
	})
}

// decodeImageVolumes reads the volumes of a pod spec and keeps those with
// an image source. Most Pods have volumes (the service account token's
// projected volume, ConfigMaps, emptyDirs) and no image volume: a volume is
// only kept, and its name only copied, once its image source is seen, so
// that the others cost no allocation.
func decodeImageVolumes(s *scanner, dst *[]imageVolume) error {
	*dst = (*dst)[:0]
	return s.array(func() error {
		var (
			name     []byte // a slice of the body until the volume is kept
			ref      string
			hasImage bool
		)
		err := s.object(func(k []byte) error {
			var err error
			switch string(k) {
			case "name":
				name, err = s.valueBytes()
			case "image":
				// As the API server's decoder: null clears the source, an
				// object sets it (an empty one with an empty reference).
				if s.null() {
					hasImage, ref = false, ""
					return nil
				}
				hasImage = true
				err = inObject(s, "reference", func() error {
					var err error
					ref, err = s.str()
					return err
				})
			default:
				err = s.skip()
			}
			return err
		})
		if hasImage {
			*dst = append(*dst, imageVolume{Name: string(name), Reference: ref})
		}
		return err
	})
}

// decodePullSecrets reads imagePullSecrets[].name, keeping slices of the
// body.
func decodePullSecrets(s *scanner, dst *[][]byte) error {
	*dst = (*dst)[:0]
	return s.array(func() error {
		return inObject(s, "name", func() error {
			v, err := s.valueBytes()
			if len(v) > 0 {
				*dst = append(*dst, v)
			}
			return err
		})
	})
}
