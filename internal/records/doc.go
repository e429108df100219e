// Package records reads and writes ImageVerification objects: the record,
// shared through the API server, of what imagegate verified, under which
// policy hash, until when. The gate writes one for every selection it
// admits (verified or excepted); webhook replicas read them to approve
// known digests without asking the registry, and write what they verify
// themselves. Denials create none: anyone who may create a Pod can cause
// as many as they like. Deleting records is internal/recordgc's.
//
// It must not import gate or admission code.
package records
