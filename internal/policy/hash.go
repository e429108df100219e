package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// hasher computes a policy's hash: sha256 over a versioned, length-framed
// sequence of the policy's identity, the canonical JSON of its spec
// (encoding/json writes struct fields in declaration order and sorts map
// keys, so equal specs encode equally), and each Secret value it reads.
type hasher struct {
	h hash.Hash
}

const hashVersion = "imagegate.dev/policy-hash/v1"

func newHasher(ref Ref, spec *igv1.TrustPolicySpec) *hasher {
	h := &hasher{h: sha256.New()}
	h.field(hashVersion)
	h.field(ref.Kind)
	h.field(ref.Namespace)
	h.field(ref.Name)
	b, err := json.Marshal(spec)
	if err != nil {
		// A spec is plain data; Marshal cannot fail on it.
		panic(err)
	}
	h.field(string(b))
	return h
}

func (h *hasher) addSecret(namespace, name, key string, value []byte) {
	h.field(namespace)
	h.field(name)
	h.field(key)
	h.field(string(value))
}

func (h *hasher) field(s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.h.Write(n[:])
	h.h.Write([]byte(s))
}

func (h *hasher) sum() string {
	return "sha256:" + hex.EncodeToString(h.h.Sum(nil))
}
