// Package records reads and writes ImageVerification objects: the record,
// shared through the API server, of what imagegate verified, under which
// policy hash, until when. The gate writes one for every decision it acts
// on; webhook replicas read them to approve known digests without asking
// the registry, and write what they verify themselves.
//
// It must not import gate or admission code.
package records
